"""Adapters of the no-box section: rules ``audit_nobox``, ``audit_nobox_skipped`` (``privsynth.audit.nobox.measures``)."""

from __future__ import annotations

from typing import Any

from ..audit.common import skipped
from ..audit.nobox import measures as nobox


def nobox_job(sm: Any) -> None:
    i, o = sm.input, sm.output
    nobox.nobox(i.train, i.holdout, i.schema, i.members, i.synthetic, i.metrics, o.json, o.summary, sm.params.job)


def skipped_job(sm: Any) -> None:
    skipped.write_skipped(sm.output[0], sm.params.job, "nobox_status")
