"""End-to-end behaviour of the Snakemake workflow on tiny grids."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import CONFIGS, REPO, load_test_config, tiny_config
from conftest import planned as _planned
from test_docs import readme_rerun_claim

# tests/configs/tiny.yaml: WDBC with copy and marginals, audit/QA/EDA off.
WDBC = load_test_config("tiny")["datasets"]["wdbc"]


def _census(census_path: Path, **extra) -> dict:
    return {
        "source": {"kind": "census", "path": str(census_path)},
        "max_rows": 1500,
        "target": "income",
        "audit": {"enabled": False},
        "generators": {"copy": {"default": {}}, "marginals": {"default": {}, "small": {"sample_size": 200}}},
        **extra,
    }


# --- the test grids plan ---------------------------------------------------------------
# (Bad configurations: tests/test_bad_inputs.py checks them in-process, and once through Snakemake.)


@pytest.mark.parametrize("name", sorted(p.stem for p in CONFIGS.glob("*.yaml")))
def test_test_configs_plan(tmp_path, name, run_workflow):
    """Every tests/configs/*.yaml is a grid a user can run: it plans (snakemake -n) as it is."""
    proc = run_workflow(tmp_path, load_test_config(name), "-n")
    planned = _planned(proc)
    assert planned["summary"] == 1 and planned["report"] == 1, planned


# --- bad data: the job fails with a one-line cause, nothing written ---------------------


def test_missing_dataset_path_fails_job_with_cause(tmp_path, run_workflow):
    cfg = tiny_config(wdbc={**WDBC, "source": {"kind": "wdbc", "path": str(tmp_path / "missing.csv")}})
    proc = run_workflow(tmp_path, cfg, check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/fetch_data/wdbc.log").read_text().strip().splitlines()
    assert log[-1] == f"ERROR: datasets.wdbc.source.path: file not found: {tmp_path / 'missing.csv'}"
    assert not (tmp_path / "results/wdbc/data/raw.parquet").exists()


def test_csv_with_wrong_columns_fails_job(tmp_path, run_workflow):
    from sklearn.datasets import load_breast_cancer

    csv = tmp_path / "wdbc.csv"
    load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"}).to_csv(csv, index=False)
    cfg = tiny_config(wdbc={**WDBC, "source": {"kind": "wdbc", "path": str(csv)}})
    proc = run_workflow(tmp_path, cfg, check=False)
    assert proc.returncode != 0
    last = (tmp_path / "results/logs/fetch_data/wdbc.log").read_text().strip().splitlines()[-1]
    assert last.startswith("ERROR: columns of") and "(missing: target; unexpected: diagnosis)" in last
    assert not list((tmp_path / "results/wdbc/data").glob("*.parquet"))


def test_checksum_mismatch_fails_job_and_writes_nothing(tmp_path, census_path, run_workflow):
    cfg = tiny_config(census=_census(census_path))
    cfg["datasets"]["census"]["source"]["sha256"] = "0" * 64
    proc = run_workflow(tmp_path, cfg, check=False)
    assert proc.returncode != 0
    last = (tmp_path / "results/logs/fetch_data/census.log").read_text().strip().splitlines()[-1]
    assert last.startswith("ERROR: checksum mismatch for census")
    assert not list((tmp_path / "results/census/data").glob("*.parquet*"))


def test_failing_generator_fails_only_its_job_and_rerun_resumes(tmp_path, run_workflow, exploded_run):
    env_plugins = str(Path(__file__).parent / "plugins")
    cfg = tiny_config(wdbc={**WDBC, "generators": {**WDBC["generators"], "explode": {"bad": {"message": "kaput"}}}})
    os.environ["PRIVSYNTH_PLUGINS"] = env_plugins
    try:
        shared_cfg, proc = exploded_run  # this grid, run once for this test and test_failures.py (a copy)
        assert cfg == shared_cfg
        assert proc.returncode != 0
        log = (tmp_path / "results/logs/synthesize/wdbc/explode/bad.log").read_text().strip().splitlines()
        assert log[-1] == "ERROR: explode: kaput"
        assert not (tmp_path / "results/wdbc/explode/bad").exists() or not any(
            (tmp_path / "results/wdbc/explode/bad").iterdir()
        )
        # The other generators finished (keep-going comes from the default profile's
        # semantics; here it is passed explicitly since tests use -d).
        for gen in ("copy", "marginals"):
            assert (tmp_path / f"results/wdbc/{gen}/default/synthetic.parquet").exists()
        # Fix the config: the rerun only does what is left.
        cfg["datasets"]["wdbc"]["generators"].pop("explode")
        proc = run_workflow(tmp_path, cfg, "-n")
        assert _planned(proc) == {"summary": 1, "report_plots": 1, "report": 1, "all": 1}
    finally:
        os.environ.pop("PRIVSYNTH_PLUGINS", None)


# --- a whole run, and partial reruns -------------------------------------------------------


def test_run_rerun_only_what_changed(tmp_path, census_path, run_workflow):
    cfg = tiny_config(wdbc=json.loads(json.dumps(WDBC)), census=_census(census_path))
    cfg["qa"] = {
        "enabled": True,
        "max_sample_size_accuracy": 300,
        "max_sample_size_embeddings": 60,
        "max_trivariates": 20,
    }
    run_workflow(tmp_path, cfg)
    res = tmp_path / "results"
    summary = pd.read_csv(res / "summary.csv")
    assert len(summary) == 5
    assert set(summary["label"]) >= {"copy/default (positive control)", "marginals/small"}
    assert summary.loc[summary.generator == "copy", "positive_control"].all()
    assert summary["qa_accuracy_overall"].between(0, 1).all()
    small = summary[summary.setting == "small"].iloc[0]
    assert small["rows"] == 200 and pd.isna(small["epsilon"])
    for ds in ("census", "wdbc"):
        schema = json.loads((res / ds / "data/schema.json").read_text())
        assert {c["type"] for c in schema} <= {"finite", "countable", "real"}
        for cell in ("copy/default", "marginals/default"):
            assert (res / ds / cell / "qa/report.html").stat().st_size > 10_000
            assert json.loads((res / ds / cell / "metrics.json").read_text())["seed"] == 0

    # Nothing changed: nothing to do.
    assert "Nothing to be done" in run_workflow(tmp_path, cfg, "-n").stdout

    # One setting of one generator changed: only its jobs and the summary rerun.
    cfg["datasets"]["census"]["generators"]["marginals"]["small"]["sample_size"] = 300
    planned = _planned(run_workflow(tmp_path, cfg, "-n"))
    assert planned == {
        "synthesize_baseline": 1,
        "fidelity_qa": 1,
        "fidelity_pairs": 1,
        "utility": 1,
        "summary": 1,
        "report_plots": 2,
        "report": 1,
        "all": 1,
    }, planned
    assert _as_claimed(planned) == readme_rerun_claim("one setting")  # README, "Partial reruns"

    # The split seed changed: everything downstream of data prep for that dataset reruns.
    cfg["datasets"]["census"]["generators"]["marginals"]["small"]["sample_size"] = 200
    cfg["datasets"]["census"]["split"] = {"seed": 7}
    planned = _planned(run_workflow(tmp_path, cfg, "-n"))
    assert planned == {
        "prepare_data": 1,
        "synthesize_baseline": 3,
        "fidelity_qa": 3,
        "fidelity_pairs": 3,
        "utility_baseline": 1,
        "utility": 3,
        "summary": 1,
        "report_plots": 2,
        "report": 1,
        "all": 1,
    }, planned
    assert _as_claimed(planned) == readme_rerun_claim("split seed")


def _as_claimed(planned: dict[str, int]) -> set[str]:
    """A dry run's rules in the README's words (``synthesize_*``; ``all`` unsaid)."""
    return {"synthesize_*" if r.startswith("synthesize_") else r for r in planned if r != "all"}


def test_default_config_plans_the_full_grid(tmp_path, census_path, run_workflow):
    env_cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert set(env_cfg["datasets"]) == {"census", "wdbc"}
    # With --config alone (no file) the default grid is still planned (test_bad_inputs.py, item 9):
    # one dry run of the full grid checks both.
    proc = run_workflow(tmp_path, None, "--config", "seed=3", "-n")
    planned = _planned(proc)
    assert planned["fetch_data"] == 2 and planned["summary"] == 1
