"""What reruns and why: params that mean the same, data that moved, code that changed.

Each case runs a tiny grid once, changes one thing and counts the jobs a dry run
plans (docs/failures.md, "What reruns and why").
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, load_test_config, run_snakemake, tiny_config
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
    expected = {
        "synthesize_baseline": 1,
        "fidelity_pairs": 1,
        "utility": 1,
        "summary": 1,
        "report_plots": 1,
        "report": 1,
        "all": 1,
    }
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
        marginals.write_text(original[marginals] + "\n_CHANGED = True\n")
        assert _planned(_run(repo, work, cfg, "-n")) == {
            "synthesize_baseline": 1,
            "fidelity_pairs": 1,
            "utility": 1,
            "summary": 1,
            "report_plots": 1,
            "report": 1,
            "all": 1,
        }
        marginals.write_text(original[marginals])
        # The ML-utility code: every utility job, no synthesis.
        utility.write_text(original[utility] + "\n_CHANGED = True\n")
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


WC = {"dataset": "census", "generator": "marginals", "setting": "default"}


@pytest.fixture
def code_copy(tmp_path, monkeypatch):
    """A copy of src/privsynth that privsynth.identity reads, and every rule's code identity before a change."""
    from privsynth import identity

    src = tmp_path / "privsynth"
    shutil.copytree(identity.SRC, src, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(identity, "SRC", src)
    rules = sorted(identity.FAMILIES)
    return identity, src, rules, {r: identity.code_identity(r, WC) for r in rules}


def test_code_identity_separates_rule_families(code_copy):
    """A fixed attack reruns audit_attack, not synthesis or the shadow fits."""
    identity, src, rules, before = code_copy
    attack = src / "audit/attacks/density.py"  # one attack of the attacks package
    attack.write_text(attack.read_text() + "\n_FIXED = 1\n")
    after = {r: identity.code_identity(r, WC) for r in rules}
    assert [r for r in rules if before[r] != after[r]] == ["audit_attack"]
    # privsynth.synthesize is part of every synthesis identity (the one-run audit's own
    # fit included), jobs/summary.py only of the summary's.
    synth = src / "synthesize.py"
    synth.write_text(synth.read_text().replace('"rows": len(syn),', '"rows": int(len(syn)),'))
    changed = sorted(r for r in rules if identity.code_identity(r, WC) != after[r])
    assert changed == sorted([r for r in rules if r.startswith("synthesize_")] + ["audit_one_run_fit"])


def test_a_changed_page_template_reruns_the_pages_that_use_it(code_copy):
    """Templates are code too: editing the report's template reruns the report rules only."""
    identity, src, rules, before = code_copy
    page = src / "report/templates/index.html.j2"
    page.write_text(page.read_text() + "\n{# changed #}\n")
    assert [r for r in rules if identity.code_identity(r, WC) != before[r]] == ["report", "report_plots"]


def test_every_rule_has_a_code_family():
    """New rules should name what they run in privsynth.identity.FAMILIES."""
    from privsynth.identity import FAMILIES

    rules_dir = REPO / "workflow/rules"
    names = set()
    for smk in rules_dir.rglob("*.smk"):
        for line in smk.read_text().splitlines():
            s = line.strip()
            if s.startswith("rule ") and s.endswith(":"):
                names.add(s[len("rule ") : -1].strip())
    names.discard("all")
    assert names - set(FAMILIES) == set()


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
