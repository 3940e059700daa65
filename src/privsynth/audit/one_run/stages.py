"""The one-run canary audit's stages over files (rules ``audit_one_run_canaries``,
``audit_one_run_train``, ``audit_one_run_attack``, ``audit_one_run_skipped``; the
audit fit is the synthesis job's code; adapters in ``privsynth.jobs.audit_one_run``).

Each takes plain paths and its config slice, so tests call them without Snakemake.
The method itself (canaries, guesses, the bound) is in ``audit.one_run.method``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...datasets import load_schema
from ...errors import ConfigError, GeneratorError
from ...io import read_json, write_json, write_parquet
from ..common.threat_model import row_hashes
from . import layout, method, verdict

log = logging.getLogger("privsynth.audit.one_run")


def canaries(train_path: str, schema_path: str, out_path: str, job: Mapping[str, Any]) -> pd.DataFrame:
    """Draw the dataset's canaries and their coins (row ids only; records stay in train.parquet)."""
    train = pd.read_parquet(train_path)
    can = method.draw_canaries(train, load_schema(schema_path), job)
    write_parquet(can, out_path)
    log.info("%d canaries (%d included by coin flip)", len(can), int(can["included"].sum()))
    return can


def audit_train(
    train_path: str, canaries_path: str, out_train: str, out_info: str, job: Mapping[str, Any]
) -> dict[str, Any]:
    """The cell's audit training set: base rows drawn before the coins + the included canaries."""
    train = pd.read_parquet(train_path)
    can = pd.read_parquet(canaries_path)
    where, cap = job.get("where", "audit"), job.get("cap")
    if job.get("audit_run") == "release" and cap is not None and 2 * len(can) > int(cap):
        raise ConfigError(
            f"{where}.m: {len(can)} canaries are more than half of the release's {cap}-row training cap; "
            "lower m, or audit a separate fit (m up to the cap)"
        )
    data, info = layout.audit_training_set(train, can, cap, int(job["seed"]), where, job.get("generator"))
    write_parquet(data, out_train, index=True)
    info = {**{k: job[k] for k in ("dataset", "generator", "setting")}, **info, "train_split_rows": len(train)}
    write_json(info, out_info)
    log.info(
        "audit training set: %d rows (%d included canaries, cap %s)",
        info["rows"],
        info["included_canaries"],
        info["cap"],
    )
    return info


def _check_training_set(data: pd.DataFrame, can: pd.DataFrame, info: Mapping[str, Any]) -> None:
    inc = can.loc[can["included"] == 1, "row_id"]
    exc = can.loc[can["included"] == 0, "row_id"]
    if not inc.isin(data.index).all() or exc.isin(data.index).any():
        raise GeneratorError("audit training set does not match the canary coins (rerun audit_one_run_train)")
    if "base_rows" in info and len(data) != int(info["base_rows"]) + len(inc):
        raise GeneratorError("audit training set is not base rows + included canaries (rerun audit_one_run_train)")


def attack(
    train_path: str,
    schema_path: str,
    holdout_path: str,
    canaries_path: str,
    audit_train_path: str,
    info_path: str,
    synthetic_path: str,
    metrics_path: str,
    out_json: str,
    out_scores: str,
    out_summary: str,
    job: Mapping[str, Any],
) -> dict[str, Any]:
    t0 = time.perf_counter()
    schema = load_schema(schema_path)
    train = pd.read_parquet(train_path)
    can = pd.read_parquet(canaries_path)
    info = read_json(info_path)
    data = pd.read_parquet(audit_train_path)
    _check_training_set(data, can, info)
    # Where each canary sat in the rows the generator got: its engine's split, from the actual file.
    split = layout.VALIDATION_SPLITS.get(job["generator"])
    place = layout.placement(data.index.to_numpy(), can, split)
    meta = read_json(metrics_path)
    syn = pd.read_parquet(synthetic_path)
    ref = pd.read_parquet(holdout_path)
    records = train.loc[can["row_id"].to_numpy(), schema.names].reset_index(drop=True)
    # A reference record equal to a canary is another person's row; say how many (it is no leak).
    ref_equal = int(np.isin(row_hashes(records), row_hashes(ref[schema.names])).sum())
    t1 = time.perf_counter()
    scores, ainfo = method.attack_scores(records, syn[schema.names], ref[schema.names], schema, job["attacks"])
    t_attack = time.perf_counter() - t1
    fit_eps, fit_delta = meta.get("epsilon"), meta.get("delta")
    delta = float(job["delta"]) if job.get("delta") is not None else float(fit_delta or 0.0)
    res = method.evaluate(scores, can, job, delta)
    claimed, claim_source = verdict.claimed_epsilon(meta)
    v = verdict.verdict(res["epsilon_lb"], res["ceiling"], delta, claimed)
    key = {k: job[k] for k in ("dataset", "generator", "setting")}
    conf = float(job["confidence"])
    n_inc = res["included"]
    trained = int((place == "training").sum())
    report = {
        **key,
        "audit": "one-run canary audit (Steinke, Nasr & Jagielski, NeurIPS 2023), black box",
        "neighbouring_relation": method.NEIGHBOURING,
        "guarantee": (
            f"with probability >= {conf:g} over the canary coins, the audit fit is not ({res['epsilon_lb']:.4g}, "
            f"{delta:g})-DP under add/remove of one canary; Bonferroni over {res['tests']} (attack, guess design) "
            f"pairs fixed in advance; {len(can)} canaries (trials), {res['guesses']} guesses"
        ),
        "verdict": v["verdict"],
        "flags": v["flags"],
        "limits": verdict.LIMITS,
        "audit_run": job["audit_run"],
        "generator_fits": 0 if job["audit_run"] == "release" else 1,
        "protocol": {
            "m": len(can),
            "included": n_inc,
            "excluded": res["excluded"],
            "seed": int(job["seed"]),
            "confidence": conf,
            "attacks": list(job["attacks"]),
            "guess_fractions": list(job["guess_fractions"]),
            "guess_sides": list(job["guess_sides"]),
            "tests": res["tests"],
            "per_test_alpha": res["per_test_alpha"],
            "delta": delta,
            "delta_source": "config"
            if job.get("delta") is not None
            else ("audit fit's accountant" if fit_delta is not None else "none claimed: pure eps-DP (delta = 0)"),
            "selection": dict(pd.Series(can["selection"]).value_counts()),
        },
        "audit_fit": {
            "epsilon_accountant": fit_eps,
            "epsilon_trained": meta.get("epsilon_trained"),
            "delta_accountant": fit_delta,
            "claimed_epsilon": claimed,
            "claimed_epsilon_source": claim_source,
            "train_rows": meta.get("train_rows"),
            "training_set": info,
            "positive_control": bool(meta.get("positive_control", False)),
            "negative_control": bool(meta.get("negative_control", False)),
        },
        "placement": {
            "trained": trained,
            "validation": int((place == "validation").sum()),
            "trained_fraction": None if n_inc == 0 else trained / n_inc,
            "rule": info.get("validation_split") or "no internal validation split: every included canary is trained on",
            "meaning": (
                "share of the included canaries in the rows the generator trains on; validation rows are not "
                "protected by DP-SGD and steer early stopping and the checkpoint choice"
            ),
        },
        "epsilon_lb": res["epsilon_lb"],
        "epsilon_lb_attack": res["epsilon_lb_attack"],
        "guesses": res["guesses"],
        "correct": res["correct"],
        "k_in": res["k_in"],
        "k_out": res["k_out"],
        "ceiling": res["ceiling"],
        "ceiling_guesses": res["ceiling_guesses"],
        "ceiling_meaning": (
            f"the bound this design would give at delta {delta:g} if every guess were correct (the most it can show)"
        ),
        "cannot_refute": v["cannot_refute"],
        "contradicts_dp_claim": v["contradicts_dp_claim"],
        "contradiction_rule": (
            "epsilon_lb > the audit fit's accountant epsilon after the last epoch trained (epsilon_trained; the "
            "checkpoint's epsilon where none is recorded; n/a without an accountant)"
        ),
        "gdp": res["gdp"],
        "auc": res["auc"],
        "auc_meaning": (
            f"two-sided Newcombe score interval (asymptotic) at alpha {res['interval_alpha']:.3g}: this interval, "
            f"every per-attack AUC interval and the TPR intervals ({res['intervals']} in all) hold jointly at "
            f"{conf:g} (Bonferroni), separately from the epsilon bound"
        ),
        "tpr_at_low_fpr": res["tpr_at_low_fpr"],
        "per_attack": res["per_attack"],
        "designs": res["designs"],
        "attack_info": {**ainfo, "reference_rows_equal_to_a_canary": ref_equal},
        "timing_seconds": {"attacks": round(t_attack, 3), "total": round(time.perf_counter() - t0, 3)},
    }
    frame = can[["row_id", "selection", "included", "half"]].copy()
    frame["placement"] = place.to_numpy()
    for a, sc in scores.items():
        frame[f"score_{a}"] = sc
    write_parquet(frame, out_scores)
    write_json(report, out_json)
    write_json({**key, **summary_row(report)}, out_summary)
    log.info(
        "one-run audit: %s; eps_lb %.3f (%s, %d/%d correct), GDP mu_lb %.3f, AUC %.3f [%s], trained %d/%d",
        v["verdict"],
        res["epsilon_lb"],
        res["epsilon_lb_attack"],
        res["correct"],
        res["guesses"],
        res["gdp"]["mu_lb"],
        res["auc"]["value"],
        res["auc"]["attack"],
        trained,
        n_inc,
    )
    return report


def summary_row(r: Mapping[str, Any]) -> dict[str, Any]:
    """summary.csv columns (prefix one_run_ = this audit; audit_ columns are the shadow-model audit's)."""
    t = r["tpr_at_low_fpr"]
    return {
        "one_run_status": "done",
        "one_run_epsilon_lb": r["epsilon_lb"],
        "one_run_epsilon_lb_attack": r["epsilon_lb_attack"],
        "one_run_guesses": r["guesses"],
        "one_run_correct": r["correct"],
        "one_run_ceiling": r["ceiling"],
        "one_run_verdict": r["verdict"],
        "one_run_cannot_refute": r["cannot_refute"],
        "one_run_tests": r["protocol"]["tests"],
        "one_run_gdp_mu_lb": r["gdp"]["mu_lb"],
        "one_run_gdp_epsilon": r["gdp"]["epsilon_at_delta"],
        "one_run_trained_fraction": r["placement"]["trained_fraction"],
        "one_run_auc": r["auc"]["value"],
        "one_run_auc_ci_low": r["auc"]["ci_low"],
        "one_run_auc_ci_high": r["auc"]["ci_high"],
        "one_run_auc_attack": r["auc"]["attack"],
        "one_run_tpr_at_low_fpr": t["value"],
        "one_run_low_fpr": t["fpr"],
        "one_run_fit_epsilon": r["audit_fit"]["epsilon_accountant"],
        "one_run_fit_epsilon_trained": r["audit_fit"]["epsilon_trained"],
        "one_run_fit_delta": r["audit_fit"]["delta_accountant"],
        "one_run_delta": r["protocol"]["delta"],
        "one_run_contradicts_dp": r["contradicts_dp_claim"],
        "one_run_m": r["protocol"]["m"],
        "one_run_confidence": r["protocol"]["confidence"],
        "one_run_audit_run": r["audit_run"],
        "one_run_fits": r["generator_fits"],
        "one_run_neighbouring": "add/remove",
    }
