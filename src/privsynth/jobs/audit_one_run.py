"""Adapters of the one-run canary audit: rules ``audit_one_run_canaries``,
``audit_one_run_train``, ``audit_one_run_fit``, ``audit_one_run_attack``,
``audit_one_run_skipped`` (``privsynth.audit.one_run.stages``; the fit is ``privsynth.synthesize``)."""

from __future__ import annotations

import tempfile
from typing import Any

from ..audit.common import skipped
from ..audit.one_run import stages as one_run
from .synthesize import synthesize_cell


def canaries_job(sm: Any) -> None:
    one_run.canaries(sm.input.train, sm.input.schema, sm.output[0], sm.params.job)


def train_job(sm: Any) -> None:
    one_run.audit_train(sm.input.train, sm.input.canaries, sm.output.train, sm.output.info, sm.params.job)


def fit_job(sm: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="privsynth-one-run-") as workdir:
        synthesize_cell(sm, workdir)


def attack_job(sm: Any) -> None:
    i, o = sm.input, sm.output
    one_run.attack(
        i.train,
        i.schema,
        i.holdout,
        i.canaries,
        i.audit_train,
        i.info,
        i.synthetic,
        i.metrics,
        o.json,
        o.scores,
        o.summary,
        sm.params.job,
    )


def skipped_job(sm: Any) -> None:
    skipped.write_skipped(sm.output[0], sm.params.job, "one_run_status")
