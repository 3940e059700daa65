"""Columns <-> the integer codes MST works on, from the schema alone (no privacy cost).

Every code domain is built from the schema, which privsynth treats as public: a
categorical column's codes are its listed categories; a numeric column's are
bins between its schema ``min`` and ``max``.  Nothing here looks at the data to
choose a domain, so discretising costs no privacy budget (a data-dependent binning,
e.g. quantiles, would).

Numeric columns: a countable column whose range holds at most ``bins`` integers
gets one code per integer.  Otherwise the lower bound itself is one code (amounts
such as capital_gain are mostly exactly 0) and ``bins`` equal-width bins cover
the rest of the range.  Decoding draws a value uniformly inside its bin (integers
for countable columns), always within the schema's bounds.  A nullable column has
one more code, "missing".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import ConfigError, DataError
from ...schema import FINITE_TYPES, Schema


def _category_str(v: object) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


@dataclass
class Column:
    name: str
    kind: str  # "finite" | "integer" (one code per value) | "bins"
    nullable: bool
    categories: list[str] | None = None  # finite
    dtype: str | None = None  # finite: the schema's dtype (int64, bool) or None (text)
    lo: float = 0.0
    hi: float = 0.0
    edges: np.ndarray | None = None  # bins: len(bins) + 1 edges over (lo, hi]
    countable: bool = False

    @property
    def size(self) -> int:
        if self.kind == "finite":
            n = len(self.categories or [])
        elif self.kind == "integer":
            n = int(self.hi - self.lo) + 1
        else:
            n = 1 + len(self.edges) - 1  # the lower bound, then the bins
        return n + int(self.nullable)

    @property
    def missing_code(self) -> int:
        return self.size - 1


def columns(schema: Schema, bins: int) -> list[Column]:
    out = []
    for c in schema:
        nullable = bool(c.get("nullable", False))
        if c["type"] in FINITE_TYPES:
            cats = [str(v) for v in c["representation"]]
            out.append(Column(c["name"], "finite", nullable, categories=cats, dtype=c.get("dtype")))
            continue
        lo, hi = c.get("min"), c.get("max")
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
            raise ConfigError(
                f"mst: numeric column {c['name']!r} needs finite public bounds min <= max in the schema "
                f"(got min={lo}, max={hi}); set them with datasets.<name>.schema.overrides"
            )
        countable = c["type"] == "countable"
        if countable:
            lo, hi = math.ceil(lo), math.floor(hi)
        if countable and hi - lo + 1 <= bins:
            out.append(Column(c["name"], "integer", nullable, lo=lo, hi=hi, countable=True))
        else:
            edges = np.linspace(lo, hi, bins + 1)
            if countable:  # integer bins (a, b]: every bin holds at least one integer
                edges = np.unique(np.floor(edges))
                edges[-1] = hi
            out.append(Column(c["name"], "bins", nullable, lo=lo, hi=hi, edges=edges, countable=countable))
    return out


def encode(df: pd.DataFrame, cols: list[Column]) -> dict[str, np.ndarray]:
    """Integer codes per column, in ``range(col.size)``."""
    out = {}
    for col in cols:
        s = df[col.name]
        null = s.isna().to_numpy()
        if col.kind == "finite":
            index = {v: i for i, v in enumerate(col.categories or [])}
            mapped = s.map(lambda v, index=index: index.get(_category_str(v), -1) if not pd.isna(v) else 0)
            codes = mapped.to_numpy(dtype=np.int64)
        else:
            v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            v = np.clip(np.nan_to_num(v, nan=col.lo), col.lo, col.hi)
            if col.kind == "integer":
                codes = np.rint(v - col.lo).astype(np.int64)
            else:
                # code 0: exactly the lower bound; code k >= 1: the k-th bin (e_{k-1}, e_k]
                codes = np.clip(np.searchsorted(col.edges, v, side="left"), 1, len(col.edges) - 1)
                codes = np.where(v <= col.lo, 0, codes).astype(np.int64)
        if (codes < 0).any():
            bad = sorted({_category_str(v) for v, c in zip(s, codes, strict=True) if c < 0})[:5]
            raise DataError(f"mst: column {col.name!r} has values not in the schema's categories: {bad}")
        if col.nullable:
            codes = np.where(null, col.missing_code, codes)
        out[col.name] = codes
    return out


def decode(codes: dict[str, np.ndarray], cols: list[Column], rng: np.random.Generator) -> pd.DataFrame:
    """Values for codes: categories, integers, or a uniform draw inside each bin (within the bounds)."""
    out = {}
    for col in cols:
        c = np.asarray(codes[col.name], dtype=np.int64)
        missing = (c == col.missing_code) if col.nullable else np.zeros(len(c), dtype=bool)
        c = np.where(missing, 0, c)
        if col.kind == "finite":
            cats = np.array(col.categories, dtype=object)
            values = pd.Series(cats[c], dtype=object)
            if col.dtype == "int64":
                values = values.map(int)
            elif col.dtype == "bool":
                values = values.map({"True": True, "False": False})
        elif col.kind == "integer":
            values = pd.Series(col.lo + c, dtype="float64")
        else:
            a = col.edges[np.maximum(c - 1, 0)]
            b = col.edges[np.maximum(c, 1)]
            if col.countable:  # integers in (a, b]
                draw = np.floor(a) + 1 + np.floor(rng.random(len(c)) * (np.floor(b) - np.floor(a)))
            else:
                draw = a + rng.random(len(c)) * (b - a)
            values = pd.Series(np.clip(np.where(c == 0, col.lo, draw), col.lo, col.hi), dtype="float64")
        out[col.name] = values.where(~missing, None if col.kind == "finite" else np.nan)
    return pd.DataFrame(out)
