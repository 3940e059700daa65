"""``external``: a synthetic file made elsewhere (a vendor's cloud, a chat session).

Nothing is fitted: ``fit`` reads ``settings.path``, checks it against the
dataset's schema (one-line errors naming the file and the column) and ``sample``
returns its rows as they are, however many there are.  EDA, fidelity, ML utility
and the compare page then treat it like any generator's output.

There is no generator to train again, so the shadow-model and one-run audits are
n/a for these cells (``refittable: false`` in its schema's ``x-privsynth`` block); ``privsynth.audit.nobox.measures`` measures
what one file and the real rows can show instead.  An epsilon/delta the maker
claims is recorded as ``claimed_epsilon``/``claimed_delta``, never as ``epsilon``:
privsynth cannot check it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, DataError
from ..schema import Schema, check_columns, coerce_frame, validate_frame
from .base import Generator

TRAIN_SPLIT = "train"  # trained_on: the dataset's own training split
SUFFIXES = (".csv", ".csv.gz", ".parquet")


def _is_split(trained_on: str | None) -> bool:
    return trained_on == TRAIN_SPLIT


def trained_on_file(settings: Mapping[str, Any]) -> str | None:
    """The uploaded file ``trained_on`` names, or None (the training split, or not confirmed)."""
    t = settings.get("trained_on")
    return None if t is None or _is_split(t) else str(t)


def read_rows(path: str | Path, schema: Schema, what: str) -> pd.DataFrame:
    """The rows of a CSV or parquet file, checked against ``schema``; DataError naming file and column."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{what} {p} not found")
    try:
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise DataError(
            f"{what} {p}: cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        ) from None
    check_columns(df, schema, f"{what} {p}")
    if df.empty:
        raise DataError(f"{what} {p}: no rows")
    df = df[schema.names].reset_index(drop=True)
    check = validate_frame(df, schema)
    if check.n_invalid:
        first = int((~check.valid.to_numpy()).nonzero()[0][0])
        why = ", ".join(f"{k} ({v} rows)" for k, v in sorted(check.reasons.items(), key=lambda kv: -kv[1]))
        raise DataError(
            f"{what} {p}: {check.n_invalid} of {len(df)} rows do not fit the dataset's schema: {why}; "
            f"first at data row {first + 1}"
        )
    return coerce_frame(df, schema)


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ExternalGenerator(Generator):
    name = "external"
    description = "a synthetic file made elsewhere, evaluated as it is (no generator to refit)"

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        path = str(settings.get("path") or "")
        if not path.endswith(SUFFIXES):
            raise ConfigError(f"{where}.path: {path!r} must end in {', '.join(SUFFIXES)} (CSV or parquet)")
        t = trained_on_file(settings)
        if t is not None and not t.endswith(SUFFIXES):
            raise ConfigError(
                f"{where}.trained_on: {t!r} is neither {TRAIN_SPLIT!r} (the training split) nor a CSV/parquet file"
            )

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        self._settings = dict(settings)
        self._path = str(settings["path"])
        self._rows = read_rows(self._path, schema, "external file")

    def rows_to_sample(self, requested: int) -> int:
        return len(self._rows)

    def sample(self, n: int) -> pd.DataFrame:
        if n != len(self._rows):
            raise DataError(f"external file {self._path} has {len(self._rows)} rows; {n} were asked for")
        return self._rows.copy()

    def metrics(self) -> dict[str, Any]:
        s = self._settings
        t = s.get("trained_on")
        return {
            "external_file": self._path,
            "external_sha256": sha256(self._path),
            "external_made_by": s.get("made_by"),
            "trained_on": "training split" if _is_split(t) else (t or "not confirmed"),
            "claimed_epsilon": s.get("epsilon"),
            "claimed_delta": s.get("delta"),
            "claim_note": (
                "epsilon/delta as the maker states them; not verified (no epsilon bound can be measured from one file)"
                if s.get("epsilon") is not None or s.get("delta") is not None
                else None
            ),
        }


GENERATOR = ExternalGenerator
