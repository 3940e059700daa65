"""Audit job bodies (called by the thin scripts in workflow/scripts/audit_*.py).

Each takes plain paths and its config slice, so tests can call it without Snakemake.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import generators
from ..errors import GeneratorError
from ..io import read_json, write_json, write_parquet
from ..jobs import load_schema
from ..schema import Schema, check_columns, coerce_frame, restore_dtypes, validate_frame
from .attacks import SyntheticSets, make_attacks
from .encoding import Encoder
from .report import aggregate, plot_roc, run_attacks, summary_row
from .threat_model import AuditProtocol, TargetedMIA

log = logging.getLogger("privsynth.audit")
SET_COL = "_set_id"


# --- per dataset: the threat model ------------------------------------------------


def shadow_sets(
    train_path: str, schema_path: str, out_sets: str, out_targets: str, out_pools: str, job: Mapping[str, Any]
) -> None:
    """Choose targets, split pools, draw the shadow/eval training sets (row ids only)."""
    data = pd.read_parquet(train_path)
    schema = load_schema(schema_path)
    p = AuditProtocol.from_config(
        {k: job[k] for k in ("n", "n_shadow", "n_eval", "targets", "seed")}, job.get("where", "audit")
    )
    mia = TargetedMIA.sample(data, schema, p)
    write_json({"targets": [t.to_json() for t in mia.targets], "protocol": p.sets_slice()}, out_targets)
    write_parquet(mia.pools_frame(), out_pools)
    write_parquet(mia.sets, out_sets)
    log.info("wrote %d training sets for %d targets", len(mia.sets), len(mia.targets))


def load_mia(sets_path: str, targets_path: str, pools_path: str) -> TargetedMIA:
    return TargetedMIA.load(read_json(targets_path)["targets"], pd.read_parquet(pools_path), pd.read_parquet(sets_path))


# --- per (cell, batch): black-box generator runs ----------------------------------------


def fit_batch(
    train_path: str, schema_path: str, sets_path: str, out_path: str, job: Mapping[str, Any], threads: int = 1
) -> None:
    """Fit the generator on each training set of the batch and sample m rows from it."""
    data = pd.read_parquet(train_path)
    schema = load_schema(schema_path)
    sets = pd.read_parquet(sets_path).set_index("set_id").loc[list(job["sets"])]
    name, settings, m = job["generator"], dict(job["settings"]), int(job["m"])
    cls = generators.load(name)
    frames = []
    t0 = time.perf_counter()
    for i, (set_id, row) in enumerate(sets.iterrows(), 1):
        train = data.loc[np.asarray(row["rows"], dtype=np.int64)].reset_index(drop=True)
        # Scratch space per run, removed afterwards (as for the main synthesis job).
        with tempfile.TemporaryDirectory(prefix="privsynth-audit-") as workdir:
            gen = cls(workdir=workdir, threads=threads)
            try:
                gen.fit(train, schema, settings, int(row["seed"]))
                syn = gen.sample(m)
            except GeneratorError as exc:
                raise GeneratorError(f"shadow set {set_id}: {exc}") from None
        if len(syn) != m:
            raise GeneratorError(f"{name} on shadow set {set_id} returned {len(syn)} rows, {m} were asked for")
        check_columns(syn, schema, f"{name} output on shadow set {set_id}")
        frames.append(syn[schema.names].reset_index(drop=True).assign(**{SET_COL: int(set_id)}))
        if i % 10 == 0 or i == len(sets):
            log.info("%s/%s: %d/%d shadow sets (%.1f s)", name, job["setting"], i, len(sets), time.perf_counter() - t0)
    # Validate the whole batch at once (per-set validation would dominate for fast generators).
    out = pd.concat(frames, ignore_index=True)
    set_col = out[SET_COL].to_numpy()
    out, valid, reasons = coerce_validate(out[schema.names], schema)
    if not valid.all():
        bad = sorted(set(set_col[~valid].tolist()))
        raise GeneratorError(
            f"{name} returned {int((~valid).sum())} rows violating the schema on shadow sets {bad[:10]}: "
            + ", ".join(f"{k} ({v} distinct values)" for k, v in sorted(reasons.items()))
        )
    out = restore_dtypes(out, schema, like=data)
    out.insert(0, SET_COL, set_col)
    write_parquet(out, out_path)


def coerce_validate(df: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """``coerce_frame`` + ``validate_frame`` applied to each column's distinct values.

    Same rules as the main synthesis job, but the per-value Python work runs once
    per distinct value instead of once per row (100k-row batches have few).
    """
    cols, valid, reasons = {}, np.ones(len(df), dtype=bool), {}
    for col in schema:
        name = col["name"]
        codes, uniq = pd.factorize(df[name], use_na_sentinel=False)
        one = Schema([col])
        cu = coerce_frame(pd.DataFrame({name: uniq}), one)
        v = validate_frame(cu, one)
        cols[name] = cu[name].take(codes).reset_index(drop=True)
        valid &= v.valid.to_numpy()[codes]
        for k, n in v.reasons.items():
            reasons[k] = reasons.get(k, 0) + n
    return pd.DataFrame(cols), valid, reasons


# --- per cell: attacks and report ----------------------------------------------------------


def attack(
    train_path: str,
    schema_path: str,
    sets_path: str,
    targets_path: str,
    pools_path: str,
    batch_paths: Sequence[str],
    metrics_path: str | None,
    out_json: str,
    out_scores: str,
    out_roc: str,
    out_summary: str,
    job: Mapping[str, Any],
    threads: int = 1,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    data = pd.read_parquet(train_path)
    schema = load_schema(schema_path)
    mia = load_mia(sets_path, targets_path, pools_path)
    proto = read_json(targets_path)["protocol"]
    m = int(job["m"])
    syn = pd.concat([pd.read_parquet(p) for p in batch_paths], ignore_index=True)
    set_ids = np.unique(syn[SET_COL].to_numpy())
    expected = mia.sets["set_id"].to_numpy()
    if not np.array_equal(np.sort(set_ids), np.sort(expected)):
        raise GeneratorError(f"synthetic sets do not match the threat model ({len(set_ids)} of {len(expected)} sets)")
    syn = syn.sort_values(SET_COL, kind="stable")
    enc = Encoder(schema)
    e = enc.encode(syn)
    sets = SyntheticSets(e.num.reshape(len(set_ids), m, -1), e.cat.reshape(len(set_ids), m, -1), enc)
    meta = read_json(metrics_path) if metrics_path else {}
    delta = float(meta.get("delta") or 0.0)
    attacks = make_attacks(job["attacks"], job["attack_options"], job.get("where", "audit"), threads=threads)
    knowledge = mia.knowledge(data, schema, int(proto["n"]), m)
    res = run_attacks(mia, knowledge, sets, attacks, set_ids, float(job["confidence"]), delta=delta)
    agg = aggregate(res.results)
    key = {"dataset": job["dataset"], "generator": job["generator"], "setting": job["setting"]}
    report = {
        **key,
        "threat_model": "targeted membership inference, auxiliary-data attacker knowledge (TAPAS)",
        "protocol": {
            **{k: proto[k] for k in ("n", "n_shadow", "n_eval", "seed")},
            "m": m,
            "attacks": list(job["attacks"]),
            "attack_options": job["attack_options"],
            "confidence": float(job["confidence"]),
            "per_interval_alpha": res.alpha,
            "delta": delta,
            "pools": {"auxiliary": len(mia.attacker_pool), "eval": len(mia.eval_pool)},
        },
        "positive_control": bool(meta.get("positive_control", False)),
        "epsilon_accountant": meta.get("epsilon"),
        "targets": [t.to_json() for t in mia.targets],
        "results": res.results.to_dict(orient="records"),
        "aggregate": agg,
        "timing_seconds": {**res.timings, "total": round(time.perf_counter() - t0, 3)},
    }
    plot_roc(res.scores, res.results, f"{key['dataset']} / {key['generator']} / {key['setting']}", out_roc)
    write_parquet(res.scores, out_scores)
    write_json(report, out_json)
    write_json({**key, **summary_row(agg), "audit_status": "done"}, out_summary)
    w = agg["worst"]
    log.info("audit: worst AUC %.3f, worst eps_lb %.3f", w["auc"]["value"], w["epsilon_lb"]["value"])
    return report


def skipped_summary(out_summary: str, job: Mapping[str, Any]) -> None:
    write_json(
        {
            "dataset": job["dataset"],
            "generator": job["generator"],
            "setting": job["setting"],
            "audit_status": f"skipped ({job['reason']})",
        },
        out_summary,
    )


# --- Snakemake adapters ---------------------------------------------------------------


def shadow_sets_job(sm: Any) -> None:
    shadow_sets(sm.input.train, sm.input.schema, sm.output.sets, sm.output.targets, sm.output.pools, sm.params.job)


def fit_batch_job(sm: Any) -> None:
    log.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES"))
    fit_batch(sm.input.train, sm.input.schema, sm.input.sets, sm.output[0], sm.params.job, threads=sm.threads)


def attack_job(sm: Any) -> None:
    attack(
        sm.input.train, sm.input.schema, sm.input.sets, sm.input.targets, sm.input.pools,
        list(sm.input.batches), sm.input.metrics, sm.output.json, sm.output.scores, sm.output.roc,
        sm.output.summary, sm.params.job, threads=sm.threads,
    )  # fmt: skip


def skipped_job(sm: Any) -> None:
    skipped_summary(sm.output[0], sm.params.job)
