"""The shadow-model audit's stages over files (rules ``audit_shadow_sets``, ``audit_fit``,
``audit_attack``, ``audit_skipped``; adapters in ``privsynth.jobs.audit``).

Each takes plain paths and its config slice, so tests call it without Snakemake.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ... import generators
from ...datasets import load_schema
from ...errors import GeneratorError
from ...io import read_json, write_json, write_parquet
from ...schema import Schema, check_columns, coerce_frame, restore_dtypes, validate_frame
from ..common.attacks import SyntheticSets, make_attacks
from ..common.encoding import Encoder
from ..common.threat_model import AuditProtocol, TargetedMIA
from .report import STATEMENTS_PER_RESULT, aggregate, plot_roc, run_attacks, summary_row

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
    train_path: str,
    schema_path: str,
    sets_path: str,
    out_path: str,
    job: Mapping[str, Any],
    threads: int = 1,
    out_fits: str | None = None,
) -> None:
    """Fit the generator on each training set of the batch and sample m rows from it.

    Each set's output is written as it comes (``<out_path>.parts/set_<id>.parquet``
    plus its fit's metrics, ``set_<id>.json``, written last as the commit mark); a
    rerun after a crash resumes with the missing sets.  The parts carry a
    fingerprint of the job and of the sets' rows and seeds: a changed config or
    threat model starts afresh.  At the end the batch is validated, written
    atomically, and the parts are removed.  ``out_fits``: every fit's own metrics
    (accountant epsilon/delta from ``metrics()``, training rows, seconds).
    """
    data = pd.read_parquet(train_path)
    schema = load_schema(schema_path)
    sets = pd.read_parquet(sets_path).set_index("set_id").loc[list(job["sets"])]
    name, settings, m = job["generator"], dict(job["settings"]), int(job["m"])
    cls = generators.load(name)
    parts = Path(f"{out_path}.parts")
    fingerprint = _fingerprint(job, sets)
    if parts.exists() and _read_fingerprint(parts) != fingerprint:
        log.info("discarding stale partial results in %s (job or sets changed)", parts)
        shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    write_json({"fingerprint": fingerprint}, parts / "fingerprint.json")
    frames, fits = [], []
    t0 = time.perf_counter()
    resumed = 0
    for i, (set_id, row) in enumerate(sets.iterrows(), 1):
        part, meta_path = parts / f"set_{int(set_id)}.parquet", parts / f"set_{int(set_id)}.json"
        if meta_path.exists() and part.exists():
            frames.append(pd.read_parquet(part))
            fits.append(read_json(meta_path))
            resumed += 1
            continue
        train = data.loc[np.asarray(row["rows"], dtype=np.int64)].reset_index(drop=True)
        t1 = time.perf_counter()
        # Scratch space per run, removed afterwards (as for the main synthesis job).
        with tempfile.TemporaryDirectory(prefix="privsynth-audit-") as workdir:
            gen = cls(workdir=workdir, threads=threads)
            gen.for_audit = True  # skip what only a release needs (e.g. mostlyai's generator export)
            try:
                gen.fit(train, schema, settings, int(row["seed"]))
                syn = gen.sample(m)
                gm = gen.metrics()
            except GeneratorError as exc:
                raise GeneratorError(f"shadow set {set_id}: {exc}") from None
        if len(syn) != m:
            raise GeneratorError(f"{name} on shadow set {set_id} returned {len(syn)} rows, {m} were asked for")
        check_columns(syn, schema, f"{name} output on shadow set {set_id}")
        frame = syn[schema.names].reset_index(drop=True).assign(**{SET_COL: int(set_id)})
        fit = {
            "set_id": int(set_id),
            "role": str(row["role"]),
            "rows": len(train),
            "training_rows": _training_rows(settings, len(train)),
            "epsilon": _num(gm.get("epsilon")),
            "delta": _num(gm.get("delta")),
            "seconds": round(time.perf_counter() - t1, 3),
        }
        write_parquet(frame, part)
        write_json(fit, meta_path)
        frames.append(frame)
        fits.append(fit)
        if i % 10 == 0 or i == len(sets):
            log.info("%s/%s: %d/%d shadow sets (%.1f s)", name, job["setting"], i, len(sets), time.perf_counter() - t0)
    if resumed:
        log.info("resumed %d of %d shadow sets from %s", resumed, len(sets), parts)
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
    if out_fits is not None:
        write_json({"generator": name, "setting": job["setting"], "fits": fits}, out_fits)
    write_parquet(out, out_path)
    shutil.rmtree(parts, ignore_errors=True)


def _training_rows(settings: Mapping[str, Any], rows: int) -> int:
    """Rows the generator trains on: its own cap (``max_sample_size``, mostlyai) applies."""
    cap = settings.get("max_sample_size")
    return int(min(rows, cap)) if cap else int(rows)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _fingerprint(job: Mapping[str, Any], sets: pd.DataFrame) -> str:
    h = hashlib.sha256(json.dumps(dict(job), sort_keys=True, default=str).encode())
    for set_id, row in sets.iterrows():
        h.update(f"{set_id}:{row['seed']}:".encode())
        h.update(np.asarray(row["rows"], dtype=np.int64).tobytes())
    return h.hexdigest()


def _read_fingerprint(parts: Path) -> str | None:
    try:
        return read_json(parts / "fingerprint.json")["fingerprint"]
    except (OSError, ValueError, KeyError):
        return None


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
    fits_paths: Sequence[str] = (),
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
    syn = syn.sort_values(SET_COL, kind="stable").reset_index(drop=True)
    enc = Encoder(schema)
    e = enc.encode(syn)
    S = len(set_ids)
    sets = SyntheticSets(
        e.num.reshape(S, m, -1), e.cat.reshape(S, m, -1), enc, raw=e.raw.reshape(S, m, -1), frame=syn[schema.names]
    )
    meta = read_json(metrics_path) if metrics_path else {}
    fits = [f for p in fits_paths for f in read_json(p)["fits"]]
    accountant = fits_accountant(fits)
    delta = accountant["delta"] if accountant["delta"] is not None else float(meta.get("delta") or 0.0)
    seed = int(job.get("seed", proto.get("seed", 0)))
    attacks = make_attacks(job["attacks"], job["attack_options"], job.get("where", "audit"), seed=seed, threads=threads)
    knowledge = mia.knowledge(data, schema, int(proto["n"]), m)
    res = run_attacks(mia, knowledge, sets, attacks, set_ids, float(job["confidence"]), delta=delta, seed=seed)
    agg = aggregate(res.results)
    key = {"dataset": job["dataset"], "generator": job["generator"], "setting": job["setting"]}
    warnings = release_warnings(job, int(proto["n"]), len(mia.targets), len(data), fits, m)
    eps_claim = accountant["eval"]["max"]
    lb = agg["worst"]["epsilon_lb"]["value"]
    contradicts = None if eps_claim is None or lb is None else bool(lb > eps_claim + 1e-9)
    for w in warnings:
        log.warning("audit: %s", w)
    report = {
        **key,
        "threat_model": "targeted membership inference, auxiliary-data attacker knowledge (TAPAS)",
        "neighbouring_relation": "add/remove: each target is added to one set of a pair of training sets",
        "guarantee": (
            f"all {res.statements} intervals and bounds of this file (AUC intervals, epsilon lower bounds, "
            f"TPR intervals: {STATEMENTS_PER_RESULT} per target and attack) hold simultaneously with probability "
            f">= {float(job['confidence'])} (Bonferroni, per-statement alpha {res.alpha:.3g}), over the "
            f"{len(set_ids)} training sets' draw and the generator's randomness; point estimates "
            "(auc, accuracy, advantage, tpr, fpr) carry no guarantee"
        ),
        "protocol": {
            **{k: proto[k] for k in ("n", "n_shadow", "n_eval", "seed")},
            "base_rows": int(proto["n"]) - len(mia.targets),
            "m": m,
            "attacks": list(job["attacks"]),
            "attack_options": job["attack_options"],
            "confidence": float(job["confidence"]),
            "statements": res.statements,
            "per_interval_alpha": res.alpha,
            "delta": delta,
            "pools": {"auxiliary": len(mia.attacker_pool), "eval": len(mia.eval_pool)},
        },
        "positive_control": bool(meta.get("positive_control", False)),
        "epsilon_accountant": meta.get("epsilon"),
        "epsilon_accountant_audit_fits": accountant,
        "contradicts_dp_claim": contradicts,
        "warnings": warnings,
        "targets": [t.to_json() for t in mia.targets],
        "results": res.results.to_dict(orient="records"),
        "aggregate": agg,
        "fits": fits,
        "timing_seconds": {**res.timings, "total": round(time.perf_counter() - t0, 3)},
    }
    plot_roc(res.scores, res.results, f"{key['dataset']} / {key['generator']} / {key['setting']}", out_roc)
    write_parquet(res.scores, out_scores)
    write_json(report, out_json)
    row = {
        **key,
        **summary_row(agg),
        "audit_epsilon_accountant": eps_claim,
        "audit_contradicts_dp": contradicts,
        "audit_neighbouring": "add/remove",
        "audit_warnings": len(warnings),
        "audit_status": "done",
    }
    write_json(row, out_summary)
    w = agg["worst"]
    log.info("audit: worst AUC %s, worst eps_lb %s (worst of %d targets)", w["auc"]["value"], lb, agg["targets"])
    return report


def fits_accountant(fits: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The shadow fits' own accountant epsilon (min/median/max per role) and the largest delta.

    The audited bound is a bound for the mixture over evaluation fits, so it refutes
    a DP claim only above the largest evaluation fit's epsilon (``eval.max``); null
    when any evaluation fit has no accountant epsilon."""
    out: dict[str, Any] = {}
    for role in ("shadow", "eval"):
        eps = [f.get("epsilon") for f in fits if f.get("role") == role]
        have = [e for e in eps if e is not None]
        ok = bool(eps) and len(have) == len(eps)
        out[role] = {
            "fits": len(eps),
            "with_epsilon": len(have),
            "min": float(min(have)) if ok else None,
            "median": float(np.median(have)) if ok else None,
            "max": float(max(have)) if ok else None,
        }
    deltas = [f["delta"] for f in fits if f.get("delta") is not None]
    out["delta"] = float(max(deltas)) if deltas else None
    return out


def release_warnings(
    job: Mapping[str, Any], n: int, k: int, n_train: int, fits: Sequence[Mapping[str, Any]], m: int
) -> list[str]:
    """Where the shadow fits differ from the release in training rows or sample size,
    their epsilon (and leakage) differs too: say so."""
    settings = dict(job.get("settings") or {})
    rel_n = _training_rows(settings, n_train)
    rel_m = int(settings.get("sample_size") or n_train)
    rows = sorted({int(f["training_rows"]) for f in fits}) or sorted({_training_rows(settings, n - k), n})
    out = []
    if rows[0] != rel_n or rows[-1] != rel_n:
        out.append(
            f"shadow fits train on {rows[0]}-{rows[-1]} rows, the release on {rel_n} "
            f"({'the generator cap' if rel_n < n_train else 'the training split'}): a DP accountant's epsilon "
            "and the leakage depend on the training size, so the audit measures the shadow fits' "
            "privacy, not the release's (compare with epsilon_accountant_audit_fits)"
        )
    if m != rel_m:
        out.append(f"shadow fits sample m = {m} rows, the release {rel_m}: attacks see a different amount of output")
    return out
