"""Adapters of the shadow-model audit: rules ``audit_shadow_sets``, ``audit_fit``,
``audit_attack``, ``audit_skipped`` (``privsynth.audit.shadow.stages``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from ..audit.common import skipped
from ..audit.shadow import stages as shadow

log = logging.getLogger("privsynth.audit")


def shadow_sets_job(sm: Any) -> None:
    shadow.shadow_sets(
        sm.input.train, sm.input.schema, sm.output.sets, sm.output.targets, sm.output.pools, sm.params.job
    )


def fit_batch_job(sm: Any) -> None:
    log.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES"))
    shadow.fit_batch(
        sm.input.train,
        sm.input.schema,
        sm.input.sets,
        sm.output.sets,
        sm.params.job,
        threads=sm.threads,
        out_fits=sm.output.fits,
    )


def attack_job(sm: Any) -> None:
    shadow.attack(
        sm.input.train,
        sm.input.schema,
        sm.input.sets,
        sm.input.targets,
        sm.input.pools,
        list(sm.input.batches),
        sm.input.metrics,
        sm.output.json,
        sm.output.scores,
        sm.output.roc,
        sm.output.summary,
        sm.params.job,
        threads=sm.threads,
        fits_paths=list(sm.input.fits),
    )


def skipped_job(sm: Any) -> None:
    skipped.write_skipped(sm.output[0], sm.params.job, "audit_status")
