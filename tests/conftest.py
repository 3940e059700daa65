"""Shared fixtures: the real census file, tiny configs, the workflow runner, and markers derived from fixtures."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import workflow_command
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


def snakemake_env(repo: Path = REPO, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a workflow run: ``repo``'s src/ for its jobs, no model downloads."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(repo / "src"), **(env or {})}


def snakemake_command(workdir: Path, configfile: Path | None = None, *, repo: Path = REPO) -> list[str]:
    """The workflow's command line (tests/workflow_command.py); only a test marked ``e2e`` may build it."""
    _require_e2e()
    return workflow_command.snakemake_command(workdir, configfile, 2, repo / "Snakefile")


def run_snakemake(
    workdir: Path,
    config: dict[str, Any] | None,
    *args: str,
    check: bool = True,
    timeout: float = 1200,
    repo: Path = REPO,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real workflow (``repo``'s Snakefile) in ``workdir`` with ``config`` (written to workdir/config.yaml).

    Tests get it as the ``run_workflow`` fixture, which marks them ``e2e``.
    """
    configfile = None if config is None else write_config(workdir, config)
    cmd = [*snakemake_command(workdir, configfile, repo=repo), *args]
    proc = subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=snakemake_env(repo, env)
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def planned(proc: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    lines = proc.stdout.splitlines()
    start = lines.index("Job stats:") + 3
    counts = {}
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


# What a dry run plans once one cell's synthesis output changes, in the tiny configs (no QA,
# EDA or audits): that cell's per-cell jobs and the grid's summary and report.
AFTER_ONE_CELL = {"fidelity_pairs": 1, "utility": 1, "summary": 1, "report_plots": 1, "report": 1, "all": 1}


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


def default_plan() -> tuple[dict[str, Any], Any, Any]:
    """config/config.yaml validated (defaults filled), its grid and its one-run audit plan."""
    from snakemake.utils import validate

    from privsynth.audit.one_run.plan import OneRunPlan
    from privsynth.config import Grid

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    validate(cfg, str(REPO / "config" / "schema.yaml"))
    grid = Grid(cfg, validate)
    return cfg, grid, OneRunPlan(cfg, grid)


# --- markers from fixtures ------------------------------------------------------------
# A test's markers follow from the fixtures it uses (directly or through other fixtures),
# so they cannot drift from what it runs: `make test-fast` is `-m "not e2e and not heavy"`.
FIXTURE_MARKS = {
    "run_workflow": ("e2e",),  # the real workflow (Snakemake in a subprocess)
    "mostlyai_engine": ("heavy", "mostlyai"),
    "great_engine": ("heavy", "great"),
    "mst_engine": ("heavy", "mst"),
    "gpu_check": ("e2e", "heavy", "gpu"),  # benchmarks/gpu_check.py --cpu: the GPU check on the CPU
    "slurm_cluster": ("heavy", "slurm"),
    "chromium": ("heavy", "chromium"),
}
# Tests that share a machine-wide resource run on one xdist worker (`--dist loadgroup`).
XDIST_GROUPS = {"slurm": "slurm", "chromium": "chromium"}
DERIVED = {m for marks in FIXTURE_MARKS.values() for m in marks}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        hand_written = DERIVED & {m.name for m in item.iter_markers()}
        if hand_written:
            raise pytest.UsageError(
                f"{item.nodeid}: marker(s) {sorted(hand_written)} are derived from fixtures "
                f"(tests/conftest.py FIXTURE_MARKS); use the fixture instead"
            )
        fixtures = set(getattr(item, "fixturenames", ()))
        marks = sorted({m for name, ms in FIXTURE_MARKS.items() if name in fixtures for m in ms})
        for mark in marks:
            item.add_marker(mark)
        for mark, group in XDIST_GROUPS.items():
            if mark in marks:
                item.add_marker(pytest.mark.xdist_group(group))


_CURRENT: list[pytest.Item] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _CURRENT[:] = [item]  # before any fixture of the test is set up


def _require_e2e() -> None:
    """A test that starts the workflow without the fixture would escape `e2e`: fail it."""
    if _CURRENT and _CURRENT[0].get_closest_marker("e2e") is None:
        raise AssertionError(
            f"{_CURRENT[0].nodeid} runs the workflow without the run_workflow fixture "
            "(tests/conftest.py): request it, so the test is marked e2e"
        )


@pytest.fixture(scope="session")
def run_workflow() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_snakemake``: the real workflow; every test that uses it is marked ``e2e``."""
    return run_snakemake


@pytest.fixture
def snakemake_runner(
    tmp_path: Path, run_workflow: Callable[..., subprocess.CompletedProcess[str]]
) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(config: dict[str, Any] | None, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_workflow(tmp_path, config, *args, check=check)

    return run


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is required (apt-get install chromium); .ci/run installs it"
    return exe


@pytest.fixture(scope="session")
def mostlyai_engine() -> ModuleType:
    """MOSTLY AI's local engine, for the tests that train with it (marked ``heavy``, ``mostlyai``)."""
    return importlib.import_module("mostlyai.engine")


@pytest.fixture(scope="session")
def great_engine() -> ModuleType:
    """be-great, for the tests that fine-tune a language model with it (marked ``heavy``, ``great``)."""
    return importlib.import_module("be_great")


@pytest.fixture(scope="session")
def mst_engine() -> ModuleType:
    """Private-PGM, for the tests that fit MST with it (JAX compiles per column; marked ``heavy``, ``mst``)."""
    return importlib.import_module("mbi")
