"""Adapter of the rule ``fidelity_pairs`` (``privsynth.pairs``)."""

from __future__ import annotations

from typing import Any

from .. import pairs


def pairs_job(sm: Any) -> None:
    pairs.cell(sm.input.synthetic, sm.input.train, sm.input.holdout, sm.input.metrics, sm.output[0], sm.params.job)
