"""Numeric encoding of records for the attacks, driven by the TAPAS data description.

Numeric columns (``countable`` and ``real``) are scaled to [0, 1] by the schema's
bounds, so no column dominates a distance because of its unit (TAPAS uses raw
values: on census ``fnlwgt``, in the hundreds of thousands, swamps every other
column).  Categorical columns become integer codes into the description's
``representation``; code ``len(representation)`` stands for missing/unknown.
Missing numeric values are encoded as -1: one unit away from every observed value,
like a categorical mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...schema import FINITE_TYPES, Schema, _value_str

MISSING_NUMERIC = -1.0
# Countable columns with at most this many integer values get one histogram bin each.
MAX_INTEGER_BINS = 20


@dataclass
class Encoded:
    """Rows as arrays: ``num`` (rows x numeric columns, scaled, float32), ``cat`` (rows x
    categorical, int32), ``raw`` (rows x numeric columns, the values themselves, float64,
    NaN = missing: exact comparisons)."""

    num: np.ndarray
    cat: np.ndarray
    raw: np.ndarray


class Encoder:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.num_cols = [c["name"] for c in schema if c["type"] not in FINITE_TYPES]
        self.cat_cols = [c["name"] for c in schema if c["type"] in FINITE_TYPES]
        self.categories = {
            c["name"]: [str(v) for v in c["representation"]] for c in schema if c["type"] in FINITE_TYPES
        }
        self.bounds = {}
        self.integer_bins: dict[str, int] = {}
        for c in schema:
            if c["type"] in FINITE_TYPES:
                continue
            lo, hi = float(c.get("min", 0.0)), float(c.get("max", 1.0))
            self.bounds[c["name"]] = (lo, hi if hi > lo else lo + 1.0)
            if c["type"] == "countable" and hi - lo + 1 <= MAX_INTEGER_BINS:
                self.integer_bins[c["name"]] = int(hi - lo + 1)
        # Levels per categorical column, including the missing/unknown code.
        self.levels = np.array([len(self.categories[c]) + 1 for c in self.cat_cols], dtype=np.int64)

    def encode(self, df: pd.DataFrame) -> Encoded:
        n = len(df)
        num = np.empty((n, len(self.num_cols)), dtype=np.float32)
        raw = np.empty((n, len(self.num_cols)), dtype=np.float64)
        for j, name in enumerate(self.num_cols):
            lo, hi = self.bounds[name]
            v = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=np.float64)
            raw[:, j] = v
            scaled = (v - lo) / (hi - lo)
            num[:, j] = np.where(np.isnan(scaled), MISSING_NUMERIC, scaled)
        cat = np.empty((n, len(self.cat_cols)), dtype=np.int32)
        for j, name in enumerate(self.cat_cols):
            cats = self.categories[name]
            lookup = {v: i for i, v in enumerate(cats)}
            s = df[name]
            # Map each distinct value once: columns have few levels and many rows.
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            ucodes = np.array([lookup.get(_value_str(u), len(cats)) for u in uniques] + [len(cats)], dtype=np.int32)
            cat[:, j] = ucodes[codes]  # code -1 (missing) picks the appended "unknown" entry
        return Encoded(num=num, cat=cat, raw=raw)

    def numeric_bins(self, num: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Bin codes per numeric column (last bin = missing) and the bin count of each column.

        Countable columns with few values get one bin per integer (TAPAS skips
        countable columns in its histogram features); others ``bins`` equal-width bins.
        """
        codes = np.empty(num.shape, dtype=np.int32)
        sizes = np.empty(num.shape[-1], dtype=np.int64)
        for j, name in enumerate(self.num_cols):
            x = num[..., j]
            if name in self.integer_bins:
                b = self.integer_bins[name]
                lo, hi = self.bounds[name]
                c = np.rint(x * (hi - lo)).astype(np.int32)
            else:
                b = bins
                c = np.floor(x * b).astype(np.int32)
            c = np.clip(c, 0, b - 1)
            codes[..., j] = np.where(x == MISSING_NUMERIC, b, c)
            sizes[j] = b + 1
        return codes, sizes
