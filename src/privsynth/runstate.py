"""Jobs that ended without a word: start markers, killed-job notes and scratch cleanup.

A job killed outright (SIGKILL, the out-of-memory killer, a cluster time limit)
cannot write its ``ERROR:`` line.  So every job writes a start marker next to its
log (``<log>.running``: pid, host, start time) and removes it when it ends, with
``job <rule> finished`` or an ``ERROR:`` line.  A marker whose process is gone
belongs to a job that died: the workflow's onstart/onerror hooks append the
``ERROR:`` line the job could not write and say so on the console, and the next
run of that job notes it in its new log (Snakemake deletes the old log first).

Each job also gets its own scratch directory ``privsynth-job-<pid>-<host>-*`` in
the temp dir (``$TMPDIR``/``tempfile.tempdir`` point into it for the job, so
every temporary file of the job and its libraries lands there).  It is removed
when the job ends; one left by a killed job is removed by the next job or run on
that host once its process is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PrivsynthError

MARKER_SUFFIX = ".running"
KILLED = (
    "ERROR: killed: the job ended without finishing or writing an error (SIGKILL, the out-of-memory "
    "killer or a time limit?); pid {pid} on {host}, started {started}"
)
SCRATCH_PREFIX = "privsynth-job-"
_SCRATCH = re.compile(rf"^{SCRATCH_PREFIX}(?P<pid>\d+)-(?P<host>[A-Za-z0-9_]+)-")


def hostname() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname().split(".")[0]) or "localhost"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


@dataclass(frozen=True)
class Unfinished:
    """A job that started and never finished or failed (its marker is still there)."""

    log: Path
    rule: str
    pid: int | None
    host: str | None
    started: str

    def alive_here(self) -> bool:
        """Whether its process is known to be still running (same host, pid alive)."""
        return self.pid is not None and self.host == hostname() and pid_alive(self.pid)

    def error_line(self) -> str:
        return KILLED.format(pid=self.pid or "?", host=self.host or "?", started=self.started)


def marker_path(log: str | os.PathLike[str]) -> Path:
    return Path(str(log) + MARKER_SUFFIX)


def last_line(path: str | os.PathLike[str]) -> str:
    """The last non-empty line of a (log) file, read from its end."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 8192))
            tail = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def unfinished(log: str | os.PathLike[str]) -> Unfinished | None:
    """``Unfinished`` if the job of ``log`` left its start marker behind."""
    try:
        m = json.loads(marker_path(log).read_text())
    except (OSError, ValueError):
        return None
    return Unfinished(Path(log), str(m.get("rule", "?")), m.get("pid"), m.get("host"), str(m.get("started", "?")))


def job_started(log: str | os.PathLike[str], rule: str) -> Unfinished | None:
    """Write this job's start marker; return the previous run's if it died."""
    previous = unfinished(log)
    marker = marker_path(log)
    marker.parent.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    marker.write_text(json.dumps({"rule": rule, "pid": os.getpid(), "host": hostname(), "started": started}) + "\n")
    return previous


def job_ended(log: str | os.PathLike[str]) -> None:
    marker_path(log).unlink(missing_ok=True)


def mark_killed(logs_dir: str | os.PathLike[str]) -> list[Unfinished]:
    """Append the missing ``ERROR:`` line to the log of every job in ``logs_dir`` that died.

    Jobs still running on this host are left alone, and a log is marked once; the
    marker itself stays until the job runs again (which then notes it in its log).
    """
    found: list[Unfinished] = []
    root = Path(logs_dir)
    if not root.is_dir():
        return found
    for marker in sorted(root.rglob("*" + MARKER_SUFFIX)):
        u = unfinished(str(marker)[: -len(MARKER_SUFFIX)])
        if u is None or u.alive_here() or last_line(u.log).startswith("ERROR: killed:"):
            continue
        with open(u.log, "a", encoding="utf-8") as fh:
            fh.write(u.error_line() + "\n")
        found.append(u)
    return found


def report_killed(logs_dir: str | os.PathLike[str], out=None) -> list[Unfinished]:
    """``mark_killed`` plus one console line per job that died."""
    import sys

    found = mark_killed(logs_dir)
    for u in found:
        print(
            f"privsynth: {u.rule} was killed before it finished (no ERROR line: SIGKILL, the out-of-memory "
            f"killer or a time limit?); see {u.log}; it reruns with the next run",
            file=out or sys.stderr,
        )
    return found


# --- interrupts -----------------------------------------------------------------


def graceful_sigint(out: Any = None) -> bool:
    """Make a first SIGINT to Snakemake finish the running jobs instead of abandoning them.

    On SIGINT Snakemake (9.x) stops at once and leaves the outputs of jobs still
    running flagged incomplete, even when those jobs go on to finish (a SIGINT
    sent to Snakemake alone does not stop them): the next run recomputes them.
    Its SIGTERM handler instead waits for running jobs and records them.  Called
    from the onstart hook, once the scheduler has installed that handler, this
    routes the first SIGINT to it; a second SIGINT aborts as before.
    """
    import signal
    import sys

    term = signal.getsignal(signal.SIGTERM)
    if not callable(term) or getattr(term, "__name__", "") != "exit_gracefully":
        return False

    def on_sigint(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print(
            "privsynth: interrupted: finishing the running jobs so their results are kept "
            "(interrupt again to abandon them)",
            file=out or sys.stderr,
        )
        term(signum, frame)

    try:
        signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        return False
    return True


class Terminated(PrivsynthError):
    """The job got SIGTERM (Snakemake aborting it, scancel, a cluster time limit)."""


def raise_on_sigterm() -> None:
    """Turn SIGTERM into an exception, so the job still writes its ERROR line and cleans up."""
    import signal

    def on_sigterm(signum: int, frame: Any) -> None:
        raise Terminated("terminated by SIGTERM (the job was cancelled, hit a time limit, or Snakemake aborted it)")

    try:
        signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread
        pass


# --- scratch space ----------------------------------------------------------------


def clean_stale_scratch(tmp: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove scratch directories of jobs on this host whose process is gone."""
    base = Path(tmp or tempfile.gettempdir())
    me, uid = hostname(), os.getuid()
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for d in entries:
        m = _SCRATCH.match(d.name)
        if m is None or m["host"] != me or int(m["pid"]) == os.getpid():
            continue
        try:
            if not d.is_dir() or d.stat().st_uid != uid or pid_alive(int(m["pid"])):
                continue
        except OSError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


@contextlib.contextmanager
def job_scratch() -> Iterator[Path]:
    """A scratch directory for this job process, used as its temp dir meanwhile."""
    base = tempfile.gettempdir()
    d = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-{hostname()}-", dir=base))
    old_env, old_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(d)
    tempfile.tempdir = str(d)
    try:
        yield d
    finally:
        tempfile.tempdir = old_tempdir
        if old_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_env
        shutil.rmtree(d, ignore_errors=True)
