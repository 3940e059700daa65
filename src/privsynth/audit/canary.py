"""The one-run canary audit's stages over files (rules ``audit_one_run_canaries``,
``audit_one_run_train``, ``audit_one_run_attack``, ``audit_one_run_skipped``; the
audit fit is the synthesis job's code; adapters in ``privsynth.jobs.audit_one_run``).

Each takes plain paths and its config slice, so tests call them without Snakemake.
The method itself (canaries, guesses, the bound) is in ``audit.one_run``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import load_schema
from ..errors import GeneratorError
from ..io import read_json, write_json, write_parquet
from . import one_run
from .threat_model import row_hashes

log = logging.getLogger("privsynth.audit.one_run")


def canaries(train_path: str, schema_path: str, out_path: str, job: Mapping[str, Any]) -> pd.DataFrame:
    """Draw the dataset's canaries and their coins (row ids only; records stay in train.parquet)."""
    train = pd.read_parquet(train_path)
    can = one_run.draw_canaries(train, load_schema(schema_path), job)
    write_parquet(can, out_path)
    log.info("%d canaries (%d included by coin flip)", len(can), int(can["included"].sum()))
    return can


def audit_train(
    train_path: str, canaries_path: str, out_train: str, out_info: str, job: Mapping[str, Any]
) -> dict[str, Any]:
    """The cell's audit training set: the training split without the excluded canaries."""
    train = pd.read_parquet(train_path)
    can = pd.read_parquet(canaries_path)
    data, info = one_run.audit_training_set(train, can, job.get("cap"), int(job["seed"]), job.get("where", "audit"))
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


def _check_training_set(data: pd.DataFrame, can: pd.DataFrame) -> None:
    inc = can.loc[can["included"] == 1, "row_id"]
    exc = can.loc[can["included"] == 0, "row_id"]
    if not inc.isin(data.index).all() or exc.isin(data.index).any():
        raise GeneratorError("audit training set does not match the canary coins (rerun audit_one_run_train)")


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
    _check_training_set(pd.read_parquet(audit_train_path), can)
    info = read_json(info_path)
    meta = read_json(metrics_path)
    syn = pd.read_parquet(synthetic_path)
    ref = pd.read_parquet(holdout_path)
    records = train.loc[can["row_id"].to_numpy(), schema.names].reset_index(drop=True)
    # A reference record equal to a canary is another person's row; say how many (it is no leak).
    ref_equal = int(np.isin(row_hashes(records), row_hashes(ref[schema.names])).sum())
    t1 = time.perf_counter()
    scores, ainfo = one_run.attack_scores(records, syn[schema.names], ref[schema.names], schema, job["attacks"])
    t_attack = time.perf_counter() - t1
    fit_eps, fit_delta = meta.get("epsilon"), meta.get("delta")
    delta = float(job["delta"]) if job.get("delta") is not None else float(fit_delta or 0.0)
    res = one_run.evaluate(scores, can, job, delta)
    contradicts = fit_eps is not None and res["epsilon_lb"] > float(fit_eps)
    key = {k: job[k] for k in ("dataset", "generator", "setting")}
    conf = float(job["confidence"])
    report = {
        **key,
        "audit": "one-run canary audit (Steinke, Nasr & Jagielski, NeurIPS 2023), black box",
        "neighbouring_relation": one_run.NEIGHBOURING,
        "guarantee": (
            f"with probability >= {conf:g} over the canary coins, the audit fit is not ({res['epsilon_lb']:.4g}, "
            f"{delta:g})-DP under add/remove of one canary; Bonferroni over {res['tests']} (attack, guess design) "
            "pairs fixed in advance"
        ),
        "audit_run": job["audit_run"],
        "generator_fits": 0 if job["audit_run"] == "release" else 1,
        "protocol": {
            "m": len(can),
            "included": res["included"],
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
            "delta_accountant": fit_delta,
            "train_rows": meta.get("train_rows"),
            "training_set": info,
            "positive_control": bool(meta.get("positive_control", False)),
            "negative_control": bool(meta.get("negative_control", False)),
        },
        "epsilon_lb": res["epsilon_lb"],
        "epsilon_lb_attack": res["epsilon_lb_attack"],
        "guesses": res["guesses"],
        "correct": res["correct"],
        "k_in": res["k_in"],
        "k_out": res["k_out"],
        "ceiling": res["ceiling"],
        "ceiling_guesses": res["ceiling_guesses"],
        "ceiling_meaning": "the bound this design would give if every guess were correct (the most it can show)",
        "contradicts_dp_claim": bool(contradicts),
        "contradiction_rule": "epsilon_lb > the audit fit's own accountant epsilon (n/a without an accountant)",
        "auc": res["auc"],
        "auc_meaning": (
            f"two-sided Newcombe score interval at alpha {res['interval_alpha']:.3g}: this interval, every per-attack "
            f"AUC interval and the TPR intervals hold jointly at {conf:g} (Bonferroni), separately from the epsilon bound"
        ),
        "tpr_at_low_fpr": res["tpr_at_low_fpr"],
        "per_attack": res["per_attack"],
        "designs": res["designs"],
        "attack_info": {**ainfo, "reference_rows_equal_to_a_canary": ref_equal},
        "timing_seconds": {"attacks": round(t_attack, 3), "total": round(time.perf_counter() - t0, 3)},
    }
    frame = can[["row_id", "selection", "included", "half"]].copy()
    for a, s in scores.items():
        frame[f"score_{a}"] = s
    write_parquet(frame, out_scores)
    write_json(report, out_json)
    write_json({**key, **summary_row(report)}, out_summary)
    log.info(
        "one-run audit: eps_lb %.3f (%s, %d/%d correct; ceiling %.3f), AUC %.3f [%s]",
        res["epsilon_lb"],
        res["epsilon_lb_attack"],
        res["correct"],
        res["guesses"],
        res["ceiling"],
        res["auc"]["value"],
        res["auc"]["attack"],
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
        "one_run_auc": r["auc"]["value"],
        "one_run_auc_ci_low": r["auc"]["ci_low"],
        "one_run_auc_ci_high": r["auc"]["ci_high"],
        "one_run_auc_attack": r["auc"]["attack"],
        "one_run_tpr_at_low_fpr": t["value"],
        "one_run_low_fpr": t["fpr"],
        "one_run_fit_epsilon": r["audit_fit"]["epsilon_accountant"],
        "one_run_fit_delta": r["audit_fit"]["delta_accountant"],
        "one_run_delta": r["protocol"]["delta"],
        "one_run_contradicts_dp": r["contradicts_dp_claim"],
        "one_run_m": r["protocol"]["m"],
        "one_run_confidence": r["protocol"]["confidence"],
        "one_run_audit_run": r["audit_run"],
        "one_run_fits": r["generator_fits"],
        "one_run_neighbouring": "add/remove",
    }


def _skipped_status(reason: str) -> str:
    # "n/a (...)": the audit cannot apply to the cell at all (not a config choice).
    return reason if reason.startswith("n/a") else f"skipped ({reason})"


def skipped_summary(out_path: str, job: Mapping[str, Any]) -> None:
    write_json(
        {**{k: job[k] for k in ("dataset", "generator", "setting")}, "one_run_status": _skipped_status(job["reason"])},
        out_path,
    )
