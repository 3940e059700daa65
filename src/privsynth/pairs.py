"""Pairwise fidelity: measures that tell a model from the marginals floor.

mostlyai-qa's overall accuracy averages over every column, pair and triple, and
on WDBC the per-column part dominates: sampling each column independently scores
as well as any model. These measures look at dependence only:

- ``pairs_assoc_distance``: mean absolute difference between the training data's
  association matrix and the synthetic one (|Spearman| between numeric columns,
  Cramér's V otherwise: privsynth.eda.stats.association_matrix), over all column
  pairs. 0 for a copy; marginals keep no association, so they score the mean
  association itself.
- ``pairs_top_accuracy``: 1 - total variation distance of the binned joint
  distribution, averaged over the ``top`` column pairs with the strongest
  association in the training data (deciles for numeric columns, the 10 most
  frequent levels plus "other" for categorical ones, missing as a level).

Both are also computed for the real holdout against the training data
(``*_holdout``): what an independent real sample of the holdout's size scores,
the reference ceiling a generator can at best reach (its own sampling noise
included, so a large synthetic set can score slightly better than it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .eda.stats import _categorical_like, association_matrix
from .io import read_json, write_json

log = logging.getLogger("privsynth.pairs")

MAX_LEVELS = 20  # a numeric column with at most this many values counts as categorical (as in the EDA)
BINS = 10  # deciles / most frequent levels per column in the joint distributions


def kinds(real: pd.DataFrame) -> dict[str, str]:
    return {c: "categorical" if _categorical_like(real[c], MAX_LEVELS) else "numeric" for c in real.columns}


def _binner(real: pd.Series, kind: str) -> Any:
    """A function mapping a column (of any table) to integer bins fixed by the training data."""
    if kind == "numeric":
        x = pd.to_numeric(real, errors="coerce").dropna().to_numpy(float)
        edges = np.unique(np.quantile(x, np.linspace(0, 1, BINS + 1)[1:-1])) if len(x) else np.array([])

        def numeric(s: pd.Series) -> np.ndarray:
            v = pd.to_numeric(s, errors="coerce").to_numpy(float)
            return np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v, side="right"))

        return numeric, len(edges) + 2
    top = list(real.astype(str).where(real.notna()).value_counts().index[:BINS])

    def categorical(s: pd.Series) -> np.ndarray:
        idx = {v: i for i, v in enumerate(top)}
        return np.asarray([len(top) + 1 if pd.isna(v) else idx.get(str(v), len(top)) for v in s])

    return categorical, len(top) + 2


def _joint(a: np.ndarray, ka: int, b: np.ndarray, kb: int) -> np.ndarray:
    return np.bincount(a * kb + b, minlength=ka * kb) / max(len(a), 1)


def _upper(m: pd.DataFrame) -> np.ndarray:
    return m.to_numpy()[np.triu_indices(len(m), k=1)]


class Reference:
    """The training data's associations, strongest pairs and bins, computed once for all comparisons."""

    def __init__(self, train: pd.DataFrame, top: int) -> None:
        self.columns = list(train.columns)
        self.kinds = kinds(train)
        self.assoc = association_matrix(train, self.kinds)
        i, j = np.triu_indices(len(self.columns), k=1)
        order = np.argsort(-_upper(self.assoc), kind="stable")[:top]
        self.top = [(self.columns[i[k]], self.columns[j[k]]) for k in order]
        used = {c for p in self.top for c in p}
        self.bins = {c: _binner(train[c], self.kinds[c]) for c in used}
        self._codes = {c: f(train[c]) for c, (f, _) in self.bins.items()}

    def compare(self, other: pd.DataFrame) -> dict[str, float]:
        other = other[self.columns]
        dist = float(np.mean(np.abs(_upper(self.assoc) - _upper(association_matrix(other, self.kinds)))))
        accs = []
        for a, b in self.top:
            (fa, ka), (fb, kb) = self.bins[a], self.bins[b]
            p = _joint(self._codes[a], ka, self._codes[b], kb)
            q = _joint(fa(other[a]), ka, fb(other[b]), kb)
            accs.append(1 - 0.5 * float(np.abs(p - q).sum()))
        return {"assoc_distance": dist, "top_accuracy": float(np.mean(accs)) if accs else float("nan")}


def compare(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, top: int) -> dict[str, Any]:
    """Flat ``pairs_*`` columns of one synthetic set, with the holdout's as the reference."""
    ref = Reference(train, top)
    syn, hol = ref.compare(synthetic), ref.compare(holdout)
    return {
        "pairs_assoc_distance": syn["assoc_distance"],
        "pairs_assoc_distance_holdout": hol["assoc_distance"],
        "pairs_top_accuracy": syn["top_accuracy"],
        "pairs_top_accuracy_holdout": hol["top_accuracy"],
        "pairs_top_n": len(ref.top),
        # the strongest pairs by name, strongest first (what pairs_top_accuracy is about)
        "pairs_top": "; ".join(f"{a}~{b} ({ref.assoc.loc[a, b]:.2f})" for a, b in ref.top),
    }


def cell(
    synthetic_path: str, train_path: str, holdout_path: str, metrics_path: str, out_json: str, job: Mapping[str, Any]
) -> dict[str, Any]:
    """The fidelity_pairs job: one cell's pairwise fidelity (flat keys: summary.csv columns)."""
    from .datasets import load_split

    meta = read_json(metrics_path)
    out: dict[str, Any] = {k: meta[k] for k in ("dataset", "generator", "setting")}
    train = load_split(train_path).reset_index(drop=True)
    out.update(
        compare(
            train,
            pd.read_parquet(synthetic_path).reset_index(drop=True),
            load_split(holdout_path).reset_index(drop=True),
            int(job["top"]),
        )
    )
    log.info(
        "%s/%s/%s pairwise: association distance %.4f (holdout %.4f), top-%d pair accuracy %.4f (holdout %.4f)",
        out["dataset"],
        out["generator"],
        out["setting"],
        out["pairs_assoc_distance"],
        out["pairs_assoc_distance_holdout"],
        out["pairs_top_n"],
        out["pairs_top_accuracy"],
        out["pairs_top_accuracy_holdout"],
    )
    write_json(out, out_json)
    return out
