"""The jobs layer: the only code that sees Snakemake's ``snakemake`` object.

One module per rule family (rule name = module): ``jobs/<stage>.py`` holds that
stage's adapters, ``def <name>_job(sm) -> None``, which read ``sm.input``,
``sm.output``, ``sm.params``, ``sm.threads`` and call plain functions of the
domain modules (``datasets``, ``synthesize``, ``fidelity``, ``summary``,
``utility``, ``audit.shadow.stages``, ``audit.one_run.stages``, ...), which take paths and config
slices and never see Snakemake.  A rule's script is two lines::

    from privsynth.jobs import run, <stage>
    run(snakemake, <stage>.<name>_job)

``run`` wraps the adapter in the job's log file and error handling (one ``ERROR:``
line per failed job).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import runstate, slurm
from ..errors import PrivsynthError
from ..limits import job_timeout
from .trace import traced

log = logging.getLogger("privsynth")


def setup_logging(log_path: str | os.PathLike[str] | None) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    handler: logging.Handler
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(fmt)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)


def run(snakemake: Any, body: Callable[[Any], None]) -> None:
    """Run a job body with its log file; on failure end the log with one ``ERROR:`` line."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    # A start marker next to the log, removed when the job ends: one left behind
    # means the previous run of this job was killed (runstate).
    killed = runstate.job_started(log_path, snakemake.rule) if log_path else None
    setup_logging(log_path)
    log.info(
        "job %s started (wildcards: %s) [pid %d on %s]",
        snakemake.rule,
        dict(snakemake.wildcards),
        os.getpid(),
        runstate.hostname(),
    )
    if killed is not None:
        log.warning("previous run of this job: %s", killed.error_line())
        print(
            f"[{snakemake.rule}] note: its previous run was killed before it finished; see {log_path}", file=sys.stderr
        )
    if removed := runstate.clean_stale_scratch():
        log.info("removed scratch space of killed jobs: %s", ", ".join(map(str, removed)))
    if (where := slurm.job_context()) is not None:
        log.info("%s", where)
    t0 = time.perf_counter()
    try:
        runstate.raise_on_sigterm()
        # job_timeout from the whole config (not params: a changed limit reruns nothing).
        with runstate.job_scratch(), job_timeout(getattr(snakemake, "config", None) or {}, snakemake.rule):
            with traced(snakemake.rule, dict(snakemake.wildcards)):  # only with $PRIVSYNTH_TRACE (tests)
                body(snakemake)
        log.info("job %s finished in %.1f s", snakemake.rule, time.perf_counter() - t0)
    except BaseException as exc:  # noqa: BLE001 - report every failure the same way
        if isinstance(exc, KeyboardInterrupt):
            line = "ERROR: interrupted (SIGINT)"
        elif isinstance(exc, PrivsynthError):
            line = f"ERROR: {exc}"
        else:
            log.error("traceback:\n%s", traceback.format_exc())
            line = f"ERROR: {type(exc).__name__}: {exc}".splitlines()[0]
        if log_path:
            with open(log_path, "a") as fh:
                fh.write(line + "\n")
        print(f"[{snakemake.rule}] {line}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        if log_path:
            runstate.job_ended(log_path)
