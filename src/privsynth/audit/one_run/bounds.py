"""Statistics of the one-run canary audit (Steinke, Nasr & Jagielski, NeurIPS 2023).

* ``p_value`` / ``guessing_epsilon_lb``: the paper's test for (ε, δ)-DP under add/remove
  adjacency when each of ``m`` canaries is included independently with
  probability 1/2 and the auditor makes ``r`` guesses (abstaining on the rest),
  ``v`` of them correct (the paper's Theorem 3.1 with δ, computed as in its
  Algorithm 2 / appendix code).  With δ = 0 the number of correct guesses is
  stochastically dominated by Binomial(r, e^ε / (1 + e^ε)).
* ``tpr_at_fpr``: empirical TPR at a low FPR with a Clopper-Pearson interval, or
  n/a when the number of out-canaries cannot support that FPR.

AUC, its Newcombe interval and Clopper-Pearson are ``audit.common.stats``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from ..common.stats import TprAtFpr, clopper_pearson, negatives_needed

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


def guessing_epsilon_lb(m: int, r: int, v: int, alpha: float, delta: float = 0.0) -> float:
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
    """Closed form of ``guessing_epsilon_lb(m, r, r, alpha, 0)``: p = alpha^(1/r), eps = ln(p / (1 - p))."""
    p = alpha ** (1.0 / r)
    return max(0.0, math.log(p / (1.0 - p)))


# --- TPR at low FPR -----------------------------------------------------------------


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr: float, alpha: float) -> TprAtFpr:
    """Empirical TPR at the strictest threshold whose empirical FPR on the out-canaries is <= fpr."""
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=float)
    n0, n1 = int((~y).sum()), int(y.sum())
    need = negatives_needed(fpr)
    if n0 < need or n1 == 0:
        return TprAtFpr.unsupported(
            fpr, f"n/a: {n0} out-canaries, at least {need} (3/FPR) needed for a TPR at FPR {fpr:g}"
        )
    neg = np.sort(s[~y])[::-1]
    allowed = int(math.floor(fpr * n0))  # out-canaries allowed above the threshold
    # Threshold t = neg[allowed]: predict "in" for score > t, so at most `allowed` negatives pass.
    t = neg[allowed]
    k = int((s[y] > t).sum())
    lo, hi = clopper_pearson(k, n1, alpha)
    return TprAtFpr(
        value=k / n1,
        ci_low=lo,
        ci_high=hi,
        fpr=fpr,
        empirical_fpr=float((neg > t).sum() / n0),
        threshold=float(t),
        reason="threshold set on the out-canaries themselves: the FPR is empirical, the interval covers TPR only",
    )
