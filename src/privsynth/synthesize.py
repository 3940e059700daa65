"""The synthesis stage (rules ``synthesize_<generator>``): fit one generator, sample, check.

Plain paths and the job's config slice in, so tests call it without Snakemake;
``privsynth.jobs.synthesize`` is its Snakemake adapter.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import accounting, generators, train_sizes
from .contract import check_control, merge_metrics
from .datasets import load_schema, load_split
from .errors import GeneratorError
from .io import write_json, write_parquet
from .schema import restore_dtypes, validate_frame

log = logging.getLogger("privsynth")


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
    if job.get("train_rows") is not None:  # a train_sizes axis cell (privsynth.train_sizes)
        train = train_sizes.subsample(train, int(job["train_rows"]), seed)
    n = settings.get("sample_size") or len(train)
    cls = generators.load(name)  # a plug-in's code is first imported here, in its job
    cls.check_settings(
        settings, f"datasets.{job['dataset']}.generators.{name}.{job.get('base_setting', job['setting'])}"
    )
    if cls.positive_control:
        log.warning("%s is a POSITIVE CONTROL: its output is the training data itself", name)
    gen = cls(workdir=workdir, threads=threads)
    log.info("fitting %s/%s on %d rows (seed %d)", name, job["setting"], len(train), seed)
    log.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES"))
    t0 = time.perf_counter()
    gen.fit(train.reset_index(drop=True), schema, settings, seed)
    fit_s = time.perf_counter() - t0
    n = gen.rows_to_sample(n)
    log.info("fit done in %.1f s; sampling %d rows", fit_s, n)
    t1 = time.perf_counter()
    syn = gen.sample(n)
    sample_s = time.perf_counter() - t1
    if not isinstance(syn, pd.DataFrame):
        raise GeneratorError(f"{name}: sample() returned {type(syn).__name__}, not a pandas DataFrame")
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
        "epsilon_trained": None,
    }
    # Where the job ran: lets users (and the SLURM test) see which GPU a job was given.
    metrics["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    if getattr(cls, "negative_control", False):
        metrics["negative_control"] = True
    # The cell's identity is privsynth's: generator metrics may not overwrite it (contract.RESERVED).
    metrics = merge_metrics(metrics, gen.metrics(), name)
    kind = "positive" if metrics.get("positive_control") else "negative" if metrics.get("negative_control") else None
    if kind:
        where = f"datasets.{job['dataset']}.generators.{name}.{metrics['base_setting']}"
        metrics.update(check_control(kind, syn, train, schema.names, name, where, train_path, settings.get("path")))
    accounting.annotate(metrics)  # the claim checked from its trace; MISMATCH is logged loudly
    write_parquet(syn, out_synthetic)
    write_json(metrics, out_metrics)
    log.info("wrote %d rows to %s", len(syn), out_synthetic)
    return metrics
