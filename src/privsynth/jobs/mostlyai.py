"""Snakemake adapters of the mostlyai rules (workflow/rules/generators/mostlyai.smk)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..generators.mostlyai import reap_children, write_comparison
from ..io import write_with
from .synthesize import synthesize_cell

log = logging.getLogger("privsynth.mostlyai")


def synthesize_job(sm: Any) -> None:
    """``privsynth.synthesize.synthesize`` plus the exported generator zip as a third output."""
    # A private local_dir per job (in node-local TMPDIR): parallel jobs share nothing.
    with tempfile.TemporaryDirectory(prefix="privsynth-mostlyai-", ignore_cleanup_errors=True) as workdir:
        try:
            synthesize_cell(sm, workdir)
            exported = Path(workdir) / "generator.zip"
            write_with(lambda tmp: shutil.copyfile(exported, tmp), sm.output.generator)
            log.info("wrote %s", sm.output.generator)
        finally:
            # also on failure: a subprocess still writing would break the cleanup
            reap_children()


def comparison_job(sm: Any) -> None:
    write_comparison(
        list(sm.input.metrics), list(sm.input.get("qa", [])), sm.wildcards.dataset, sm.output.csv, sm.output.md
    )
