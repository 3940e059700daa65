"""Statistics of the one-run canary audit (Steinke, Nasr & Jagielski, NeurIPS 2023).

* ``p_value`` / ``epsilon_lb``: the paper's test for (ε, δ)-DP under add/remove
  adjacency when each of ``m`` canaries is included independently with
  probability 1/2 and the auditor makes ``r`` guesses (abstaining on the rest),
  ``v`` of them correct (the paper's Theorem 3.1 with δ, computed as in its
  Algorithm 2 / appendix code).  With δ = 0 the number of correct guesses is
  stochastically dominated by Binomial(r, e^ε / (1 + e^ε)).
* ``auc`` / ``auc_interval``: Mann-Whitney AUC with mid-ranks and Newcombe's (2006)
  score-type interval on the Hanley-McNeil variance, which stays inside [0, 1]
  and does not collapse to a point at AUC = 0 or 1.
* ``tpr_at_fpr``: empirical TPR at a low FPR with a Clopper-Pearson interval, or
  n/a when the number of out-canaries cannot support that FPR.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from .stats import auc

# Binary-search steps for epsilon (2^-40 of the bracket: far below any printed digit).
_STEPS = 40
_EPS_MAX = 60.0


def p_value(m: int, r: int, v: int, eps: float, delta: float = 0.0) -> float:
    """P[>= v correct of r guesses] for an (eps, delta)-DP mechanism, m canaries."""
    if not 0 <= v <= r <= m:
        raise ValueError(f"need 0 <= v <= r <= m, got v={v}, r={r}, m={m}")
    if eps < 0 or not 0 <= delta <= 1:
        raise ValueError(f"need eps >= 0 and 0 <= delta <= 1, got {eps}, {delta}")
    if v == 0:
        return 1.0
    q = 1.0 / (1.0 + math.exp(-eps))  # accuracy of eps-DP randomized response
    beta = float(special.bdtrc(v - 1, r, q))  # P[Binomial(r, q) >= v] (binom.sf's kernel, without its overhead)
    alpha = 0.0
    if delta > 0:
        # alpha = max_i P[v > Binomial(r, q) >= v - i] / i
        i = np.arange(1, v + 1)
        alpha = float(np.max(np.cumsum(stats.binom.pmf(v - i, r, q)) / i))
    return min(beta + alpha * delta * 2 * m, 1.0)


def epsilon_lb(m: int, r: int, v: int, alpha: float, delta: float = 0.0) -> float:
    """Largest eps that the test rejects at level ``alpha``: the mechanism is not (eps, delta)-DP.

    Returns 0.0 when even eps = 0 is not rejected.  The binary search keeps
    ``p_value(lo) < alpha``, so the returned value is on the conservative side.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if r == 0 or p_value(m, r, v, 0.0, delta) >= alpha:
        return 0.0
    lo, hi = 0.0, 1.0
    while p_value(m, r, v, hi, delta) < alpha:
        lo, hi = hi, hi * 2
        if hi > _EPS_MAX:
            return lo
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        if p_value(m, r, v, mid, delta) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


def perfect_guessing_lb(r: int, alpha: float) -> float:
    """Closed form of ``epsilon_lb(m, r, r, alpha, 0)``: p = alpha^(1/r), eps = ln(p / (1 - p))."""
    p = alpha ** (1.0 / r)
    return max(0.0, math.log(p / (1.0 - p)))


# --- AUC ------------------------------------------------------------------------
# ``auc`` is the shadow audit's (audit.stats): labels 1 = canary included.


def _hm_var(theta: float, n1: int, n0: int) -> float:
    # Hanley-McNeil variance with Newcombe's substitution n1 = n0 = (n1 + n0) / 2 in the
    # Q1/Q2 terms, as a function of the unknown AUC theta.
    ns = (n1 + n0) / 2.0
    q = (ns - 1) * ((1 - theta) / (2 - theta) + theta / (1 + theta))
    return theta * (1 - theta) * (1 + q) / (n1 * n0)


def auc_interval(labels: np.ndarray, scores: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """(AUC, lower, upper): two-sided 1 - alpha score interval (Newcombe 2006)."""
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


# --- TPR at low FPR -----------------------------------------------------------------


def min_negatives(fpr: float) -> int:
    """Out-canaries needed before a TPR at ``fpr`` is reported (about 3 / fpr)."""
    return int(math.ceil(3.0 / fpr))


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr: float, alpha: float) -> dict[str, object]:
    """Empirical TPR at the strictest threshold whose empirical FPR on the out-canaries is <= fpr."""
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=float)
    n0, n1 = int((~y).sum()), int(y.sum())
    need = min_negatives(fpr)
    if n0 < need or n1 == 0:
        return {
            "value": None,
            "ci_low": None,
            "ci_high": None,
            "fpr": fpr,
            "reason": f"n/a: {n0} out-canaries, at least {need} (3/FPR) needed for a TPR at FPR {fpr:g}",
        }
    neg = np.sort(s[~y])[::-1]
    allowed = int(math.floor(fpr * n0))  # out-canaries allowed above the threshold
    # Threshold t = neg[allowed]: predict "in" for score > t, so at most `allowed` negatives pass.
    t = neg[allowed]
    k = int((s[y] > t).sum())
    lo, hi = clopper_pearson(k, n1, alpha)
    return {
        "value": k / n1,
        "ci_low": lo,
        "ci_high": hi,
        "fpr": fpr,
        "empirical_fpr": float((neg > t).sum() / n0),
        "threshold": float(t),
        "reason": "threshold set on the out-canaries themselves: the FPR is empirical, the interval covers TPR only",
    }
