"""Stale Snakemake locks: a lock left by a killed Snakemake, told apart from a live run's.

Snakemake's lock files (``.snakemake/locks/*.lock``) record no process; a SIGKILLed
Snakemake leaves them behind and the next run stops on a LockException (and
privsynth's killed-job report never runs).  ``python -m privsynth snakemake``
checks for a live Snakemake in the same working directory first.
"""

from __future__ import annotations

import os
from pathlib import Path

# Arguments after which Snakemake takes no lock (or removes it).
NO_LOCK_ARGS = ("-n", "--dry-run", "--dryrun", "--unlock", "--nolock", "--lint", "--list", "-l", "--dag", "--rulegraph")


def workdir_of(argv: list[str], cwd: str | os.PathLike[str]) -> Path:
    """The working directory a snakemake command line runs in (``-d``/``--directory``, else ``cwd``)."""
    for i, a in enumerate(argv):
        if a in ("-d", "--directory") and i + 1 < len(argv):
            return (Path(cwd) / argv[i + 1]).resolve()
        if a.startswith("--directory="):
            return (Path(cwd) / a.split("=", 1)[1]).resolve()
    return Path(cwd).resolve()


def _is_snakemake(argv: list[str]) -> bool:
    return any(Path(a).name == "snakemake" for a in argv[:3]) or "snakemake" in argv[1:3]


def live_snakemake_dirs(proc: Path = Path("/proc")) -> set[Path]:
    """Working directories of the Snakemake processes running on this host (other than this one)."""
    dirs: set[Path] = set()
    for p in proc.glob("[0-9]*"):
        if p.name == str(os.getpid()):
            continue
        try:
            argv = [a.decode(errors="replace") for a in (p / "cmdline").read_bytes().split(b"\0") if a]
            if not argv or not _is_snakemake(argv):
                continue
            dirs.add(workdir_of(argv, os.readlink(p / "cwd")))
        except OSError:
            continue  # gone, or another user's
    return dirs


def stale_lock_message(argv: list[str], cwd: str | os.PathLike[str] = ".", proc: Path = Path("/proc")) -> str | None:
    """One line when ``argv``'s working directory is locked but no Snakemake runs there; else None."""
    if any(a in NO_LOCK_ARGS for a in argv):
        return None
    work = workdir_of(argv, cwd)
    locks = sorted((work / ".snakemake" / "locks").glob("*.lock"))
    if not locks or work in live_snakemake_dirs(proc):
        return None
    return (
        f"stale lock: {work / '.snakemake' / 'locks'} holds {len(locks)} lock file(s) but no Snakemake is running in "
        f"{work} (a killed run left them); clear them with `snakemake --unlock` plus the same -d/--configfile "
        "arguments (or delete that folder), then rerun"
    )
