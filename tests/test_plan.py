"""The one plan (privsynth.plan) and the validation it starts with (privsynth.validation).

Which jobs the workflow plans is checked against a commit before a change by
``benchmarks/plan_jobs.py`` (every job's rule, inputs, outputs, params); the
workflow tests run the plan end to end.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import REPO, tiny_config

from privsynth import generators, partial, paths, validation
from privsynth.audit.nobox import plan as nobox_plan
from privsynth.plan import SUMMARY_FILES, Plan, summary_file_templates

SCHEMA = REPO / "config" / "schema.yaml"
CONFIGS = sorted(p for p in (REPO / "config").glob("*.yaml") if p.name != "schema.yaml") + sorted(
    (REPO / "tests" / "configs").glob("*.yaml")
)


def _settings(cfg: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (gen, s or {})
        for d in cfg["datasets"].values()
        for gen, by_name in (d.get("generators") or {}).items()
        for s in (by_name or {}).values()
    ]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_cached_validation_fills_what_snakemakes_validate_fills(path: Path) -> None:
    from snakemake.utils import validate

    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    ours, theirs = copy.deepcopy(cfg), copy.deepcopy(cfg)
    check = validation.Validation()
    check(ours, SCHEMA)
    validate(theirs, str(SCHEMA))
    assert ours == theirs
    settings = _settings(ours)
    assert settings
    for gen, s in settings:
        schema = generators.settings_schema(gen)
        a, b = copy.deepcopy(s), copy.deepcopy(s)
        check(a, schema)
        validate(b, str(schema))
        assert a == b, gen


def test_cached_validation_rejects_what_snakemake_rejects_and_shares_no_default() -> None:
    from snakemake.utils import validate

    schema = generators.settings_schema("mostlyai")
    check = validation.Validation()
    bad = {"differential_privacy": {"noise_multiplier": 0}}
    with pytest.raises(Exception, match="less than or equal to the minimum"):
        check(copy.deepcopy(bad), schema)
    with pytest.raises(Exception, match="less than or equal to the minimum"):
        validate(copy.deepcopy(bad), str(schema))
    one, two = {}, {}
    check(one, schema)
    check(two, schema)
    assert one == two
    shared = [k for k, v in one.items() if isinstance(v, (dict, list)) and v is two[k]]
    assert not shared, shared  # a mutable default is copied into each instance


def test_a_generator_schema_is_parsed_once_per_plan_not_once_per_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real = validation.load_yaml
    monkeypatch.setattr(validation, "load_yaml", lambda p: loads.append(Path(p).name) or real(p))
    cfg = tiny_config(wdbc={"source": {"kind": "wdbc"}, "generators": {"marginals": {f"s{i}": {} for i in range(40)}}})
    plan = Plan.start(cfg, SCHEMA)
    assert len(plan.cells) == 40
    assert sorted(loads) == ["marginals.yaml", "schema.yaml"]


def _default_plan(name: str = "config.yaml") -> Plan:
    cfg = yaml.safe_load((REPO / "config" / name).read_text(encoding="utf-8"))
    return Plan.start(cfg, SCHEMA)


def test_every_cell_has_one_summary_file_per_stage_and_the_summary_reads_them_all() -> None:
    plan = _default_plan()
    templates = summary_file_templates()
    stages = {stage for stage, _, _ in SUMMARY_FILES}
    for key in plan.cells:
        files = plan.summary_extras(key)
        # one file per stage that runs, each a file the fallback of privsynth.partial looks for
        assert 0 < len(files) <= len(stages)
        assert all(any(f == paths.cell(t, *key) for t in templates) for f in files), files
    inputs = plan.summary_inputs()
    assert sorted(inputs["extra"]) == sorted(f for k in plan.cells for f in plan.summary_extras(k))
    assert set(inputs["benchmarks"]) == {f for k in plan.cells for f in plan.benchmarks(k)}
    # the one-run audit is on in the default config: every cell's row gets its columns
    assert all(
        paths.cell(paths.ONE_RUN_SUMMARY, *k) in plan.summary_extras(k)
        or paths.cell(paths.ONE_RUN_SKIPPED, *k) in plan.summary_extras(k)
        for k in plan.cells
    )
    assert plan.targets[0] == paths.SUMMARY and paths.REPORT in plan.targets
    assert not [t for t in plan.report_inputs() if t.startswith(f"{paths.REPORT_DIR}/")]


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_partial_results_from_the_files_alone_keep_every_stages_columns(tmp_path: Path) -> None:
    """``python -m privsynth.partial`` (no plan at hand) builds the row from every summary file there is."""
    res = tmp_path / "results"
    key = ("wdbc", "copy", "default")
    ids = dict(zip(("dataset", "generator", "setting"), key, strict=True))
    base = tmp_path

    def at(template: str) -> Path:
        return base / paths.cell(template, *key)

    _write(at(paths.METRICS), {**ids, "seed": 0, "rows": 10})
    _write(at(paths.ONE_RUN_SUMMARY), {**ids, "one_run_epsilon_lb": 1.25, "one_run_status": "ok"})
    _write(at(paths.AUDIT_SKIPPED), {**ids, "audit_status": "skipped: datasets.wdbc.audit.enabled"})
    _write(at(paths.NOBOX_SKIPPED), {**ids, "nobox_status": nobox_plan.REFITTED})
    _write(at(paths.UTILITY), {**ids, "utility_auc": 0.9})
    _write(at(paths.PAIRS), {**ids, "pairs_score": 0.5})
    assert partial.main([str(res)]) == 0
    row = pd.read_csv(res / "partial" / "summary.csv").iloc[0]
    assert row["one_run_epsilon_lb"] == 1.25 and row["one_run_status"] == "ok"
    assert row["audit_status"].startswith("skipped") and row["nobox_status"] == nobox_plan.REFITTED
    assert row["utility_auc"] == 0.9 and row["pairs_score"] == 0.5
    assert row["status"] == "complete"


def test_the_error_hook_and_the_files_alone_give_the_same_partial_summary(tmp_path: Path) -> None:
    """The workflow's onerror hook (the plan's files of each cell) and ``python -m privsynth.partial``."""
    cfg = tiny_config(
        wdbc={
            "source": {"kind": "wdbc"},
            "target": "target",
            "generators": {"copy": {"default": {}}, "marginals": {"default": {}}},
            "audit": {"enabled": False, "one_run": {"enabled": True, "generators": ["copy"]}},
        }
    )
    plan = Plan.start(cfg, SCHEMA)
    for key in plan.cells:
        ids = dict(zip(("dataset", "generator", "setting"), key, strict=True))
        _write(tmp_path / paths.cell(paths.METRICS, *key), {**ids, "seed": 0, "rows": 10})
        for f in plan.summary_extras(key):
            _write(tmp_path / f, {**ids, f"{Path(f).stem}_{key[1]}": 1})
    hooked = tmp_path / "hooked"
    res = tmp_path / "results"
    partial.write_partial(res, list(plan.cells), plan.qa, plan.summary_extras)
    (res / "partial").rename(hooked)
    partial.main([str(res)])
    a = pd.read_csv(hooked / "summary.csv")
    b = pd.read_csv(res / "partial" / "summary.csv")
    assert any(c.startswith("summary_") for c in a.columns)  # the one-run summary's columns
    pd.testing.assert_frame_equal(a, b)
