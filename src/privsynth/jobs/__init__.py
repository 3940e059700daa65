"""Job bodies called by the thin scripts in ``workflow/scripts``.

Each function takes plain paths and the job's config slice, so it can be called
from a test without Snakemake.  ``run`` wraps one in logging and error handling.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import datasets, generators, runstate, slurm
from ..errors import ConfigError, DataError, GeneratorError, PrivsynthError
from ..io import read_json, write_json, write_parquet
from ..schema import Schema, identifier_columns, infer_schema, restore_dtypes, validate_frame

log = logging.getLogger("privsynth")


def setup_logging(log_path: str | os.PathLike[str] | None) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    handler: logging.Handler
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(fmt)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)


def run(snakemake: Any, body: Callable[[Any], None]) -> None:
    """Run a job body with its log file; on failure end the log with one ``ERROR:`` line."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    # A start marker next to the log, removed when the job ends: one left behind
    # means the previous run of this job was killed (runstate).
    killed = runstate.job_started(log_path, snakemake.rule) if log_path else None
    setup_logging(log_path)
    log.info(
        "job %s started (wildcards: %s) [pid %d on %s]",
        snakemake.rule, dict(snakemake.wildcards), os.getpid(), runstate.hostname(),
    )  # fmt: skip
    if killed is not None:
        log.warning("previous run of this job: %s", killed.error_line())
        print(
            f"[{snakemake.rule}] note: its previous run was killed before it finished; see {log_path}", file=sys.stderr
        )
    if removed := runstate.clean_stale_scratch():
        log.info("removed scratch space of killed jobs: %s", ", ".join(map(str, removed)))
    if (where := slurm.job_context()) is not None:
        log.info("%s", where)
    t0 = time.perf_counter()
    try:
        runstate.raise_on_sigterm()
        with runstate.job_scratch():
            body(snakemake)
        log.info("job %s finished in %.1f s", snakemake.rule, time.perf_counter() - t0)
    except BaseException as exc:  # noqa: BLE001 - report every failure the same way
        if isinstance(exc, KeyboardInterrupt):
            line = "ERROR: interrupted (SIGINT)"
        elif isinstance(exc, PrivsynthError):
            line = f"ERROR: {exc}"
        else:
            log.error("traceback:\n%s", traceback.format_exc())
            line = f"ERROR: {type(exc).__name__}: {exc}".splitlines()[0]
        if log_path:
            with open(log_path, "a") as fh:
                fh.write(line + "\n")
        print(f"[{snakemake.rule}] {line}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        if log_path:
            runstate.job_ended(log_path)


# --- data ---------------------------------------------------------------------


def fetch(out_raw: str, job: Mapping[str, Any], source: Mapping[str, Any] | None = None) -> None:
    """``job``: the data's identity (config.Grid.fetch_slice); ``source``: where to read it."""
    df = datasets.load_raw(job["dataset"], source if source is not None else job["source"])
    log.info("%s: %d rows x %d columns", job["dataset"], len(df), df.shape[1])
    write_parquet(df, out_raw)


def prepare(raw_path: str, out_train: str, out_holdout: str, out_schema: str, job: Mapping[str, Any]) -> None:
    from ..utility import check_target

    raw = pd.read_parquet(raw_path)
    ds = job["dataset"]
    sch = job.get("schema", {})
    drop = list(sch.get("drop") or [])
    unknown = [c for c in drop if c not in raw.columns]
    if unknown:
        raise ConfigError(
            f"datasets.{ds}.schema.drop: no column {', '.join(map(repr, unknown))} in the data "
            f"(columns are: {', '.join(map(str, raw.columns))})"
        )
    if job.get("target") in drop:
        raise ConfigError(
            f"datasets.{ds}.schema.drop: {job['target']!r} is datasets.{ds}.target; keep it or change the target"
        )
    if drop:
        raw = raw.drop(columns=drop)
        log.info("dropped columns %s (datasets.%s.schema.drop)", drop, ds)
    overrides = sch.get("overrides") or {}
    unknown = [c for c in overrides if c not in raw.columns]
    if unknown:
        raise ConfigError(
            f"datasets.{ds}.schema.overrides: no column {', '.join(map(repr, unknown))} in the data "
            f"(columns are: {', '.join(map(str, raw.columns))})"
        )
    schema = infer_schema(raw, overrides, sch.get("finite_max_int_levels", 2))
    split = job["split"]
    train, holdout = datasets.split(raw, split["holdout_fraction"], split["seed"], job.get("max_rows"))
    # A bad target fails here, before any synthesis, not in the utility jobs at the end.
    check_target(train, job)
    ids = [c for c in identifier_columns(train, schema) if c[0] not in overrides]
    if ids:
        name, distinct, n = ids[0]
        raise DataError(
            f"column {name!r} looks like an identifier ({distinct} distinct values in {n} training rows): "
            f"generators would copy its real values into the synthetic data; remove it with "
            f"datasets.{ds}.schema.drop: [{name}], or keep it as a category with an explicit "
            f"datasets.{ds}.schema.overrides.{name} (e.g. {{type: finite}})"
        )
    check = validate_frame(train, schema)
    if check.n_invalid:
        raise PrivsynthError(
            f"{check.n_invalid} training rows violate the schema after overrides: {check.reasons}; "
            f"fix datasets.{job['dataset']}.schema.overrides"
        )
    log.info("split: %d train / %d holdout rows (seed %d)", len(train), len(holdout), split["seed"])
    write_json(schema.to_json(), out_schema)
    write_parquet(train, out_train, index=True)
    write_parquet(holdout, out_holdout, index=True)


def load_split(path: str | os.PathLike[str]) -> pd.DataFrame:
    return pd.read_parquet(path)


def load_schema(path: str | os.PathLike[str]) -> Schema:
    return Schema.from_json(read_json(path))


# --- synthesis ----------------------------------------------------------------


def synthesize(
    train_path: str,
    schema_path: str,
    out_synthetic: str,
    out_metrics: str,
    job: Mapping[str, Any],
    workdir: str | os.PathLike[str] | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Fit one generator on the training split and write its sample and metrics."""
    train = load_split(train_path)
    schema = load_schema(schema_path)
    name, settings, seed = job["generator"], dict(job["settings"]), int(job["seed"])
    n = settings.get("sample_size") or len(train)
    cls = generators.load(name)
    if cls.positive_control:
        log.warning("%s is a POSITIVE CONTROL: its output is the training data itself", name)
    gen = cls(workdir=workdir, threads=threads)
    log.info("fitting %s/%s on %d rows (seed %d)", name, job["setting"], len(train), seed)
    log.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES"))
    t0 = time.perf_counter()
    gen.fit(train.reset_index(drop=True), schema, settings, seed)
    fit_s = time.perf_counter() - t0
    log.info("fit done in %.1f s; sampling %d rows", fit_s, n)
    t1 = time.perf_counter()
    syn = gen.sample(n)
    sample_s = time.perf_counter() - t1
    check = validate_frame(syn, schema)
    if check.n_invalid:
        raise GeneratorError(
            f"{name} returned {check.n_invalid} of {len(syn)} rows that violate the schema: "
            + ", ".join(f"{k} ({v})" for k, v in sorted(check.reasons.items()))
        )
    if len(syn) != n:
        raise GeneratorError(f"{name} returned {len(syn)} rows, {n} were asked for")
    syn = restore_dtypes(syn.reset_index(drop=True), schema, like=train)
    metrics: dict[str, Any] = {
        "dataset": job["dataset"],
        "generator": name,
        "setting": job["setting"],
        # Repeats of one configured setting share base_setting (see config.Grid).
        "base_setting": job.get("base_setting", job["setting"]),
        "repeat": int(job.get("repeat", 1)),
        "positive_control": cls.positive_control,
        "seed": seed,
        "train_rows": len(train),
        "rows": len(syn),
        "fit_seconds": round(fit_s, 3),
        "sample_seconds": round(sample_s, 3),
        "runtime_seconds": round(fit_s + sample_s, 3),
        "epsilon": None,
        "delta": None,
    }
    # Where the job ran: lets users (and the SLURM test) see which GPU a job was given.
    metrics["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    metrics.update(gen.metrics())
    write_parquet(syn, out_synthetic)
    write_json(metrics, out_metrics)
    log.info("wrote %d rows to %s", len(syn), out_synthetic)
    return metrics


def synthesize_job(sm: Any) -> None:
    """Snakemake adapter for ``synthesize``: scratch space is a temp dir removed afterwards."""
    import tempfile

    # TMPDIR is node-local scratch on most clusters; nothing is shared between jobs.
    with tempfile.TemporaryDirectory(prefix="privsynth-") as workdir:
        synthesize(
            sm.input.train,
            sm.input.schema,
            sm.output.synthetic,
            sm.output.metrics,
            sm.params.job,
            workdir=workdir,
            threads=sm.threads,
        )


def fidelity_qa_job(sm: Any) -> None:
    from ..fidelity import qa_report

    meta = read_json(sm.input.metrics)
    title = f"{meta['dataset']} / {meta['generator']} / {meta['setting']}"
    qa_report(
        pd.read_parquet(sm.input.synthetic),
        load_split(sm.input.train).reset_index(drop=True),
        load_split(sm.input.holdout).reset_index(drop=True),
        sm.output.html,
        sm.output.metrics,
        sm.params.qa,
        title=title,
        positive_control=bool(meta.get("positive_control")),
        threads=sm.threads,
    )


def summary_job(sm: Any) -> None:
    from .. import summary

    metrics = list(sm.input.metrics)
    qa = list(sm.input.get("qa", [])) or [None] * len(metrics)
    cells = [{"metrics": m, "qa": q} for m, q in zip(metrics, qa, strict=True)]
    df = summary.build(cells, extras=list(sm.input.get("extra", [])), benchmarks=list(sm.input.get("benchmarks", [])))
    summary.write(df, sm.output[0])
    log.info("summary: %d rows", len(df))
