"""Statistics of the shadow-model audit: AUC intervals, the epsilon lower bound of a
threshold rule, thresholds chosen on shadow data (AUC and Clopper-Pearson: ``audit.common.stats``).

Every function here is pure (arrays in, numbers out); ``report`` applies them per
(target, attack) and documents which guarantee each reported number carries
(docs/audit.md, "What each number means").
"""

from __future__ import annotations

import math

import numpy as np

from ..common.stats import cp_lower, cp_upper

#: bootstrap resamples: at least this many, and enough for ~20 resamples beyond each tail quantile
MIN_BOOTSTRAP = 2000
MAX_BOOTSTRAP = 20_000  # bounds the cost at n_eval = 1250; the bootstrap interval is approximate anyway
TAIL_RESAMPLES = 20


def bootstrap_resamples(alpha: float) -> int:
    """Resamples for a two-sided percentile interval at level 1 - alpha: enough that
    each tail quantile (alpha/2) rests on about ``TAIL_RESAMPLES`` resamples."""
    return int(min(MAX_BOOTSTRAP, max(MIN_BOOTSTRAP, math.ceil(TAIL_RESAMPLES / (alpha / 2)))))


def paired_bootstrap_aucs(s_in: np.ndarray, s_out: np.ndarray, B: int, seed: int) -> np.ndarray:
    """AUC of ``B`` resamples of pairs (s_in[i], s_out[i]), in O(B x n).

    A resample with pair counts w has AUC = w' G w / n^2, G[i, j] = P(in_i beats
    out_j). Instead of forming G (n^2 per resample), sort the scores once: w' G w =
    sum_i w_i (out weight strictly below s_in[i] + half the out weight tied with it),
    a cumulative sum over the distinct score values.
    """
    n = len(s_in)
    u = np.unique(np.concatenate([s_in, s_out]))
    c_in, c_out = np.searchsorted(u, s_in), np.searchsorted(u, s_out)
    rng = np.random.default_rng(seed)
    order = np.argsort(c_out, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(c_out[order]) != 0])
    present = c_out[order][starts]  # distinct values that occur among the out scores
    out = np.empty(B)
    for lo in range(0, B, 4096):
        b = min(4096, B - lo)
        draws = rng.integers(0, n, (b, n)) + (np.arange(b) * n)[:, None]
        W = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
        # out weight per distinct value (columns of W summed over pairs with that out value)
        Wout = np.zeros((b, len(u)))
        Wout[:, present] = np.add.reduceat(W[:, order], starts, axis=1)
        below = np.cumsum(Wout, axis=1) - Wout
        G_w = below[:, c_in] + 0.5 * Wout[:, c_in]  # (b, n): out weight each in-score beats
        out[lo : lo + b] = np.einsum("bi,bi->b", W, G_w) / n**2
    return out


def paired_auc_ci(s_in: np.ndarray, s_out: np.ndarray, alpha: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC over pairs (approximate: asymptotic,
    and collapses to [1, 1] at perfect separation; see ``matched_auc_ci``)."""
    aucs = paired_bootstrap_aucs(s_in, s_out, bootstrap_resamples(alpha), seed)
    lo, hi = np.quantile(aucs, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def matched_auc_ci(s_in: np.ndarray, s_out: np.ndarray, alpha: float, seed: int) -> tuple[float, float, int]:
    """Exact (finite-sample) two-sided interval for the AUC from disjoint comparisons.

    Pairs are independent, but the "in" and "out" score of one pair are not. A seeded
    random matching puts the pairs two by two and compares the "in" score of one with
    the "out" score of the other: floor(n/2) comparisons on disjoint pairs, hence
    independent Bernoulli trials whose success probability is exactly the AUC
    P(S_in > S_out) + P(S_in = S_out)/2 (a tie is settled by a seeded fair coin).
    Clopper-Pearson on the successes gives an interval that holds at level 1 - alpha
    for any score distribution and any n, and never collapses at AUC = 1
    (with r comparisons all won, the lower end is (alpha/2)^(1/r)).
    Returns (low, high, comparisons).
    """
    n = len(s_in)
    rng = np.random.default_rng([seed, 7])
    perm = rng.permutation(n)
    r = n // 2
    a, b = s_in[perm[0 : 2 * r : 2]], s_out[perm[1 : 2 * r : 2]]
    wins = (a > b) | ((a == b) & (rng.random(r) < 0.5))
    k = int(wins.sum())
    return float(cp_lower(np.array([k]), r, alpha / 2)[0]), float(cp_upper(np.array([k]), r, alpha / 2)[0]), r


def rule_epsilon_lb(
    tp: np.ndarray, n_in: int, fp: np.ndarray, n_out: int, alpha: float, delta: float = 0.0
) -> np.ndarray:
    """Lower confidence bound on epsilon from (tp of n_in, fp of n_out) at level 1 - alpha.

    For any rule, (epsilon, delta)-DP implies TPR <= e^eps FPR + delta and
    1 - FPR <= e^eps (1 - TPR) + delta; one-sided Clopper-Pearson bounds at alpha/2
    each give TPR_low and FPR_high, and the bound is the larger of the two logs.
    """
    tpr_lo = cp_lower(tp, n_in, alpha / 2)
    fpr_hi = cp_upper(fp, n_out, alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.log(np.clip(tpr_lo - delta, 0, None) / fpr_hi)
        e2 = np.log(np.clip(1 - fpr_hi - delta, 0, None) / (1 - tpr_lo))
    e = np.fmax(np.nan_to_num(e1, nan=0.0, neginf=0.0), np.nan_to_num(e2, nan=0.0, neginf=0.0))
    return np.clip(e, 0.0, None)


# --- threshold rules --------------------------------------------------------------


def candidates(scores: np.ndarray) -> np.ndarray:
    """Thresholds between the observed scores: -inf, the midpoints, +inf.

    A midpoint rule does not depend on which side of a tie an unseen score falls
    (a threshold equal to an observed score would); +inf predicts nobody.
    """
    u = np.unique(scores[np.isfinite(scores)])
    mids = (u[:-1] + u[1:]) / 2 if len(u) > 1 else np.array([])
    return np.concatenate([[-np.inf], mids, [np.inf]])


def counts_at(labels: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives of the rule "score >= t" for every t."""
    lab = labels.astype(bool)
    pos, neg = np.sort(scores[lab]), np.sort(scores[~lab])
    tp = len(pos) - np.searchsorted(pos, thresholds, side="left")
    fp = len(neg) - np.searchsorted(neg, thresholds, side="left")
    return tp, fp


def rule_counts(labels: np.ndarray, scores: np.ndarray, threshold: float, direction: str) -> tuple[int, int, int, int]:
    """(tp, n_in, fp, n_out) of the rule "score >= t" (``ge``) or "score <= t" (``le``)."""
    n_in, n_out = int(labels.sum()), int(len(labels) - labels.sum())
    tp, fp = counts_at(labels, scores, np.array([threshold]))
    tp, fp = int(tp[0]), int(fp[0])
    if direction == "le":  # midpoint thresholds: no score equals t, so "<= t" is the complement
        tp, fp = n_in - tp, n_out - fp
    return tp, n_in, fp, n_out


def choose_rules(labels: np.ndarray, scores: np.ndarray, alpha: float, delta: float) -> dict[str, tuple[float, str]]:
    """Rules picked on held-out shadow scores, over "score >= t" and "score <= t":
    best accuracy, best epsilon bound (ties: larger |advantage|)."""
    t = candidates(scores)
    tp, fp = counts_at(labels, scores, t)
    n_in, n_out = int(labels.sum()), int(len(labels) - labels.sum())
    T = np.concatenate([t, t])
    D = np.array(["ge"] * len(t) + ["le"] * len(t))
    TP, FP = np.concatenate([tp, n_in - tp]), np.concatenate([fp, n_out - fp])
    acc = (TP + (n_out - FP)) / max(n_in + n_out, 1)
    eps = rule_epsilon_lb(TP, n_in, FP, n_out, alpha, delta)
    adv = TP / max(n_in, 1) - FP / max(n_out, 1)
    best_eps = int(np.lexsort((-np.abs(adv), -eps))[0])
    best_acc = int(np.argmax(acc))
    return {
        "accuracy": (float(T[best_acc]), str(D[best_acc])),
        "epsilon": (float(T[best_eps]), str(D[best_eps])),
        "shadow_epsilon_lb": float(eps[best_eps]),  # type: ignore[dict-item]
    }


def threshold_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    """Smallest midpoint threshold whose rule "score >= t" has FPR <= ``fpr`` on these
    (shadow) scores: the largest TPR at that FPR."""
    t = candidates(scores)
    _, fp = counts_at(labels, scores, t)
    n_out = max(int(len(labels) - labels.sum()), 1)
    ok = np.flatnonzero(fp / n_out <= fpr + 1e-12)
    return float(t[ok[0]])  # +inf (nobody) always qualifies
