"""Data descriptions in the TAPAS format, inferred from data, and row validation.

A description is a JSON list with one entry per column, as in TAPAS
(``name``, ``type``, ``representation``).  Types used here:

* ``finite`` / ``finite/ordered``: ``representation`` is the list of allowed values
  (as strings, as TAPAS writes them);
* ``countable`` (``representation: "integer"``) and ``real`` (``"number"``) with
  inclusive bounds in ``min`` / ``max``.

Two keys extend TAPAS and are ignored by its readers: ``dtype`` (the pandas dtype
to restore, e.g. ``int64`` for a finite integer column) and ``nullable``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError

FINITE_TYPES = ("finite", "finite/ordered")
NUMERIC_TYPES = ("countable", "real")
ALL_TYPES = FINITE_TYPES + NUMERIC_TYPES


@dataclass
class Schema:
    columns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def column(self, name: str) -> dict[str, Any]:
        for c in self.columns:
            if c["name"] == name:
                return c
        raise KeyError(name)

    def finite(self) -> list[str]:
        return [c["name"] for c in self.columns if c["type"] in FINITE_TYPES]

    def numeric(self) -> list[str]:
        return [c["name"] for c in self.columns if c["type"] in NUMERIC_TYPES]

    def to_json(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self.columns]

    @classmethod
    def from_json(cls, obj: list[dict[str, Any]]) -> Schema:
        for c in obj:
            if c.get("type") not in ALL_TYPES:
                raise DataError(f"schema column {c.get('name')!r} has unsupported type {c.get('type')!r}")
        return cls([dict(c) for c in obj])


def _value_str(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def infer_schema(
    df: pd.DataFrame,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    finite_max_int_levels: int = 2,
) -> Schema:
    """Infer a description from ``df``; ``overrides`` replace keys per column.

    Integer columns with at most ``finite_max_int_levels`` distinct values (labels
    such as WDBC's ``target``) are ``finite``; other integers are ``countable``.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(df.columns))
    if unknown:
        raise ConfigError(
            f"schema_overrides names columns not in the data: {', '.join(unknown)} "
            f"(columns are: {', '.join(map(str, df.columns))})"
        )
    cols: list[dict[str, Any]] = []
    for name in df.columns:
        s = df[name]
        entry: dict[str, Any] = {"name": str(name)}
        nonnull = s.dropna()
        if pd.api.types.is_bool_dtype(s):
            entry.update(type="finite", representation=["False", "True"], dtype="bool")
        elif pd.api.types.is_integer_dtype(s):
            if nonnull.nunique() <= finite_max_int_levels:
                entry.update(
                    type="finite",
                    representation=[str(v) for v in sorted(nonnull.unique().tolist())],
                    dtype="int64",
                )
            else:
                entry.update(
                    type="countable",
                    representation="integer",
                    min=int(nonnull.min()),
                    max=int(nonnull.max()),
                )
        elif pd.api.types.is_float_dtype(s):
            entry.update(
                type="real",
                representation="number",
                min=float(nonnull.min()),
                max=float(nonnull.max()),
            )
        else:
            entry.update(type="finite", representation=sorted({str(v) for v in nonnull}))
        entry["nullable"] = bool(s.isna().any())
        if name in overrides:
            entry.update(dict(overrides[name]))
            if entry["type"] in FINITE_TYPES and isinstance(entry.get("representation"), list):
                entry["representation"] = [_value_str(v) for v in entry["representation"]]
            if entry["type"] not in ALL_TYPES:
                raise ConfigError(
                    f"schema_overrides.{name}.type: {entry['type']!r} is not one of {', '.join(ALL_TYPES)}"
                )
            if entry["type"] in NUMERIC_TYPES:
                entry.setdefault("min", float(pd.to_numeric(nonnull).min()))
                entry.setdefault("max", float(pd.to_numeric(nonnull).max()))
                entry["representation"] = "integer" if entry["type"] == "countable" else "number"
        cols.append(entry)
    return Schema(cols)


# A categorical column with at least this many values, nearly all distinct, is an identifier.
IDENTIFIER_MIN_DISTINCT = 10
IDENTIFIER_DISTINCT_SHARE = 0.9


def identifier_columns(df: pd.DataFrame, schema: Schema) -> list[tuple[str, int, int]]:
    """Categorical columns in which (nearly) every value is unique: ``(name, distinct, non-missing)``.

    A generator treats such a column as a category list and reproduces its values:
    the synthetic data would release the real identifiers (names, e-mail addresses,
    record numbers stored as text).  Numeric columns are not flagged: a continuous
    measurement is unique per row without identifying anyone by its value alone.
    """
    found = []
    for col in schema:
        if col["type"] not in FINITE_TYPES or col.get("dtype") in ("int64", "bool"):
            continue
        s = df[col["name"]].dropna()
        distinct = int(s.nunique())
        if distinct >= IDENTIFIER_MIN_DISTINCT and distinct >= IDENTIFIER_DISTINCT_SHARE * len(s):
            found.append((col["name"], distinct, len(s)))
    return found


@dataclass
class Validation:
    """Per-row validity of a frame and counts of why rows failed."""

    valid: pd.Series
    reasons: dict[str, int]

    @property
    def n_invalid(self) -> int:
        return int((~self.valid).sum())


def check_columns(df: pd.DataFrame, schema: Schema, what: str = "data") -> None:
    """Raise a DataError naming missing/unexpected columns."""
    have, want = list(map(str, df.columns)), schema.names
    missing = [c for c in want if c not in have]
    extra = [c for c in have if c not in want]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing columns: {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected columns: {', '.join(extra)}")
        raise DataError(f"{what} does not match the schema ({'; '.join(parts)})")


def coerce_frame(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Cast columns to the schema's types; values that cannot be cast become NaN.

    Use on generator output that may arrive as text (LLMs) before ``validate_frame``.
    """
    check_columns(df, schema, "generated data")
    out = {}
    for col in schema:
        s = df[col["name"]]
        if col["type"] in NUMERIC_TYPES or col.get("dtype") in ("int64", "float64"):
            out[col["name"]] = pd.to_numeric(s, errors="coerce")
        elif col.get("dtype") == "bool":
            out[col["name"]] = s.map(lambda v: {"true": True, "false": False}.get(str(v).strip().lower(), np.nan))
        else:
            # Surrounding whitespace is dropped (LLM output), unless it is part of a category.
            allowed = set(map(str, col["representation"])) if col["type"] in FINITE_TYPES else set()
            out[col["name"]] = s.map(
                lambda v, allowed=allowed: np.nan if pd.isna(v) else (str(v) if str(v) in allowed else str(v).strip())
            )
    return pd.DataFrame(out, index=df.index)


def validate_frame(df: pd.DataFrame, schema: Schema) -> Validation:
    """Which rows satisfy the schema: types, allowed categories, bounds, nulls."""
    check_columns(df, schema, "generated data")
    valid = pd.Series(True, index=df.index)
    reasons: dict[str, int] = {}

    def fail(mask: pd.Series, why: str) -> None:
        nonlocal valid
        newly = mask & valid
        if newly.any():
            reasons[why] = reasons.get(why, 0) + int(newly.sum())
        valid = valid & ~mask

    for col in schema:
        name = col["name"]
        s = df[name]
        null = s.isna()
        if not col.get("nullable", False):
            fail(null, f"{name}: missing value")
        if col["type"] in FINITE_TYPES:
            allowed = set(map(str, col["representation"]))
            if col.get("dtype") == "int64":
                num = pd.to_numeric(s, errors="coerce")
                integral = num.notna() & np.isclose(num.fillna(0) % 1, 0)
                as_str = num.where(integral).map(lambda v: "" if pd.isna(v) else str(int(v)))
            else:
                as_str = s.map(_value_str)
            fail(~null & ~as_str.isin(allowed), f"{name}: value not in categories")
        else:
            num = pd.to_numeric(s, errors="coerce")
            fail(~null & (num.isna() | ~np.isfinite(num.fillna(0))), f"{name}: not a number")
            if col["type"] == "countable":
                fail(~null & num.notna() & ~np.isclose(num.fillna(0) % 1, 0), f"{name}: not an integer")
            lo, hi = col.get("min"), col.get("max")
            if lo is not None:
                fail(~null & num.notna() & (num < lo), f"{name}: below min {lo}")
            if hi is not None:
                fail(~null & num.notna() & (num > hi), f"{name}: above max {hi}")
    return Validation(valid=valid, reasons=reasons)


def restore_dtypes(df: pd.DataFrame, schema: Schema, like: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cast valid rows to the dtypes of the real data (``like``) so outputs are comparable."""
    out = df.copy()
    for col in schema:
        name = col["name"]
        if like is not None and name in like:
            target = like[name].dtype
            try:
                out[name] = out[name].astype(target)
                continue
            except (TypeError, ValueError):
                pass
        if col["type"] == "countable" or col.get("dtype") == "int64":
            out[name] = pd.to_numeric(out[name]).astype("int64")
        elif col["type"] == "real":
            out[name] = pd.to_numeric(out[name]).astype("float64")
    return out
