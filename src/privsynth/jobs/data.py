"""Adapters of the data stage: rules ``fetch_data`` and ``prepare_data`` (``privsynth.datasets``)."""

from __future__ import annotations

from typing import Any

from .. import datasets


def fetch_job(sm: Any) -> None:
    datasets.fetch(sm.output[0], sm.params.job, sm.params.source)


def prepare_job(sm: Any) -> None:
    datasets.prepare(sm.input[0], sm.output.train, sm.output.holdout, sm.output.schema, sm.params.job)
