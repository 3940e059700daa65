"""Adapter of the synthesis rules ``synthesize_<generator>`` (``privsynth.synthesize``)."""

from __future__ import annotations

import tempfile
from typing import Any

from ..synthesize import synthesize


def synthesize_job(sm: Any) -> None:
    """Scratch space is a temp dir removed afterwards."""
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
