"""What reruns and why: params that mean the same, data that moved, code that changed.

Each case runs a tiny grid once, changes one thing and counts the jobs a dry run
plans (docs/failures.md, "Reruns: what runs again, and why"); the code identity's
own tests are in tests/test_code_identity.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import AFTER_ONE_CELL, REPO, load_test_config, run_snakemake, tiny_config
from conftest import planned as _planned

NOTHING = "Nothing to be done"


def _copy_repo(dest: Path) -> Path:
    """The parts of this checkout the workflow runs (so a test may edit its code)."""
    dest.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "src", "config", "envs"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def _run(
    repo: Path, workdir: Path, config: dict[str, Any], *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """The workflow of the checkout ``repo`` (a copy, maybe edited); tests that call it use ``run_workflow``."""
    return run_snakemake(workdir, config, *args, check=check, timeout=900, repo=repo, env=env)


def _reversed(obj: Any) -> Any:
    """The same config with every mapping's keys in reverse order."""
    if isinstance(obj, dict):
        return {k: _reversed(v) for k, v in reversed(list(obj.items()))}
    if isinstance(obj, list):
        return [_reversed(v) for v in obj]
    return obj


def _wdbc_config() -> dict[str, Any]:
    cfg = load_test_config("tiny")
    cfg["datasets"]["wdbc"]["split"] = {"holdout_fraction": 0.2, "seed": 42}
    return cfg


@pytest.fixture(scope="module")
def done_run(tmp_path_factory, run_workflow) -> tuple[Path, Path]:
    """A copy of the repo and a workdir where the tiny wdbc grid has run once."""
    base = tmp_path_factory.mktemp("reruns")
    repo = _copy_repo(base / "repo")
    work = base / "work"
    _run(repo, work, _wdbc_config())
    assert NOTHING in _run(repo, work, _wdbc_config(), "-n").stdout
    return repo, work


# --- 3: params compared canonically ---------------------------------------------------


def test_reordered_keys_and_equal_numbers_rerun_nothing(done_run):
    repo, work = done_run
    cfg = _reversed(_wdbc_config())
    # What yaml.safe_dump(sort_keys=True) of the same config writes, and 42.0 for 42.
    cfg["datasets"]["wdbc"]["split"]["seed"] = 42.0
    text = yaml.safe_dump(cfg, sort_keys=True)
    assert text.index("datasets") < text.index("seed: 0")  # really another order than written by _wdbc_config
    assert NOTHING in _run(repo, work, cfg, "-n").stdout


def test_one_change_in_reordered_config_plans_only_its_jobs(done_run):
    repo, work = done_run
    cfg = _wdbc_config()
    cfg["datasets"]["wdbc"]["generators"]["marginals"]["default"] = {"sample_size": 100}
    expected = {"synthesize_baseline": 1, **AFTER_ONE_CELL}
    assert _planned(_run(repo, work, cfg, "-n")) == expected
    assert _planned(_run(repo, work, _reversed(cfg), "-n")) == expected


def test_canonical_params_sort_nested_blocks_and_normalise_numbers():
    from privsynth.identity import canonical

    a = {"differential_privacy": {"max_epsilon": 1, "noise_multiplier": 1.5, "delta": 1e-5}, "epochs": 3}
    b = {"epochs": 3.0, "differential_privacy": {"delta": 0.00001, "noise_multiplier": 1.5, "max_epsilon": 1.0}}
    assert repr(canonical(a)) == repr(canonical(b))
    assert canonical({"x": {3, 1, 2}, "y": -0.0, "z": True, "n": None}) == {
        "n": None,
        "x": [1, 2, 3],
        "y": 0,
        "z": True,
    }
    assert canonical(float("nan")) != canonical(float("nan"))  # NaN stays a float
    assert canonical(0.5) == 0.5 and isinstance(canonical(2.0), int) and canonical(True) is True


# --- 5: code identity ---------------------------------------------------------------------


def test_changed_library_code_reruns_exactly_its_jobs(done_run):
    from test_code_identity import edit_function

    repo, work = done_run
    cfg = _wdbc_config()
    marginals = repo / "src/privsynth/generators/marginals.py"
    utility = repo / "src/privsynth/utility.py"
    original = {p: p.read_text() for p in (marginals, utility)}
    try:
        # A comment or docstring is no change of the code.
        marginals.write_text(original[marginals].replace('"""', '"""Reworded. ', 1) + "\n# a comment\n")
        assert NOTHING in _run(repo, work, cfg, "-n").stdout
        # A real change in one generator: that generator's cells and what reads them.
        marginals.write_text(original[marginals])
        edit_function(marginals, "MarginalsGenerator.fit")
        assert _planned(_run(repo, work, cfg, "-n")) == {"synthesize_baseline": 1, **AFTER_ONE_CELL}
        marginals.write_text(original[marginals])
        # The ML-utility code: every utility job, no synthesis.
        edit_function(utility, "evaluate")
        assert _planned(_run(repo, work, cfg, "-n")) == {
            "utility_baseline": 1,
            "utility": 2,
            "summary": 1,
            "report_plots": 1,
            "report": 1,
            "all": 1,
        }
    finally:
        for p, text in original.items():
            p.write_text(text)
    assert NOTHING in _run(repo, work, cfg, "-n").stdout


def test_a_rule_without_its_code_param_stops_the_workflow(tmp_path, run_workflow):
    """Every rule with a script lists code=code_of(<script>): the workflow says which one does not."""
    repo = _copy_repo(tmp_path / "repo")
    smk = repo / "workflow/rules/summary.smk"
    smk.write_text(smk.read_text().replace('    params:\n        code=code_of("summary"),\n', ""))
    proc = _run(repo, tmp_path / "work", _wdbc_config(), "-n", check=False)
    assert proc.returncode != 0
    assert "rules without their code identity param: summary (add code=code_of('summary')" in proc.stdout + proc.stderr


# --- 4: data identity is the checksum ---------------------------------------------------


def test_moving_the_census_file_reruns_nothing(tmp_path, census_path, run_workflow):
    repo = REPO
    work = tmp_path / "work"
    ds = {
        "source": {"kind": "census", "path": str(census_path)},
        "max_rows": 300,
        "target": "income",
        "generators": {"copy": {"default": {}}},
    }
    cfg = tiny_config(census=ds)
    _run(repo, work, cfg, "results/census/copy/default/utility.json")
    target = ("results/census/copy/default/utility.json",)
    assert NOTHING in _run(repo, work, cfg, "-n", *target).stdout

    moved = tmp_path / "elsewhere" / "census-copy.csv.gz"
    moved.parent.mkdir()
    shutil.copy(census_path, moved)  # a new path, a new mtime, the same bytes
    cfg["datasets"]["census"]["source"]["path"] = str(moved)
    assert NOTHING in _run(repo, work, cfg, "-n", *target).stdout

    # $PRIVSYNTH_CENSUS instead of source.path, then the download URL (not fetched by -n).
    del cfg["datasets"]["census"]["source"]["path"]
    assert NOTHING in _run(repo, work, cfg, "-n", *target, env={"PRIVSYNTH_CENSUS": str(moved)}).stdout
    assert NOTHING in _run(repo, work, cfg, "-n", *target, env={"PRIVSYNTH_CENSUS": ""}).stdout

    # Other bytes are other data: a different checksum reruns fetch_data and everything after it.
    cfg["datasets"]["census"]["source"]["sha256"] = "0" * 64
    assert _planned(_run(repo, work, cfg, "-n", *target)) == {
        "fetch_data": 1,
        "prepare_data": 1,
        "synthesize_baseline": 1,
        "utility_baseline": 1,
        "utility": 1,
    }


def test_local_file_without_checksum_is_identified_by_content(tmp_path):
    from privsynth.datasets import source_identity

    a = tmp_path / "a.csv"
    a.write_text("x,y\n1,2\n")
    b = tmp_path / "sub" / "b.csv"
    b.parent.mkdir()
    shutil.copy(a, b)
    ida = source_identity("t", {"kind": "csv", "path": str(a)})
    assert ida == source_identity("t", {"kind": "csv", "path": str(b)})
    assert "path" not in ida and len(ida["sha256"]) == 64
    b.write_text("x,y\n1,3\n")  # edited in place: other data, so it reruns
    assert source_identity("t", {"kind": "csv", "path": str(b)}) != ida


def test_data_identity_keeps_how_the_bytes_are_read():
    from privsynth.datasets import source_identity

    sha = "a" * 64
    base = {"kind": "csv", "path": "/x/t.csv", "sha256": sha}
    assert source_identity("t", base) == source_identity("t", {**base, "path": "/elsewhere/t.csv"})
    assert source_identity("t", base) != source_identity("t", {**base, "encoding": "latin-1"})
    assert source_identity("t", base) != source_identity("t", {**base, "columns": ["a", "b"]})
