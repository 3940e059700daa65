"""Report: metrics per (target, attack), the per-target selection, aggregates, ROC plot.

What each number means and what guarantees it: docs/audit.md ("What each number
means").  In short, per (target, attack), on the evaluation sets:

* ``auc`` (point estimate) with ``auc_ci_low``/``auc_ci_high``: an exact
  Clopper-Pearson interval from disjoint matched comparisons (``stats.matched_auc_ci``),
  and ``auc_boot_low``/``auc_boot_high``, the approximate pair bootstrap;
* ``epsilon_lb``: a lower confidence bound on epsilon (add/remove adjacency) at a
  rule ("score >= t" or "score <= t") chosen on held-out shadow scores;
* ``tpr_at_1pct_fpr``, ``tpr_at_10pct_fpr``: TPR on the evaluation sets at a
  threshold set on the shadow sets to that FPR, with a Clopper-Pearson interval;
  n/a (null, why in ``*_reason``) when the negatives cannot support the FPR;
* ``accuracy``, ``advantage``, ``tpr``, ``fpr``: point estimates at the rule that
  maximises held-out shadow accuracy (no interval, not part of the guarantee).

Family-wise confidence: STATEMENTS_PER_RESULT statements (AUC interval, epsilon
bound, two TPR intervals) per (target, attack), each at
alpha = (1 - confidence) / (STATEMENTS_PER_RESULT x targets x attacks) (Bonferroni),
so all of them hold together with probability >= confidence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..common.stats import TprAtFpr, auc, cp_lower, cp_upper, negatives_needed
from .stats import (
    bootstrap_resamples,
    choose_rules,
    counts_at,
    matched_auc_ci,
    paired_auc_ci,
    rule_counts,
    rule_epsilon_lb,
    threshold_at_fpr,
)

if TYPE_CHECKING:
    from ..common.attacks import Attack, SyntheticSets
    from ..common.threat_model import AuxiliaryDataKnowledge, TargetedMIA

__all__ = ["auc", "cp_lower", "cp_upper", "rule_epsilon_lb", "paired_auc_ci", "matched_auc_ci", "counts_at"]

log = logging.getLogger(__name__)

FOLDS = 5
STATEMENTS_PER_RESULT = 4  # AUC interval, epsilon bound, TPR@1% and TPR@10% intervals
LOW_FPRS = {"tpr_at_1pct_fpr": 0.01, "tpr_at_10pct_fpr": 0.10}
METRICS = ["auc", "accuracy", "advantage", "tpr_at_1pct_fpr", "tpr_at_10pct_fpr", "epsilon_lb"]
# metric -> (interval columns or None, shadow column the per-target selection maximises)
SELECT_BY = {"epsilon_lb": "shadow_epsilon_lb"}
INTERVALS = {
    "auc": ("auc_ci_low", "auc_ci_high"),
    "epsilon_lb": ("epsilon_lb", None),
    "tpr_at_1pct_fpr": ("tpr_at_1pct_fpr_ci_low", "tpr_at_1pct_fpr_ci_high"),
    "tpr_at_10pct_fpr": ("tpr_at_10pct_fpr_ci_low", "tpr_at_10pct_fpr_ci_high"),
}


@dataclass
class AuditResult:
    scores: pd.DataFrame
    results: pd.DataFrame
    alpha: float
    statements: int
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

    ``sets`` holds one synthetic set per entry of ``set_ids`` (ids of ``mia.sets``);
    ``seed`` (``audit.seed``) drives the pair folds, the bootstrap and the matching.
    """
    meta = mia.sets.set_index("set_id").loc[set_ids]
    role = meta["role"].to_numpy()
    pairs = meta["pair"].to_numpy()
    Y = meta[[f"in_{t.row_id}" for t in mia.targets]].to_numpy().astype(np.int8)
    sh, ev = np.flatnonzero(role == "shadow"), np.flatnonzero(role == "eval")
    k = len(mia.targets)
    statements = STATEMENTS_PER_RESULT * k * len(attacks)
    alpha = (1 - confidence) / statements
    folds = _fold_of(pairs[sh], seed)
    score_frames, rows, timings = [], [], {}
    for a_i, attack in enumerate(attacks):
        t0 = time.perf_counter()
        attack.prepare(knowledge, sets.encoder)
        # Held-out shadow scores (cross-fitted over pairs) choose rules and the attack.
        oof = attack.fit_heldout(sets, sh, Y[sh], pairs[sh], folds)
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
            sub_seed = int(np.random.SeedSequence([seed, 6, j, a_i]).generate_state(1)[0])
            rows.append(
                _metrics(Y[sh, j], oof[:, j], Y[ev, j], s_eval[:, j], pairs[ev], alpha, delta, sub_seed)
                | {"target": tgt.row_id, "selection": tgt.selection, "attack": attack.name}
            )
    scores = pd.concat(score_frames, ignore_index=True)
    results = select(pd.DataFrame(rows), [a.name for a in attacks])
    lead = ["target", "selection", "attack"]
    results = results[lead + [c for c in results.columns if c not in lead]]
    return AuditResult(scores=scores, results=results, alpha=alpha, statements=statements, timings=timings)


def _tpr_at_fpr(y_sh, s_sh, y_ev, s_ev, fpr: float, alpha: float) -> TprAtFpr:  # noqa: ANN001
    need = negatives_needed(fpr)
    n_out_sh, n_out_ev = int((1 - y_sh).sum()), int((1 - y_ev).sum())
    if min(n_out_sh, n_out_ev) < need:
        return TprAtFpr.unsupported(
            fpr,
            f"n/a: {min(n_out_sh, n_out_ev)} 'out' sets (shadow {n_out_sh}, evaluation {n_out_ev}) "
            f"cannot support an FPR of {fpr:g}; needs >= {need} (3/FPR) on each side",
        )
    t = threshold_at_fpr(y_sh, s_sh, fpr)
    tp, n_in, fp, n_out = rule_counts(y_ev, s_ev, t, "ge")
    lo, hi = cp_lower(np.array([tp]), n_in, alpha / 2)[0], cp_upper(np.array([tp]), n_in, alpha / 2)[0]
    return TprAtFpr(
        value=tp / n_in, ci_low=float(lo), ci_high=float(hi), fpr=fpr, empirical_fpr=fp / n_out, threshold=t
    )


def _metrics(
    y_sh: np.ndarray,
    s_sh: np.ndarray,
    y_ev: np.ndarray,
    s_ev: np.ndarray,
    pairs: np.ndarray,
    alpha: float,
    delta: float,
    seed: int,
) -> dict[str, Any]:
    rules = choose_rules(y_sh, s_sh, alpha, delta)
    # Pair up each evaluation pair's "in" and "out" score.
    df = pd.DataFrame({"pair": pairs, "y": y_ev, "s": s_ev}).sort_values(["pair", "y"], kind="stable")
    s_out, s_in = df["s"].to_numpy()[0::2], df["s"].to_numpy()[1::2]
    lo, hi, comparisons = matched_auc_ci(s_in, s_out, alpha, seed)
    blo, bhi = paired_auc_ci(s_in, s_out, alpha, seed)
    tp_a, n_in, fp_a, n_out = rule_counts(y_ev, s_ev, *rules["accuracy"])
    tpr, fpr = tp_a / n_in, fp_a / n_out
    tp_e, _, fp_e, _ = rule_counts(y_ev, s_ev, *rules["epsilon"])
    out = {
        "auc": auc(y_ev, s_ev),
        "auc_ci_low": lo,
        "auc_ci_high": hi,
        "auc_ci_comparisons": comparisons,
        "auc_boot_low": blo,
        "auc_boot_high": bhi,
        "auc_boot_resamples": bootstrap_resamples(alpha),
        "accuracy": float((tp_a + n_out - fp_a) / (n_in + n_out)),
        "advantage": float(tpr - fpr),
        "tpr": float(tpr),
        "fpr": float(fpr),
        "accuracy_threshold": rules["accuracy"][0],
        "accuracy_rule": rules["accuracy"][1],
        "epsilon_lb": float(rule_epsilon_lb(np.array([tp_e]), n_in, np.array([fp_e]), n_out, alpha, delta)[0]),
        "epsilon_threshold": rules["epsilon"][0],
        "epsilon_rule": rules["epsilon"][1],
        "epsilon_tpr_low": float(cp_lower(np.array([tp_e]), n_in, alpha / 2)[0]),
        "epsilon_fpr_high": float(cp_upper(np.array([fp_e]), n_out, alpha / 2)[0]),
        "shadow_auc": auc(y_sh, s_sh),
        "shadow_epsilon_lb": rules["shadow_epsilon_lb"],
        "n_in": n_in,
        "n_out": n_out,
    }
    for col, f in LOW_FPRS.items():
        r = _tpr_at_fpr(y_sh, s_sh, y_ev, s_ev, f, alpha)
        out |= {
            col: r.value,
            f"{col}_ci_low": r.ci_low,
            f"{col}_ci_high": r.ci_high,
            f"{col}_eval_fpr": r.empirical_fpr,
            f"{col}_reason": r.reason,
        }
    return out


def select(results: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Per target, the attack chosen on shadow data alone: best held-out shadow AUC
    (``selected``) and best held-out shadow epsilon bound (``selected_epsilon``);
    ties go to the earlier attack in ``order``.  The evaluation sets play no part,
    so the chosen attack's evaluation metrics are not inflated by the choice."""
    results = results.copy()
    rank = results["attack"].map({a: i for i, a in enumerate(order)})
    results["selected"] = False
    results["selected_epsilon"] = False
    for _t, g in results.groupby("target", sort=False):
        r = rank[g.index]
        best_auc = np.lexsort((r.to_numpy(), -g["shadow_auc"].fillna(-1).to_numpy()))[0]
        sh_auc = -g["shadow_auc"].fillna(-1).to_numpy()
        best_eps = np.lexsort((r.to_numpy(), sh_auc, -g["shadow_epsilon_lb"].to_numpy()))[0]
        results.loc[g.index[best_auc], "selected"] = True
        results.loc[g.index[best_eps], "selected_epsilon"] = True
    return results


def _finite(v: Any) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def aggregate(results: pd.DataFrame) -> dict[str, Any]:
    """Per target its shadow-selected attack; ``worst`` = the worst of the k audited
    targets, ``mean`` = the mean over targets; ``per_attack`` for information."""
    k = int(results["target"].nunique())
    out: dict[str, Any] = {
        "selection": "per target, the attack with the best held-out shadow AUC (epsilon_lb: the best held-out "
        "shadow bound); each value is that attack's metric on the evaluation sets",
        "targets": k,
        "worst": {},
        "mean": {},
        "per_attack": {},
    }
    for m in METRICS:
        chosen = results[results["selected_epsilon" if m == "epsilon_lb" else "selected"]]
        vals = chosen[m].astype(float)
        entry: dict[str, Any] = {"label": f"worst of {k} audited targets"}
        if vals.notna().any():
            i = vals.idxmax()
            entry |= {
                "value": float(vals[i]),
                "target": int(chosen.loc[i, "target"]),
                "attack": str(chosen.loc[i, "attack"]),
            }
            lo_col, hi_col = INTERVALS.get(m, (None, None))
            if lo_col in chosen and hi_col in chosen:
                entry |= {"ci_low": _finite(chosen.loc[i, lo_col]), "ci_high": _finite(chosen.loc[i, hi_col])}
        else:
            entry |= {
                "value": None,
                "target": None,
                "attack": None,
                "reason": str(chosen[f"{m}_reason"].iloc[0]) if f"{m}_reason" in chosen else "n/a",
            }
        out["worst"][m] = entry
        out["mean"][m] = _finite(vals.mean()) if vals.notna().all() else None
    for a, g in results.groupby("attack", sort=False):
        out["per_attack"][a] = {f"{m}_worst": _finite(g[m].astype(float).max()) for m in METRICS} | {
            f"{m}_mean": _finite(g[m].astype(float).mean()) for m in METRICS
        }
    return out


def summary_row(agg: dict[str, Any]) -> dict[str, Any]:
    w, mean = agg["worst"], agg["mean"]
    return {
        "audit_auc_worst": w["auc"]["value"],
        "audit_auc_worst_ci_low": w["auc"].get("ci_low"),
        "audit_auc_worst_ci_high": w["auc"].get("ci_high"),
        "audit_tpr_at_1pct_fpr_worst": w["tpr_at_1pct_fpr"]["value"],
        "audit_tpr_at_10pct_fpr_worst": w["tpr_at_10pct_fpr"]["value"],
        "audit_epsilon_lb_worst": w["epsilon_lb"]["value"],
        "audit_auc_mean": mean["auc"],
        "audit_epsilon_lb_mean": mean["epsilon_lb"],
        "audit_tpr_at_1pct_fpr_mean": mean["tpr_at_1pct_fpr"],
        "audit_advantage_worst": w["advantage"]["value"],
        "audit_worst_target": w["auc"]["target"],
        "audit_worst_attack": w["auc"]["attack"],
        "audit_targets": agg["targets"],
    }


def plot_roc(scores: pd.DataFrame, results: pd.DataFrame, title: str, path: str) -> None:
    """One panel per attack, one curve per target (evaluation sets), log-scaled inset-free."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    from ...io import write_with

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
