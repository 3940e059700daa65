"""Adapter of the rule ``summary`` (``privsynth.summary``)."""

from __future__ import annotations

import logging
from typing import Any

from .. import manifest, summary

log = logging.getLogger("privsynth")


def summary_job(sm: Any) -> None:
    metrics = list(sm.input.metrics)
    qa = list(sm.input.get("qa", [])) or [None] * len(metrics)
    cells = [{"metrics": m, "qa": q} for m, q in zip(metrics, qa, strict=True)]
    # Every input as its job wrote it (a truncated or edited file is named, not summarised).
    manifest.verify([*metrics, *qa, *sm.input.get("extra", []), *sm.input.get("benchmarks", [])])
    df = summary.build(cells, extras=list(sm.input.get("extra", [])), benchmarks=list(sm.input.get("benchmarks", [])))
    summary.write(df, sm.output[0])
    log.info("summary: %d rows", len(df))
