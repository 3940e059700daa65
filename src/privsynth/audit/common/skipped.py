"""The one writer of "this cell has no such audit" summary rows (rules ``audit_skipped``,
``audit_one_run_skipped``, ``audit_nobox_skipped``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...io import write_json

KEY = ("dataset", "generator", "setting")


def skipped_status(reason: str) -> str:
    """``reason`` as a status: "n/a (...)" as it is (the audit cannot apply to the cell at all),
    a config choice as "skipped (<config key>)"."""
    return reason if reason.startswith("n/a") else f"skipped ({reason})"


def write_skipped(out_path: str, job: Mapping[str, Any], column: str) -> None:
    """The cell's summary row: its key and ``column`` (``audit_status``, ``one_run_status``, ...) saying why."""
    write_json({**{k: job[k] for k in KEY}, column: skipped_status(job["reason"])}, out_path)


__all__ = ["skipped_status", "write_skipped"]
