"""Adapter of the synthesis rules ``synthesize_<generator>`` (``privsynth.synthesize``)."""

from __future__ import annotations

import tempfile
from typing import Any

from ..synthesize import synthesize


def synthesize_cell(sm: Any, workdir: str) -> None:
    """``privsynth.synthesize.synthesize`` on the job's declared files: train, schema -> synthetic, metrics.

    The one place that maps a synthesis job's inputs and outputs; the mostlyai rule
    and the one-run audit's own fit call it too.
    """
    synthesize(
        sm.input.train,
        sm.input.schema,
        sm.output.synthetic,
        sm.output.metrics,
        sm.params.job,
        workdir=workdir,
        threads=sm.threads,
    )


def synthesize_job(sm: Any) -> None:
    """Scratch space is a temp dir removed afterwards."""
    # TMPDIR is node-local scratch on most clusters; nothing is shared between jobs.
    with tempfile.TemporaryDirectory(prefix="privsynth-") as workdir:
        synthesize_cell(sm, workdir)
