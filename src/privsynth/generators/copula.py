"""``copula``: a Gaussian copula over empirical marginals, a labelled NON-DP reference.

What a classical statistical model buys without a neural network and without
differential privacy: every column keeps its training distribution, and the
dependence between columns is one correlation matrix of normal scores.
numpy/scipy only (the ``copulas`` package would replace the environment's pandas).

Fit, per column: the training values sorted (missing values first, categories in
their order: a ``finite/ordered`` column's representation, else most frequent
first), ties broken at random (seeded), so each row gets a uniform score
``u = (rank + 0.5) / n`` and a normal score ``z = Phi^-1(u)``; then the
correlation matrix of ``z`` (eigenvalues clipped so it stays positive definite).
Sample: ``z ~ N(0, R)``, ``u = Phi(z)``, and each column's value at position
``u * n`` of its sorted training values (numeric columns interpolated between
the two neighbouring training values unless ``interpolate: false``; countable
ones rounded).  No privacy guarantee: the marginals are the training values
themselves (docs/copula.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GeneratorError
from ..schema import NUMERIC_TYPES, Schema
from .base import Generator

MIN_EIGENVALUE = 1e-6


@dataclass
class _Column:
    name: str
    numeric: bool
    countable: bool
    # Training values sorted as the scores were (missing first); numeric: float with NaN.
    sorted_values: np.ndarray
    missing: int


def _order_codes(s: pd.Series, col: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Category code per row (missing = -1 sorts first) and the values by code."""
    present = s[s.notna()]
    counts = present.value_counts(sort=True)
    values = list(counts.index)
    if col["type"] == "finite/ordered" and isinstance(col.get("representation"), list):
        rank = {str(v): i for i, v in enumerate(col["representation"])}
        if all(_text(v) in rank for v in values):
            values = sorted(values, key=lambda v: rank[_text(v)])
    index = {v: i for i, v in enumerate(values)}
    codes = np.array([-1 if pd.isna(v) else index[v] for v in s.to_numpy(dtype=object)], dtype=np.int64)
    return codes, np.array(values, dtype=object)


def _text(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def normal_scores(train: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> tuple[np.ndarray, list[_Column]]:
    """Per-column normal scores of the training rows (n x d) and what sampling needs to invert them."""
    from scipy.stats import norm

    n = len(train)
    z = np.empty((n, len(schema)), dtype=float)
    cols: list[_Column] = []
    for j, col in enumerate(schema):
        s = train[col["name"]]
        numeric = col["type"] in NUMERIC_TYPES
        if numeric:
            key = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            key = np.where(np.isnan(key), -np.inf, key)  # missing first
            values = None
        else:
            codes, values = _order_codes(s, col)
            key = codes.astype(float)
        order = np.lexsort((rng.random(n), key))  # random tie-break
        rank = np.empty(n, dtype=float)
        rank[order] = np.arange(n)
        z[:, j] = norm.ppf((rank + 0.5) / n)
        missing = int(np.isneginf(key).sum()) if numeric else int((key < 0).sum())
        if numeric:
            sorted_values = np.sort(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float))
            # np.sort puts NaN last; the scores put missing first.
            sorted_values = np.concatenate([np.full(missing, np.nan), sorted_values[: n - missing]])
        else:
            sorted_codes = np.sort(codes)
            sorted_values = np.array([None if c < 0 else values[c] for c in sorted_codes], dtype=object)
        cols.append(_Column(col["name"], numeric, col["type"] == "countable", sorted_values, missing))
    return z, cols


def correlation(z: np.ndarray) -> np.ndarray:
    """Correlation matrix of the normal scores, made positive definite."""
    d = z.shape[1]
    if d == 1 or len(z) < 2:
        return np.eye(d)
    r = np.corrcoef(z, rowvar=False)
    r = np.nan_to_num(r, nan=0.0)
    np.fill_diagonal(r, 1.0)
    w, v = np.linalg.eigh(r)
    r = (v * np.maximum(w, MIN_EIGENVALUE)) @ v.T
    s = np.sqrt(np.diag(r))
    return r / np.outer(s, s)


def invert(u: np.ndarray, col: _Column, interpolate: bool) -> np.ndarray:
    """Values at uniform scores ``u`` of one column (its sorted training values, missing first)."""
    n = len(col.sorted_values)
    pos = np.clip(u * n - 0.5, 0.0, n - 1.0)
    lo = np.floor(pos).astype(np.int64)
    if not col.numeric:
        return col.sorted_values[np.clip(np.rint(pos).astype(np.int64), 0, n - 1)]
    hi = np.minimum(lo + 1, n - 1)
    a, b = col.sorted_values[lo], col.sorted_values[hi]
    if interpolate:
        t = pos - lo
        out = np.where(np.isnan(b), a, a + t * (b - a))  # NaN a (missing) stays missing
    else:
        out = col.sorted_values[np.clip(np.rint(pos).astype(np.int64), 0, n - 1)]
    return np.round(out) if col.countable else out


class CopulaGenerator(Generator):
    name = "copula"
    description = "Gaussian copula over empirical marginals (NON-DP reference; numpy/scipy)"

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        if len(train) < 2:
            raise GeneratorError(f"copula needs at least 2 training rows, got {len(train)}")
        self.settings = dict(settings)
        self.schema = schema
        self.seed = int(seed)
        z, self.columns = normal_scores(train.reset_index(drop=True), schema, np.random.default_rng([self.seed, 0]))
        self.corr = correlation(z)
        self._rng = np.random.default_rng([self.seed, 1])

    def sample(self, n: int) -> pd.DataFrame:
        from scipy.stats import norm

        d = len(self.columns)
        chol = np.linalg.cholesky(self.corr)
        z = self._rng.standard_normal((n, d)) @ chol.T
        u = norm.cdf(z)
        interpolate = bool(self.settings["interpolate"])
        return pd.DataFrame({c.name: invert(u[:, j], c, interpolate) for j, c in enumerate(self.columns)})

    def metrics(self) -> dict[str, Any]:
        off = self.corr[~np.eye(len(self.corr), dtype=bool)]
        return {
            "differential_privacy": False,
            "copula_columns": len(self.columns),
            "copula_max_abs_correlation": round(float(np.abs(off).max()), 4) if off.size else 0.0,
            "copula_interpolate": bool(self.settings["interpolate"]),
        }


GENERATOR = CopulaGenerator
