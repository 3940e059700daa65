"""No-box privacy measures of one synthetic file (rule ``audit_nobox``): what the file and the real rows show.

For a file made elsewhere there is no generator to train again, so no shadow-model
or one-run audit and no epsilon bound: one file is one draw of an unknown mechanism.
What remains compares the file with two sets of real rows, the *members* (the rows
its maker saw: ``trained_on``) and the *non-members* (holdout rows, minus any equal
to a member: those no attack can tell apart, and a maker that copied the member
would make them look like leaks of the holdout):

* **exact copies**: members reproduced verbatim in the file, as a share of members,
  against the same share for non-members (the rate at which unseen records appear);
* **DCR share**: the share of synthetic rows closer to a member than to any non-member,
  re-weighted to equal set sizes (0.5 = no preference; ties count one half);
* **membership AUC**: the closest-distance and exact-match attacks of the audit
  (``audit.common.record_attacks.attack_scores``) scoring members against non-members.

Every interval holds jointly at ``confidence`` (Bonferroni over all of them).
Distances: privsynth's encoding (numeric columns scaled by the schema's bounds, L1,
plus one per categorical mismatch; ``audit.common.encoding``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...datasets import load_schema, load_split
from ...generators.external import read_rows
from ...io import read_json, write_json
from ...schema import Schema, restore_dtypes
from ..common import stats
from ..common.record_attacks import attack_scores
from ..common.threat_model import row_hashes

KEY = ("dataset", "generator", "setting")

log = logging.getLogger("privsynth.audit.nobox")

ATTACKS = ("closest_distance", "exact_match")
INTERVALS = 3 + len(ATTACKS)  # two copy rates, the DCR share, one AUC per attack
MIN_NONMEMBERS = 10
NO_EPSILON = (
    "one file is one output of an unknown mechanism, and differential privacy is a property of "
    "the mechanism over all its outputs; a clean file does not bound the risk of its generator, nor of its next file"
)
MEANING = {
    "exact_copies": (
        "shows: members reproduced verbatim, against the rate for unseen records (a member rate clearly above the "
        "non-member rate is memorisation). Does not show: near-copies, or what an attacker with auxiliary data "
        "can infer"
    ),
    "dcr": (
        "shows: whether synthetic rows lie closer to the rows the maker saw than to unseen rows of the same "
        "population (0.5 = no preference; above = closer to the members). Does not show: leaks of single records "
        "(a share averages over all rows), nor anything about columns the distance weighs little; the interval "
        "treats synthetic rows as independent draws"
    ),
    "membership_auc": (
        "shows: how well the distance to the nearest synthetic row tells members from non-members (0.5 = not at "
        "all, 1 = perfectly); the interval covers sampling of these rows. Does not show: that stronger attacks fail, "
        "that rare records are safe (an AUC averages over records), or any epsilon"
    ),
}


def _subset(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A seeded random subset of at most ``n`` rows."""
    idx = rng.permutation(len(df))[: min(n, len(df))]
    return df.iloc[np.sort(idx)].reset_index(drop=True)


def _rate(k: int, n: int, alpha: float) -> dict[str, Any]:
    lo, hi = stats.clopper_pearson(k, n, alpha) if n else (float("nan"), float("nan"))
    return {"count": int(k), "of": int(n), "share": k / n if n else float("nan"), "ci_low": lo, "ci_high": hi}


def exact_copies(
    members: pd.DataFrame, nonmembers: pd.DataFrame, synthetic: pd.DataFrame, alpha: float
) -> dict[str, Any]:
    """Members and non-members found verbatim in ``synthetic`` (all rows; same dtypes in all three)."""
    h_syn = row_hashes(synthetic)
    h_mem, h_non = row_hashes(members), row_hashes(nonmembers)
    return {
        "members": _rate(int(np.isin(h_mem, h_syn).sum()), len(members), alpha),
        "nonmembers": _rate(int(np.isin(h_non, h_syn).sum()), len(nonmembers), alpha),
        "synthetic_rows_equal_to_a_member": int(np.isin(h_syn, h_mem).sum()),
        "synthetic_rows_equal_to_a_nonmember": int(np.isin(h_syn, h_non).sum()),
        "synthetic_rows": len(synthetic),
        "interval": "two-sided Clopper-Pearson per share (records as independent trials)",
    }


def _nearest(rows: pd.DataFrame, others: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Distance from each of ``rows`` to its nearest row of ``others`` (the closest-distance attack's)."""
    scores, _ = attack_scores(rows, others, others.iloc[:1], schema, ["closest_distance"])
    return -scores["closest_distance"]


def _balanced(share: float, null: float) -> float:
    """``share`` re-weighted as if members and non-members were equally many (odds over the null odds)."""
    if not 0 < null < 1:
        return float("nan")
    a, b = share / null, (1 - share) / (1 - null)
    return float(a / (a + b)) if a + b > 0 else float("nan")


def dcr(
    members: pd.DataFrame, nonmembers: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, alpha: float, seed: int
) -> dict[str, Any]:
    """DCR share: synthetic rows whose nearest real row is a member rather than a non-member.

    All members and non-members (a subset of members would hide copies of the others);
    if the file does not depend on which rows were members, each synthetic row's nearest
    real row is a member with probability n_members / (n_members + n_nonmembers) (the
    null share). ``share`` is reported re-weighted to equal set sizes: 0.5 = no preference.
    """
    d_mem = _nearest(synthetic, members, schema)
    d_non = _nearest(synthetic, nonmembers, schema)
    closer, ties = d_mem < d_non, d_mem == d_non
    n = len(synthetic)
    null = len(members) / (len(members) + len(nonmembers))
    # Interval: ties settled by a seeded fair coin, so each row is a Bernoulli trial of the share.
    coin = np.random.default_rng([seed, 11]).random(n) < 0.5
    k = int((closer | (ties & coin)).sum())
    lo, hi = stats.clopper_pearson(k, n, alpha)
    raw = float(closer.mean() + ties.mean() / 2)
    return {
        "share": _balanced(raw, null),
        "ci_low": _balanced(lo, null),
        "ci_high": _balanced(hi, null),
        "share_unweighted": raw,
        "null_share": null,
        "ties": int(ties.sum()),
        "median_to_members": float(np.median(d_mem)),
        "median_to_nonmembers": float(np.median(d_non)),
        "synthetic_at_distance_0_of_a_member": int((d_mem == 0).sum()),
        "rows": {"synthetic": n, "members": len(members), "nonmembers": len(nonmembers)},
        "interval": (
            "two-sided Clopper-Pearson over synthetic rows (ties settled by a seeded coin), re-weighted like the "
            "share; the null assumes members and non-members are exchangeable (a random split)"
        ),
    }


def membership_auc(
    members: pd.DataFrame, nonmembers: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, alpha: float
) -> dict[str, Any]:
    """AUC of each attack with members as positives; ``best`` = the larger (its interval still holds: Bonferroni)."""
    records = pd.concat([members, nonmembers], ignore_index=True)
    labels = np.r_[np.ones(len(members), bool), np.zeros(len(nonmembers), bool)]
    scores, _ = attack_scores(records, synthetic, nonmembers, schema, list(ATTACKS))
    per = {}
    for name, s in scores.items():
        a, lo, hi = stats.auc_interval(labels, s, alpha)
        per[name] = {"auc": a, "ci_low": lo, "ci_high": hi}
    best = max(per, key=lambda k: (np.nan_to_num(per[k]["auc"]), -list(per).index(k)))
    return {
        "best": {"attack": best, **per[best]},
        "per_attack": per,
        "members": len(members),
        "nonmembers": len(nonmembers),
        "interval": "Newcombe score interval per attack (records as independent draws)",
    }


def _warnings(c: Mapping[str, Any], d: Mapping[str, Any], a: Mapping[str, Any]) -> list[str]:
    out = []
    m, n = c["members"], c["nonmembers"]
    if n["count"] and n["share"] >= m["share"]:
        out.append(
            f"the file reproduces {n['count']} holdout records, at a rate no lower than the members': check that "
            "its maker never saw the holdout (trained_on); if it did, these comparisons understate what it learnt"
        )
    if d["ci_high"] < 0.5 or a["best"]["ci_high"] < 0.5:
        out.append(
            "the file is closer to the holdout than to the members: it may have been made from other rows than "
            "trained_on says"
        )
    return out


def evaluate(
    members: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    like: pd.DataFrame,
    job: Mapping[str, Any],
) -> dict[str, Any]:
    """The no-box section of one file (``job``: confidence, max_rows, seed, confirmed, trained_on)."""
    conf, max_rows, seed = float(job["confidence"]), int(job["max_rows"]), int(job["seed"])
    alpha = (1 - conf) / INTERVALS
    # One dtype per column everywhere: equal values must hash (and encode) equally.
    mem, hold, syn = (
        restore_dtypes(f[schema.names].reset_index(drop=True), schema, like=like) for f in (members, holdout, synthetic)
    )
    shared = np.isin(row_hashes(hold), row_hashes(mem))
    non = hold[~shared].reset_index(drop=True)
    out: dict[str, Any] = {
        "method": "no-box: the synthetic file against the rows its maker saw (members) and holdout rows (non-members)",
        "trained_on": job["trained_on_label"],
        "confirmed": bool(job["confirmed"]),
        "confidence": conf,
        "intervals": f"every interval holds jointly at {conf:g} (Bonferroni over {INTERVALS})",
        "per_interval_alpha": alpha,
        "members": len(mem),
        "holdout_rows": len(hold),
        "holdout_rows_equal_to_a_member": int(shared.sum()),
        "nonmembers": len(non),
        "epsilon": None,
        "epsilon_reason": f"no epsilon bound: {NO_EPSILON}",
        "meaning": MEANING,
    }
    copies = exact_copies(mem, non, syn, alpha)
    out["exact_copies"] = copies
    why = None
    if not job["confirmed"]:
        why = (
            "n/a (trained_on not set: set it to 'train' once you know the maker saw the training split and none "
            "of the holdout, or to the uploaded file)"
        )
    elif len(non) < MIN_NONMEMBERS:
        why = f"n/a ({len(non)} holdout rows outside trained_on; at least {MIN_NONMEMBERS} needed)"
    if why is not None:
        # Without unseen rows to compare with, only the members' copy count stands.
        copies["nonmembers"] = {"count": None, "share": None, "ci_low": None, "ci_high": None, "reason": why}
        out.update(status=why, dcr={"reason": why}, membership_auc={"reason": why}, warnings=[])
        return out
    # Subsets on one side only: each distance is to the nearest of ALL rows on the other side,
    # so a copy is never hidden by leaving its source out.
    rng = np.random.default_rng([seed, 5])
    out["dcr"] = dcr(mem, non, _subset(syn, max_rows, rng), schema, alpha, seed)
    out["membership_auc"] = membership_auc(_subset(mem, max_rows, rng), _subset(non, max_rows, rng), syn, schema, alpha)
    out["warnings"] = _warnings(copies, out["dcr"], out["membership_auc"])
    out["status"] = "done"
    return out


def summary_row(r: Mapping[str, Any]) -> dict[str, Any]:
    """summary.csv columns (prefix nobox_)."""
    c, d, a = r["exact_copies"], r.get("dcr", {}), r.get("membership_auc", {})
    best = a.get("best", {})
    return {
        "nobox_status": r["status"],
        "nobox_trained_on": r["trained_on"],
        "nobox_confidence": r["confidence"],
        "nobox_members": r["members"],
        "nobox_nonmembers": r["nonmembers"],
        "nobox_train_copies": c["members"]["count"],
        "nobox_train_copy_share": c["members"]["share"],
        "nobox_train_copy_ci_low": c["members"]["ci_low"],
        "nobox_train_copy_ci_high": c["members"]["ci_high"],
        "nobox_holdout_copies": c["nonmembers"]["count"],
        "nobox_holdout_copy_share": c["nonmembers"]["share"],
        "nobox_holdout_copy_ci_low": c["nonmembers"]["ci_low"],
        "nobox_holdout_copy_ci_high": c["nonmembers"]["ci_high"],
        "nobox_holdout_equal_train": r["holdout_rows_equal_to_a_member"],
        "nobox_dcr_share": d.get("share"),
        "nobox_dcr_share_ci_low": d.get("ci_low"),
        "nobox_dcr_share_ci_high": d.get("ci_high"),
        "nobox_auc": best.get("auc"),
        "nobox_auc_ci_low": best.get("ci_low"),
        "nobox_auc_ci_high": best.get("ci_high"),
        "nobox_auc_attack": best.get("attack"),
        "nobox_warning": "; ".join(r.get("warnings", [])) or None,
    }


def nobox(
    train_path: str,
    holdout_path: str,
    schema_path: str,
    members_path: str,
    synthetic_path: str,
    metrics_path: str,
    out_json: str,
    out_summary: str,
    job: Mapping[str, Any],
) -> dict[str, Any]:
    """Stage of rule ``audit_nobox``: ``members_path`` is the training split or the uploaded file."""
    schema = load_schema(schema_path)
    train = load_split(train_path)
    members = train if job["trained_on_file"] is None else read_rows(members_path, schema, "trained_on file")
    meta = read_json(metrics_path)
    report = {
        **{k: job[k] for k in KEY},
        **evaluate(members, load_split(holdout_path), load_split(synthetic_path), schema, train, job),
        "file": {k: meta.get(k) for k in ("external_file", "external_sha256", "external_made_by", "rows")},
        "claimed": {"epsilon": meta.get("claimed_epsilon"), "delta": meta.get("claimed_delta")},
    }
    write_json(report, out_json)
    write_json({**{k: job[k] for k in KEY}, **summary_row(report)}, out_summary)
    c = report["exact_copies"]
    log.info(
        "no-box: %s; %d of %d members copied; DCR share %s; AUC %s",
        report["status"],
        c["members"]["count"],
        c["members"]["of"],
        report.get("dcr", {}).get("share"),
        report.get("membership_auc", {}).get("best", {}).get("auc"),
    )
    return report
