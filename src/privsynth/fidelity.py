"""Fidelity of a synthetic set with mostlyai-qa (accuracy, similarity, distances)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
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


def qa_report(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    out_html: str | os.PathLike[str],
    out_metrics: str | os.PathLike[str],
    settings: Mapping[str, Any],
    title: str,
    positive_control: bool = False,
) -> dict[str, Any]:
    """Write the mostlyai-qa HTML report and its metrics; return the metrics."""
    # Imported here: mostlyai-qa is heavy and only the qa rule needs it.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mostlyai import qa

    subtitle = "POSITIVE CONTROL (copies training rows)" if positive_control else ""
    t0 = time.perf_counter()
    with atomic_path(out_html) as tmp_html:
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
