"""Report: metrics per (target, attack), aggregates, ROC plot.

Statistics (see docs/audit.md):

* AUC with a percentile bootstrap interval over evaluation *pairs* (the two
  sets of a pair share their base rows, so pairs, not sets, are independent);
* accuracy and advantage (TPR - FPR) at the threshold that maximises accuracy on
  the shadow side;
* TPR at FPR <= 1% and 10% read off the evaluation ROC curve;
* an effective-epsilon **lower bound**: a threshold is chosen on held-out shadow
  scores (out-of-fold for trained attacks), then on the evaluation sets
  Clopper-Pearson bounds give TPR_low and FPR_high and
  eps_lb = max(0, log((TPR_low - delta) / FPR_high), log((1 - FPR_high - delta) / (1 - TPR_low))).
  Unlike the point estimate log(TPR/FPR) (TAPAS), it is finite and valid at any
  sample size.

All intervals of a cell hold jointly at ``confidence``: each uses
alpha = (1 - confidence) / (targets x attacks) (Bonferroni), so the worst
target's bound is still a valid bound.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .attacks import Attack, SyntheticSets
from .threat_model import AuxiliaryDataKnowledge, TargetedMIA

log = logging.getLogger(__name__)

FOLDS = 5
BOOTSTRAP = 2000
METRICS = ["auc", "accuracy", "advantage", "tpr_at_1pct_fpr", "tpr_at_10pct_fpr", "epsilon_lb"]


# --- statistics ---------------------------------------------------------------


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC; ties count one half."""
    labels = np.asarray(labels).astype(bool)
    n1, n0 = labels.sum(), (~labels).sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = stats.rankdata(scores)
    return float((r[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def paired_auc_ci(s_in: np.ndarray, s_out: np.ndarray, alpha: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC, resampling pairs (s_in[i], s_out[i])."""
    n = len(s_in)
    # G[i, j] = P(in_i beats out_j); a resample's AUC is w' G w / n^2 with w its pair counts.
    G = (s_in[:, None] > s_out[None, :]) + 0.5 * (s_in[:, None] == s_out[None, :])
    rng = np.random.default_rng(seed)
    W = np.zeros((BOOTSTRAP, n))
    draws = rng.integers(0, n, (BOOTSTRAP, n))
    np.add.at(W, (np.repeat(np.arange(BOOTSTRAP), n), draws.ravel()), 1.0)
    aucs = np.einsum("bi,ij,bj->b", W, G, W) / n**2
    lo, hi = np.quantile(aucs, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def cp_lower(k: np.ndarray, n: int, a: float) -> np.ndarray:
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):
        v = stats.beta.ppf(a, k, n - k + 1)
    return np.where(k <= 0, 0.0, v)


def cp_upper(k: np.ndarray, n: int, a: float) -> np.ndarray:
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):
        v = stats.beta.ppf(1 - a, k + 1, n - k)
    return np.where(k >= n, 1.0, v)


def epsilon_lb(tp: np.ndarray, n_in: int, fp: np.ndarray, n_out: int, alpha: float, delta: float = 0.0) -> np.ndarray:
    """Lower confidence bound on epsilon from (tp of n_in, fp of n_out) at level 1 - alpha."""
    tpr_lo = cp_lower(tp, n_in, alpha / 2)
    fpr_hi = cp_upper(fp, n_out, alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.log(np.clip(tpr_lo - delta, 0, None) / fpr_hi)
        e2 = np.log(np.clip(1 - fpr_hi - delta, 0, None) / (1 - tpr_lo))
    e = np.fmax(np.nan_to_num(e1, nan=0.0, neginf=0.0), np.nan_to_num(e2, nan=0.0, neginf=0.0))
    return np.clip(e, 0.0, None)


def _counts_at(labels: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives of the rule "score >= t" for every t."""
    lab = labels.astype(bool)
    pos, neg = np.sort(scores[lab]), np.sort(scores[~lab])
    tp = len(pos) - np.searchsorted(pos, thresholds, side="left")
    fp = len(neg) - np.searchsorted(neg, thresholds, side="left")
    return tp, fp


def _candidates(scores: np.ndarray) -> np.ndarray:
    u = np.unique(scores)
    return np.concatenate([u, [np.inf]])  # inf: predict nobody


def choose_thresholds(labels: np.ndarray, scores: np.ndarray, alpha: float, delta: float) -> dict[str, float]:
    """Thresholds picked on held-out shadow scores: best accuracy, best epsilon bound."""
    t = _candidates(scores)
    tp, fp = _counts_at(labels, scores, t)
    n_in, n_out = int(labels.sum()), int((1 - labels).sum())
    acc = (tp + (n_out - fp)) / (n_in + n_out)
    eps = epsilon_lb(tp, n_in, fp, n_out, alpha, delta)
    adv = tp / max(n_in, 1) - fp / max(n_out, 1)
    # Ties in the bound (often all 0 when the attack fails) go to the larger advantage.
    best_eps = int(np.lexsort((-np.abs(adv), -eps))[0])
    return {"accuracy": float(t[int(np.argmax(acc))]), "epsilon": float(t[best_eps])}


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr_max: float) -> float:
    t = _candidates(scores)
    tp, fp = _counts_at(labels, scores, t)
    n_in, n_out = labels.sum(), (1 - labels).sum()
    ok = fp / n_out <= fpr_max + 1e-12
    return float((tp[ok] / n_in).max())


# --- running the attacks --------------------------------------------------------


@dataclass
class AuditResult:
    scores: pd.DataFrame
    results: pd.DataFrame
    alpha: float
    timings: dict[str, float]


def _fold_of(pairs: np.ndarray, seed: int) -> np.ndarray:
    uniq = np.unique(pairs)
    perm = np.random.default_rng([seed, 4]).permutation(len(uniq))
    return (perm % FOLDS)[np.searchsorted(uniq, pairs)]


def run_attacks(
    mia: TargetedMIA,
    knowledge: AuxiliaryDataKnowledge,
    sets: SyntheticSets,
    attacks: Sequence[Attack],
    set_ids: np.ndarray,
    confidence: float,
    delta: float = 0.0,
    seed: int = 0,
) -> AuditResult:
    """Train every attack on the shadow sets, score everything, compute metrics.

    ``sets`` holds one synthetic set per entry of ``set_ids`` (ids of ``mia.sets``).
    """
    import time

    meta = mia.sets.set_index("set_id").loc[set_ids]
    role = meta["role"].to_numpy()
    pairs = meta["pair"].to_numpy()
    Y = mia.sets.set_index("set_id").loc[set_ids][[f"in_{t.row_id}" for t in mia.targets]].to_numpy().astype(np.int8)
    sh, ev = np.flatnonzero(role == "shadow"), np.flatnonzero(role == "eval")
    k = len(mia.targets)
    alpha = (1 - confidence) / (k * len(attacks))
    folds = _fold_of(pairs[sh], seed)
    score_frames, rows, timings = [], [], {}
    for attack in attacks:
        t0 = time.perf_counter()
        attack.prepare(knowledge, sets.encoder)
        # Held-out shadow scores choose the thresholds (cross-fitted or leave-one-out).
        oof = attack.fit_heldout(sets, sh, Y[sh], folds)
        s_eval = attack.score(sets, ev)
        timings[attack.name] = round(time.perf_counter() - t0, 3)
        log.info("attack %s: %.2f s for %d sets x %d targets", attack.name, timings[attack.name], len(sets), k)
        for j, tgt in enumerate(mia.targets):
            for part, idx, sc in (("shadow", sh, oof[:, j]), ("eval", ev, s_eval[:, j])):
                score_frames.append(
                    pd.DataFrame(
                        {
                            "target": tgt.row_id,
                            "attack": attack.name,
                            "role": part,
                            "set_id": set_ids[idx],
                            "pair": pairs[idx],
                            "label": Y[idx, j],
                            "score": sc.astype(np.float64),
                        }
                    )
                )
            rows.append(
                _metrics(Y[sh, j], oof[:, j], Y[ev, j], s_eval[:, j], pairs[ev], alpha, delta, seed)
                | {"target": tgt.row_id, "selection": tgt.selection, "attack": attack.name}
            )
    scores = pd.concat(score_frames, ignore_index=True)
    results = pd.DataFrame(rows)
    lead = ["target", "selection", "attack"]
    results = results[lead + [c for c in results.columns if c not in lead]]
    return AuditResult(scores=scores, results=results, alpha=alpha, timings=timings)


def _metrics(
    y_sh: np.ndarray, s_sh: np.ndarray, y_ev: np.ndarray, s_ev: np.ndarray, pairs: np.ndarray,
    alpha: float, delta: float, seed: int,
) -> dict[str, Any]:  # fmt: skip
    th = choose_thresholds(y_sh, s_sh, alpha, delta)
    n_in, n_out = int(y_ev.sum()), int((1 - y_ev).sum())
    # Pair up each evaluation pair's "in" and "out" score for the bootstrap.
    df = pd.DataFrame({"pair": pairs, "y": y_ev, "s": s_ev}).sort_values(["pair", "y"], kind="stable")
    s_out, s_in = df["s"].to_numpy()[0::2], df["s"].to_numpy()[1::2]
    lo, hi = paired_auc_ci(s_in, s_out, alpha, seed)
    tp_a, fp_a = _counts_at(y_ev, s_ev, np.array([th["accuracy"]]))
    tpr, fpr = tp_a[0] / n_in, fp_a[0] / n_out
    tp_e, fp_e = _counts_at(y_ev, s_ev, np.array([th["epsilon"]]))
    eps = float(epsilon_lb(tp_e, n_in, fp_e, n_out, alpha, delta)[0])
    return {
        "auc": auc(y_ev, s_ev),
        "auc_ci_low": lo,
        "auc_ci_high": hi,
        "accuracy": float((tp_a[0] + n_out - fp_a[0]) / (n_in + n_out)),
        "advantage": float(tpr - fpr),
        "tpr": float(tpr),
        "fpr": float(fpr),
        "tpr_at_1pct_fpr": tpr_at_fpr(y_ev, s_ev, 0.01),
        "tpr_at_10pct_fpr": tpr_at_fpr(y_ev, s_ev, 0.10),
        "epsilon_lb": eps,
        "epsilon_threshold": th["epsilon"],
        "epsilon_tpr_low": float(cp_lower(tp_e, n_in, alpha / 2)[0]),
        "epsilon_fpr_high": float(cp_upper(fp_e, n_out, alpha / 2)[0]),
        "accuracy_threshold": th["accuracy"],
        "shadow_auc": auc(y_sh, s_sh),
        "n_in": n_in,
        "n_out": n_out,
    }


def aggregate(results: pd.DataFrame) -> dict[str, Any]:
    """Worst target and mean over targets; a target's risk is its strongest attack."""
    out: dict[str, Any] = {"worst": {}, "mean": {}, "per_attack": {}}
    for m in METRICS:
        best_per_target = results.groupby("target")[m].max()
        i = results[m].idxmax()
        out["worst"][m] = {
            "value": float(results.loc[i, m]),
            "target": int(results.loc[i, "target"]),
            "attack": str(results.loc[i, "attack"]),
        }
        out["mean"][m] = float(best_per_target.mean())
    for a, g in results.groupby("attack", sort=False):
        out["per_attack"][a] = {f"{m}_worst": float(g[m].max()) for m in METRICS} | {
            f"{m}_mean": float(g[m].mean()) for m in METRICS
        }
    return out


def summary_row(agg: dict[str, Any]) -> dict[str, Any]:
    w, mean = agg["worst"], agg["mean"]
    return {
        "audit_auc_worst": w["auc"]["value"],
        "audit_tpr_at_1pct_fpr_worst": w["tpr_at_1pct_fpr"]["value"],
        "audit_epsilon_lb_worst": w["epsilon_lb"]["value"],
        "audit_auc_mean": mean["auc"],
        "audit_epsilon_lb_mean": mean["epsilon_lb"],
        "audit_tpr_at_1pct_fpr_mean": mean["tpr_at_1pct_fpr"],
        "audit_advantage_worst": w["advantage"]["value"],
        "audit_worst_target": w["auc"]["target"],
        "audit_worst_attack": w["auc"]["attack"],
    }


def plot_roc(scores: pd.DataFrame, results: pd.DataFrame, title: str, path: str) -> None:
    """One panel per attack, one curve per target (evaluation sets), log-scaled inset-free."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    from ..io import write_with

    attacks = list(dict.fromkeys(results["attack"]))
    fig, axes = plt.subplots(1, len(attacks), figsize=(4.2 * len(attacks), 4.4), squeeze=False)
    ev = scores[scores["role"] == "eval"]
    for ax, a in zip(axes[0], attacks, strict=True):
        ax.plot([0, 1], [0, 1], "--", color="0.7", lw=1)
        for tgt, g in ev[ev["attack"] == a].groupby("target", sort=False):
            r = results[(results["attack"] == a) & (results["target"] == tgt)].iloc[0]
            fpr, tpr, _ = roc_curve(g["label"], g["score"])
            ax.plot(fpr, tpr, lw=1.5, label=f"{tgt} ({r['selection']}) AUC {r['auc']:.2f}, eps>={r['epsilon_lb']:.2f}")
        ax.set_title(str(results.loc[results["attack"] == a, "attack"].iloc[0]))
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.legend(loc="lower right", fontsize=7, title="target row_id", title_fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    write_with(lambda tmp: fig.savefig(tmp, format="png", dpi=110), path)
    plt.close(fig)
