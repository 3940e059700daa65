"""Shared fixtures: the real census file, tiny configs, and a Snakemake runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from privsynth.datasets import CENSUS_SHA256, CENSUS_URL, download

REPO = Path(__file__).resolve().parents[1]
# Test the code of this checkout even if another checkout is pip-installed: pytest
# puts src/ first on its own sys.path (pyproject: [tool.pytest.ini_options]
# pythonpath), and every subprocess (snakemake, its jobs, benchmarks) inherits
# PYTHONPATH, which comes before site-packages.
os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])


def _census_path() -> Path:
    """../shared/data/census.csv.gz, else $PRIVSYNTH_CENSUS, else a verified (cached) download."""
    shared = REPO.parent / "shared" / "data" / "census.csv.gz"
    if shared.is_file():
        return shared
    env = os.environ.get("PRIVSYNTH_CENSUS")
    if env:
        return Path(env)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "privsynth"
    # pooch.retrieve: downloads only if the cached copy is missing or has another checksum;
    # fails loudly (DataError) without network or with a wrong checksum: no silent skip.
    return download(CENSUS_URL, CENSUS_SHA256, "census", cache, "census.csv.gz")


@pytest.fixture(scope="session")
def census_path() -> Path:
    return _census_path()


def write_config(workdir: Path, config: dict[str, Any]) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_snakemake(
    workdir: Path, config: dict[str, Any] | None, *args: str, check: bool = True, timeout: float = 1200
) -> subprocess.CompletedProcess[str]:
    """Run the real workflow in ``workdir`` with ``config`` (written to workdir/config.yaml)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2"]
    if config is not None:
        cmd += ["--configfile", str(write_config(workdir, config))]
    cmd += list(args)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def tiny_config(**datasets: dict[str, Any]) -> dict[str, Any]:
    """A grid of only these datasets, with QA, EDA and the audit off unless a test turns them on.

    (The audit's default protocol needs 1,000-row training sets: more than tiny data has.)
    """
    for d in datasets.values():
        d.setdefault("audit", {"enabled": False})
    return {"seed": 0, "datasets": datasets, "qa": {"enabled": False}, "eda": {"enabled": False, "compare": False}}


CONFIGS = REPO / "tests" / "configs"


def load_test_config(name: str) -> dict[str, Any]:
    """``tests/configs/<name>.yaml``, a fresh copy each call (tests may change it)."""
    return yaml.safe_load((CONFIGS / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def snakemake_runner(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(config: dict[str, Any] | None, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_snakemake(tmp_path, config, *args, check=check)

    return run


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is required (apt-get install chromium); .ci/run installs it"
    return exe
