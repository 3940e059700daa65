"""The training-set size axis (privsynth.train_sizes): grid expansion, seeded subsamples, the report, the workflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, load_test_config
from snakemake.utils import validate

from privsynth import train_sizes
from privsynth.config import Grid
from privsynth.errors import ConfigError
from privsynth.report import train_sizes as report_sizes

SCHEMA = str(REPO / "config" / "schema.yaml")


def _grid(cfg):
    validate(cfg, SCHEMA)
    return Grid(cfg, validate)


def _data_size():
    return yaml.safe_load((REPO / "config" / "data_size.yaml").read_text())


def test_data_size_config_expands_one_dp_setting_into_sizes_capped_by_the_engine():
    from privsynth.audit.one_run.plan import OneRunPlan

    cfg = _data_size()
    grid = _grid(cfg)
    cells = {c.setting: c for c in grid.of(generator="mostlyai", dataset="census")}
    names = ["dp_noise1.5.n2000", "dp_noise1.5.n5000", "dp_noise1.5.n10000", "dp_noise1.5.n20000", "dp_noise1.5.nfull"]
    assert sorted(cells) == sorted(names)  # in place of the plain setting
    sizes = [cells[n].settings["max_sample_size"] for n in names]
    assert sizes == [2000, 5000, 10000, 20000, None] and len(sizes) >= 4
    for n in names:
        s = cells[n].settings
        assert s["differential_privacy"]["noise_multiplier"] == 1.5 and s["differential_privacy"]["delta"] == 1e-5
        # mostlyai caps its rows itself: nothing extra in the job slice; the one-run audit draws at the cap
        assert "train_rows" not in grid.synth_slice("census", "mostlyai", n)
    plan = OneRunPlan(cfg, grid)
    assert plan.release_is_audit("census", "mostlyai", "dp_noise1.5.n2000")
    assert plan.train_slice("census", "mostlyai", "dp_noise1.5.n2000")["cap"] == 2000


def test_a_generator_without_its_own_cap_subsamples_in_the_synthesis_job():
    cfg = load_test_config("tiny")
    cfg["datasets"]["wdbc"]["train_sizes"] = {"generator": "marginals", "setting": "default", "sizes": [50, None]}
    cfg["repeats"] = 2
    grid = _grid(cfg)
    assert sorted(c.setting for c in grid.of(generator="marginals")) == [
        "default.n50",
        "default.n50.r2",
        "default.nfull",
        "default.nfull.r2",
    ]
    assert grid.synth_slice("wdbc", "marginals", "default.n50.r2")["train_rows"] == 50
    assert "train_rows" not in grid.synth_slice("wdbc", "marginals", "default.nfull")
    assert "train_rows" not in grid.synth_slice("wdbc", "copy", "default")  # other cells unchanged


def test_one_run_audit_of_a_subsampled_cell_draws_its_training_set_at_that_size():
    """The audit fit must not subsample its training set again (that would drop canaries by the coins)."""
    from privsynth.audit.one_run.plan import OneRunPlan

    cfg = load_test_config("tiny")
    cfg["datasets"]["wdbc"]["train_sizes"] = {"generator": "marginals", "setting": "default", "sizes": [300, None]}
    cfg["datasets"]["wdbc"]["audit"] = {"one_run": {"enabled": True, "m": 100, "outliers": 10}}
    validate(cfg, SCHEMA)
    grid = Grid(cfg, validate)
    plan = OneRunPlan(cfg, grid)
    assert plan.train_slice("wdbc", "marginals", "default.n300")["cap"] == 300
    assert plan.train_slice("wdbc", "marginals", "default.nfull")["cap"] is None
    fit = plan.fit_slice("wdbc", "marginals", "default.n300")
    assert (
        "train_rows" not in fit and fit["settings"] == grid.synth_slice("wdbc", "marginals", "default.n300")["settings"]
    )


def test_subsample_is_seeded_and_keeps_all_rows_when_asked_for_more():
    df = pd.DataFrame({"a": range(100)})
    a = train_sizes.subsample(df, 10, 3)
    assert len(a) == 10 and a.equals(train_sizes.subsample(df, 10, 3))
    assert not a.equals(train_sizes.subsample(df, 10, 4))
    assert train_sizes.subsample(df, 500, 0) is df and train_sizes.subsample(df, None, 0) is df


@pytest.mark.parametrize(
    "block, message",
    [
        ({"generator": "marginals", "setting": "nope", "sizes": [10]}, "no setting marginals/nope"),
        ({"generator": "marginals", "setting": "default", "sizes": [10, 10]}, "each size once"),
    ],
)
def test_bad_axis_is_one_config_error(block, message):
    cfg = load_test_config("tiny")
    cfg["datasets"]["wdbc"]["train_sizes"] = block
    with pytest.raises(ConfigError, match=message):
        _grid(cfg)


def test_report_table_and_plot(tmp_path):
    axis = train_sizes.Axis("census", "mostlyai", "dp", (2000, None))
    df = pd.DataFrame(
        {
            "dataset": ["census"] * 3,
            "generator": ["mostlyai", "mostlyai", "marginals"],
            "setting": ["dp.nfull", "dp.n2000", "default"],
            "base_setting": ["dp.nfull", "dp.n2000", "default"],
            "train_rows": [38500, 38500, 39074],
            "epsilon": [1.7, 3.1, None],
            "one_run_epsilon_lb": [0.0, 0.1, 0.0],
            "one_run_ceiling": [4.7, 4.7, 4.7],
            "qa_accuracy_overall": [0.85, 0.7, 0.8],
            "utility_auc": [0.81, 0.6, 0.5],
        }
    )
    t = report_sizes.table(df, axis)
    assert list(t["setting"]) == ["dp.n2000", "dp.nfull"]
    assert list(t["train_rows"]) == [2000, 38500]
    report_sizes.make_plot(df, axis, tmp_path / "p.svg")
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<")
    report_sizes.make_plot(df.iloc[2:], axis, tmp_path / "empty.svg")  # no cell of the axis: a placeholder


def test_plans_data_size_yaml(tmp_path, census_path, monkeypatch, run_workflow):
    monkeypatch.setenv("PRIVSYNTH_CENSUS", str(census_path))
    proc = run_workflow(tmp_path, _data_size(), "-n", "--quiet", "rules")
    jobs = dict(ln.split()[:2] for ln in proc.stdout.splitlines() if ln.strip() and ln.split()[-1].isdigit())
    assert jobs["synthesize_mostlyai"] == "5" and jobs["report_train_sizes"] == "1"


def test_tiny_axis_runs_end_to_end(tmp_path, run_workflow):
    cfg = load_test_config("tiny")
    d = cfg["datasets"]["wdbc"]
    d["generators"] = {"copula": {"default": {"sample_size": 200}}}
    d["train_sizes"] = {"generator": "copula", "setting": "default", "sizes": [60, None]}
    d["audit"] = {"enabled": False, "one_run": {"enabled": True, "m": 20, "outliers": 2}}
    run_workflow(tmp_path, cfg)
    t = pd.read_csv(tmp_path / "results" / "wdbc" / "train_sizes.csv")
    assert list(t["setting"]) == ["default.n60", "default.nfull"]
    rows = list(t["train_rows"])
    assert rows[0] == 60 and rows[1] > 300
    assert t["utility_auc"].notna().all() and t["one_run_epsilon_lb"].notna().all()
    assert Path(tmp_path / "results" / "wdbc" / "train_sizes.svg").stat().st_size > 1000
