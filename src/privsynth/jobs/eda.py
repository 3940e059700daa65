"""Snakemake adapters of the EDA rules (workflow/rules/eda.smk): ``eda_real``, ``eda_synthetic``
(or one ``eda_synthetic_<dataset>`` per dataset with ``eda.batch``) and ``eda_compare``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import eda
from ..io import read_json

__all__ = ["compare_job", "eda_batch_job", "eda_job"]


def _synthetic_title(meta: Mapping[str, Any], df: pd.DataFrame) -> tuple[str, str]:
    title = f"{meta['dataset']} / {meta['generator']} / {meta['setting']} (synthetic)"
    description = f"{len(df)} synthetic rows."
    if meta.get("positive_control"):
        description += " POSITIVE CONTROL: these rows are the training data itself."
    return title, description


def eda_job(sm: Any) -> None:
    df = pd.read_parquet(sm.input.data)
    settings = sm.params.eda
    if "metrics" in sm.input.keys():
        title, description = _synthetic_title(read_json(sm.input.metrics), df)
        settings = eda.synthetic_settings(settings)
    else:
        title = f"{sm.wildcards.dataset} training split (real)"
        description = f"{len(df)} real training rows."
    eda.eda_report(df, sm.output.html, settings, title=title, description=description, threads=sm.threads)


def eda_batch_job(sm: Any) -> None:
    """All synthetic sets of a dataset in one job and one kernel (``eda.batch``)."""
    items = []
    for data, metrics, html in zip(sm.input.data, sm.input.metrics, sm.output.html, strict=True):
        df = pd.read_parquet(data)
        items.append((df, html, *_synthetic_title(read_json(metrics), df)))
    eda.eda_reports(items, eda.synthetic_settings(sm.params.eda), threads=sm.threads)


def compare_job(sm: Any) -> None:
    meta = read_json(sm.input.metrics)
    links = dict(sm.params.links)
    qa = None
    if "qa" in sm.input.keys():
        qa = os.path.relpath(sm.input.qa, Path(sm.output.html).parent)
        links["fidelity report"] = qa
    eda.comparison_page(
        pd.read_parquet(sm.input.train),
        pd.read_parquet(sm.input.synthetic),
        sm.output.html,
        title=f"{meta['dataset']} / {meta['generator']} / {meta['setting']}: real vs synthetic",
        links=links,
        qa_report=qa,
        positive_control=bool(meta.get("positive_control")),
    )
