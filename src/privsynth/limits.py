"""Bounded work: a job timeout per rule, and sample sizes refused when they cannot fit in memory.

A generator that hangs would otherwise hold its job forever, and ``sample_size: 1e8``
runs until the machine runs out of memory; both now stop with one line.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import ConfigError, PrivsynthError

# Bytes one cell of a sampled table costs while a job holds it: ~32 B (an 8-byte number, or
# a pointer plus a shared category string) times ~3 copies (the sample, its restored
# dtypes, the parquet buffer). Measured order of magnitude, deliberately generous.
BYTES_PER_CELL = 96


class JobTimeout(PrivsynthError):
    """The job ran longer than its ``job_timeout``."""


def timeout_minutes(config: Mapping[str, Any], rule: str) -> float | None:
    """``job_timeout.rules.<rule>``, else ``job_timeout.default`` (None: no limit)."""
    t = config.get("job_timeout") or {}
    rules = t.get("rules") or {}
    return rules[rule] if rule in rules else t.get("default")


@contextlib.contextmanager
def job_timeout(config: Mapping[str, Any], rule: str) -> Iterator[None]:
    """Raise JobTimeout in the job's main thread once its time is up (SIGALRM)."""
    minutes = timeout_minutes(config, rule)
    if not minutes or not hasattr(signal, "setitimer"):
        yield
        return
    key = (
        f"job_timeout.rules.{rule}"
        if rule in ((config.get("job_timeout") or {}).get("rules") or {})
        else ("job_timeout.default")
    )

    def expire(signum: int, frame: Any) -> None:
        raise JobTimeout(
            f"the job ran longer than {key} = {minutes:g} min and was stopped; raise it (job_timeout.rules.{rule} "
            "sets this rule's limit) if the job needs more time, or see in this log where it hung"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, float(minutes) * 60)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def memory_limit_bytes(config: Mapping[str, Any]) -> float:
    gb = config.get("max_memory_gb")
    if gb:
        return float(gb) * 1e9
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return float("inf")


def check_rows(rows: int, columns: int, where: str, config: Mapping[str, Any]) -> None:
    """Refuse ``rows`` x ``columns`` when its memory estimate exceeds the limit (one line with the estimate)."""
    need = float(rows) * columns * BYTES_PER_CELL
    limit = memory_limit_bytes(config)
    if need > limit:
        source = "max_memory_gb" if config.get("max_memory_gb") else "this machine's memory; set max_memory_gb"
        raise ConfigError(
            f"{where}: {rows:,} rows x {columns} columns need about {need / 1e9:,.1f} GB ({BYTES_PER_CELL} B per "
            f"value), more than the {limit / 1e9:,.1f} GB allowed ({source} to change it); ask for fewer rows"
        )
