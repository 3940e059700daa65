"""Adapters of the ML-utility rules ``utility_baseline`` and ``utility`` (``privsynth.utility``)."""

from __future__ import annotations

from typing import Any

from .. import utility, utility_ci


def baseline_job(sm: Any) -> None:
    utility.baseline(sm.input.train, sm.input.holdout, sm.output[0], sm.params.job, threads=sm.threads)


def cell_job(sm: Any) -> None:
    utility.cell(
        sm.input.synthetic,
        sm.input.holdout,
        sm.input.baseline,
        sm.input.metrics,
        sm.output[0],
        sm.params.job,
        threads=sm.threads,
        interval=utility_ci.auc_interval,
    )
