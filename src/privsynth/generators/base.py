"""The generator interface every synthesizer implements."""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from ..schema import Schema

log = logging.getLogger(__name__)


class Generator(ABC):
    """Fit on a training table, then sample synthetic rows.

    Subclasses import heavy dependencies inside ``fit``/``sample`` so that
    listing or validating generators stays cheap.
    """

    #: registry name (the entry point's name: the module name under ``privsynth.generators`` for a built-in)
    name: ClassVar[str]
    #: True for generators that leak their training data on purpose (audit controls)
    positive_control: ClassVar[bool] = False
    #: True for generators whose output holds no training record (audit controls); checked on every run
    negative_control: ClassVar[bool] = False
    #: one line shown in summaries and reports
    description: ClassVar[str] = ""
    #: the privacy audit's attacks for this family when ``audit.attacks`` is not set
    #: (privsynth.audit.common.attacks registry; docs/audit.md)
    audit_attacks: ClassVar[tuple[str, ...]] = ("groundhog", "closest_distance", "exact_match", "density")
    #: set by the audit's shadow fits: skip what only a release needs (exports, reports)
    for_audit: bool = False
    #: False where there is no model to train again (a file made elsewhere): the shadow-model
    #: and one-run audits, which refit the generator, are n/a for its cells
    refittable: ClassVar[bool] = True

    def __init__(self, workdir: str | Path | None = None, threads: int = 1) -> None:
        # A private scratch directory for this job (model files, engine state).
        self.workdir = Path(workdir) if workdir is not None else None
        self.threads = threads

    @classmethod  # noqa: B027 - optional hook
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        """Reject settings the JSON schema cannot express; raise ConfigError naming ``where``."""

    @abstractmethod
    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        """Train on ``train`` (columns as in ``schema``)."""

    @abstractmethod
    def sample(self, n: int) -> pd.DataFrame:
        """Return ``n`` rows with the schema's columns."""

    def rows_to_sample(self, requested: int) -> int:
        """Rows ``sample`` is asked for after ``fit``: ``requested`` (sample_size, else the training rows)."""
        return requested

    def metrics(self) -> dict[str, Any]:
        """Generator-specific metrics merged into ``metrics.json`` (e.g. epsilon, delta)."""
        return {}


def pick_device(gpu: int, who: str) -> str:
    """``cuda`` when ``gpu`` asks for a GPU and CUDA is usable, else ``cpu``.

    A requested GPU that is not there is a loud WARNING, not a failure: ``who``
    (the generator) runs on the CPU and its metrics.json records ``device: cpu``.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpu <= 0:
        log.info("gpu: 0 - %s runs on the CPU", who)
        return "cpu"
    import torch

    if torch.cuda.is_available():
        log.info("%s runs on %s (CUDA_VISIBLE_DEVICES=%s)", who, torch.cuda.get_device_name(0), visible)
        return "cuda"
    log.warning(
        "WARNING: gpu: %d requested but no CUDA device is usable (CUDA_VISIBLE_DEVICES=%s, torch %s, CUDA build "
        "%s) - %s runs on the CPU, which is much slower; metrics.json records device: cpu. Set gpu: 0 to "
        "silence this.",
        gpu,
        visible,
        torch.__version__,
        torch.version.cuda,
        who,
    )
    return "cpu"
