"""Fidelity of a synthetic set with mostlyai-qa (accuracy, similarity, distances)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .io import atomic_path, write_json

log = logging.getLogger(__name__)


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{key}_"))
        else:
            out[key] = v
    return out


@contextmanager
def _qa_limits(max_trivariates: int | None, threads: int) -> Iterator[None]:
    """Cap mostlyai-qa's trivariate combinations and set its worker count.

    Trivariate accuracy is computed for every column triple (4,495 for WDBC's 31
    columns, ~35 ms each): it dominates the report's run time. mostlyai-qa 1.10.11
    (pinned) caps the triples, drawn at random, with the module constant
    ``MAX_TRIVARIATES`` (default 10,000); a smaller cap gives an unbiased estimate of
    the mean trivariate accuracy at a fraction of the cost.
    """
    from joblib import parallel_config
    from mostlyai.qa import _accuracy

    saved = _accuracy.MAX_TRIVARIATES
    if max_trivariates is not None:
        _accuracy.MAX_TRIVARIATES = max_trivariates
    try:
        # mostlyai-qa defaults to cpu_count()-1 workers: 1 on a 2-core laptop.
        with parallel_config(n_jobs=max(1, threads)):
            yield
    finally:
        _accuracy.MAX_TRIVARIATES = saved


def qa_report(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    out_html: str | os.PathLike[str],
    out_metrics: str | os.PathLike[str],
    settings: Mapping[str, Any],
    title: str,
    positive_control: bool = False,
    threads: int = 1,
) -> dict[str, Any]:
    """Write the mostlyai-qa HTML report and its metrics; return the metrics."""
    # Imported here: mostlyai-qa is heavy and only the qa rule needs it.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mostlyai import qa

    subtitle = "POSITIVE CONTROL (copies training rows)" if positive_control else ""
    t0 = time.perf_counter()
    with atomic_path(out_html) as tmp_html, _qa_limits(settings.get("max_trivariates"), threads):
        tmp = tmp_html.with_suffix(".html")
        _, model_metrics = qa.report(
            syn_tgt_data=synthetic,
            trn_tgt_data=train,
            hol_tgt_data=holdout,
            report_path=tmp,
            report_title=title,
            report_subtitle=subtitle,
            max_sample_size_accuracy=settings.get("max_sample_size_accuracy"),
            max_sample_size_coherence=settings.get("max_sample_size_coherence"),
            max_sample_size_embeddings=settings.get("max_sample_size_embeddings"),
        )
        Path(tmp).replace(tmp_html)
    seconds = time.perf_counter() - t0
    metrics = {"seconds": round(seconds, 2), **flatten(model_metrics.model_dump() if model_metrics else {})}
    write_json(metrics, out_metrics)
    log.info("mostlyai-qa report in %.1f s: accuracy %.3f", seconds, metrics.get("accuracy_overall") or float("nan"))
    return metrics
