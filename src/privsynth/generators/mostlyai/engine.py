"""The SDK's local engine: our settings as its configuration, its job logs, its subprocesses."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...schema import FINITE_TYPES, Schema

log = logging.getLogger("privsynth.mostlyai")

TABLE = "data"
MODELS = {"small": "MOSTLY_AI/Small", "medium": "MOSTLY_AI/Medium", "large": "MOSTLY_AI/Large"}
POLL_SECONDS = 2.0


def model_configuration(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Our settings -> the SDK's ``tabular_model_configuration``."""
    dp = settings["differential_privacy"]
    cfg: dict[str, Any] = {
        "model": MODELS[settings["model"]],
        # The SDK caps with None = its own defaults (100 epochs, 14,400 min); we pass
        # explicit huge numbers so "uncapped" means uncapped.
        "max_epochs": settings["max_epochs"] if settings["max_epochs"] is not None else 10_000,
        "max_training_time": (
            settings["max_training_time"] if settings["max_training_time"] is not None else 1_000_000
        ),
        "batch_size": settings["batch_size"],
        "max_sample_size": settings["max_sample_size"],
        "value_protection": bool(settings["value_protection"]),
        # Rare categories are resampled from frequent ones instead of a _RARE_ token,
        # so every generated value stays inside the schema's categories.
        "rare_category_replacement_method": "SAMPLE",
        "enable_flexible_generation": bool(settings["flexible_generation"]),
        # The model report is where the SDK's accuracy comes from (slow on wide tables).
        "enable_model_report": bool(settings["model_report"]),
    }
    if dp is not None:
        cfg["differential_privacy"] = dict(dp)
    return cfg


def column_encodings(schema: Schema) -> list[dict[str, str]]:
    enc = []
    for c in schema:
        if c["type"] in FINITE_TYPES:
            kind = "TABULAR_CATEGORICAL"
        else:
            kind = "TABULAR_NUMERIC_AUTO"
        enc.append({"name": c["name"], "model_encoding_type": kind})
    return enc


def reopen_file_handlers() -> None:
    """Re-attach the job's log file after the SDK's local server started.

    uvicorn configures logging with dictConfig, which closes every existing
    handler; a closed FileHandler opened with mode "w" silently drops records.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, logging.FileHandler) and h.stream is None:
            fresh = logging.FileHandler(h.baseFilename, mode="a")
            fresh.setFormatter(h.formatter)
            fresh.setLevel(h.level)
            root.removeHandler(h)
            root.addHandler(fresh)


def tail(path: Path, pos: int, logger: logging.Logger) -> int:
    """Forward new lines of the SDK's job.log; return the new offset."""
    if not path.is_file():
        return pos
    with open(path, "rb") as fh:
        fh.seek(pos)
        chunk = fh.read()
    # Keep a partial last line for the next poll.
    cut = chunk.rfind(b"\n") + 1
    for line in chunk[:cut].decode(errors="replace").splitlines():
        if line.strip():
            logger.info("%s", line.rstrip())
    return pos + cut


def last_error(path: Path) -> str:
    if not path.is_file():
        return "no job log was written"
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if "ERROR" in ln]
    for ln in reversed(lines):
        if "Exception message:" in ln:
            return ln.split("Exception message:", 1)[1].strip()
    return lines[-1].split(":", 1)[-1].strip() if lines else "see the job log"


def reap_children(timeout: float = 60.0) -> None:
    """Wait for the SDK's job subprocesses before their local_dir is deleted.

    The training subprocess reports DONE, then still probes a few sample rows.
    """
    import psutil

    children = psutil.Process().children(recursive=True)
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for proc in alive:
        log.warning("stopping SDK subprocess %d still running after %.0f s", proc.pid, timeout)
        proc.terminate()
    psutil.wait_procs(alive, timeout=10)
