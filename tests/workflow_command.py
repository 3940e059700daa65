"""The one command line of this checkout's workflow (tests/conftest.py and benchmarks/ build it here).

No pytest here: the benchmarks load this file by path (benchmarks/_checkout.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def snakemake_command(
    workdir: Path, configfile: Path | None = None, cores: int = 2, snakefile: Path | None = None
) -> list[str]:
    """``python -m snakemake`` on ``snakefile`` (this checkout's) in ``workdir``; append targets and flags.

    ``--cores`` comes after ``--configfile``, which takes every word up to the next option, so
    whatever a caller appends (targets included) is never read as a config file.
    """
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile or REPO / "Snakefile"), "-d", str(workdir)]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    return [*cmd, "--cores", str(cores)]
