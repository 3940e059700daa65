"""Helper scripts of this checkout (tests/, benchmarks/) as modules.

They are no package, so the benchmarks load them by path; every benchmark is run
as ``python benchmarks/<name>.py``, which puts this folder first on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load(path: Path) -> ModuleType:
    """The script at ``path`` as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tests_helper(name: str) -> ModuleType:
    """``tests/<name>.py`` (great_tiny, generator_settings) as a module."""
    return load(REPO / "tests" / f"{name}.py")


def snakemake(workdir: Path, configfile: Path, cores: int) -> list[str]:
    """The command line of this checkout's workflow on ``configfile``, run in ``workdir`` (add targets/flags).

    Built in one place for the tests and the benchmarks: tests/workflow_command.py.
    """
    return tests_helper("workflow_command").snakemake_command(workdir, configfile, cores)


# Job scripts must import this checkout's package, not another pip-installed one.
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
