"""Statistics both refitting audits use: AUC and its score interval, Clopper-Pearson bounds
(one- and two-sided), the "3/FPR negatives" rule and the TPR-at-low-FPR result.

Every function here is pure (arrays in, numbers out).  The shadow-model audit's own
statistics (bootstrap, matched comparisons, threshold rules, the rule's epsilon bound)
are in ``audit.shadow.stats``, the one-run audit's (the guessing game's bound) in
``audit.one_run.bounds``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

#: a TPR at false-positive rate f needs at least MIN_NEGATIVES_PER_FPR / f negatives
MIN_NEGATIVES_PER_FPR = 3.0


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC (``scipy.stats.mannwhitneyu``'s U over n1 * n0); ties count one half; nan for one class.

    Not ``sklearn.metrics.roc_auc_score``: its trapezoids differ from U in the last bit for about a third of
    inputs, which would reorder attacks whose shadow AUCs tie (``audit.shadow.report.select``).
    """
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)  # float32 scores would give a float32 U (the old rank sum was float64)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    u = stats.mannwhitneyu(s[y], s[~y], use_continuity=False, method="asymptotic").statistic
    return float(u / (n1 * n0))


def _hm_var(theta: float, n1: int, n0: int) -> float:
    # Hanley-McNeil variance with Newcombe's substitution n1 = n0 = (n1 + n0) / 2 in the
    # Q1/Q2 terms, as a function of the unknown AUC theta.
    ns = (n1 + n0) / 2.0
    q = (ns - 1) * ((1 - theta) / (2 - theta) + theta / (1 + theta))
    return theta * (1 - theta) * (1 + q) / (n1 * n0)


def auc_interval(labels: np.ndarray, scores: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """(AUC, lower, upper): two-sided 1 - alpha score interval (Newcombe 2006) on the Hanley-McNeil
    variance; stays inside [0, 1] and does not collapse to a point at AUC = 0 or 1."""
    y = np.asarray(labels).astype(bool)
    a = auc(y, scores)
    n1, n0 = int(y.sum()), int((~y).sum())
    if not np.isfinite(a):
        return a, float("nan"), float("nan")
    z2 = stats.norm.ppf(1 - alpha / 2) ** 2

    def f(t: float) -> float:
        return (a - t) ** 2 - z2 * _hm_var(t, n1, n0)

    def root(lo: float, hi: float, inside_hi: bool) -> float:
        # f > 0 outside the interval, <= 0 inside; bisect on the sign change.
        for _ in range(60):
            mid = (lo + hi) / 2
            if (f(mid) <= 0) == inside_hi:
                hi = mid
            else:
                lo = mid
        return hi if inside_hi else lo

    lower = 0.0 if f(0.0) <= 0 else root(0.0, a, inside_hi=True)
    upper = 1.0 if f(1.0) <= 0 else root(a, 1.0, inside_hi=False)
    return a, lower, upper


# --- Clopper-Pearson ------------------------------------------------------------------


def cp_lower(k: np.ndarray, n: int, a: float) -> np.ndarray:
    """One-sided Clopper-Pearson lower bound at level 1 - a."""
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):
        v = stats.beta.ppf(a, k, n - k + 1)
    return np.where(k <= 0, 0.0, v)


def cp_upper(k: np.ndarray, n: int, a: float) -> np.ndarray:
    """One-sided Clopper-Pearson upper bound at level 1 - a."""
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):
        v = stats.beta.ppf(1 - a, k + 1, n - k)
    return np.where(k >= n, 1.0, v)


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval at level 1 - alpha (each one-sided bound at alpha / 2)."""
    return float(cp_lower(np.array([k]), n, alpha / 2)[0]), float(cp_upper(np.array([k]), n, alpha / 2)[0])


# --- TPR at low FPR -----------------------------------------------------------------


def negatives_needed(fpr: float) -> int:
    """Negatives ("out" sets or canaries) needed before a TPR at ``fpr`` is reported: 3 / fpr, rounded up
    (less 1e-9, so that float error in 3 / fpr never asks for one more: 3 / 0.1 is 30)."""
    return int(math.ceil(MIN_NEGATIVES_PER_FPR / fpr - 1e-9))


@dataclass(frozen=True, kw_only=True)
class TprAtFpr:
    """A TPR at a low FPR with its two-sided Clopper-Pearson interval, or n/a (``value`` None) and why.

    ``fpr`` is the rate asked for; ``empirical_fpr`` the false-positive rate of the threshold where it
    was applied (None when n/a); ``reason`` says why it is n/a, or how the threshold was set.
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    fpr: float
    empirical_fpr: float | None = None
    threshold: float | None = None
    reason: str = ""

    @classmethod
    def unsupported(cls, fpr: float, reason: str) -> TprAtFpr:
        return cls(value=None, ci_low=None, ci_high=None, fpr=fpr, reason=reason)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


__all__ = [
    "MIN_NEGATIVES_PER_FPR",
    "TprAtFpr",
    "auc",
    "auc_interval",
    "clopper_pearson",
    "cp_lower",
    "cp_upper",
    "negatives_needed",
]
