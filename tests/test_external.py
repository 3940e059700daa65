"""The ``external`` generator (a file made elsewhere) and the no-box privacy section (issue 26).

Files the project makes itself: the training split written out (a leak by construction),
holdout rows (never seen), a marginals sample, and malformed files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth import datasets, generators
from privsynth.audit.nobox import measures as nobox
from privsynth.errors import ConfigError, DataError
from privsynth.synthesize import synthesize

JOB = {"confidence": 0.95, "max_rows": 5000, "seed": 0, "confirmed": True, "trained_on_label": "training split"}


@pytest.fixture(scope="module")
def wdbc(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("wdbc")
    datasets.fetch(str(d / "raw.parquet"), {"dataset": "wdbc", "source": {"kind": "wdbc"}})
    datasets.prepare(
        str(d / "raw.parquet"),
        str(d / "train.parquet"),
        str(d / "holdout.parquet"),
        str(d / "schema.json"),
        {"dataset": "wdbc", "split": {"holdout_fraction": 0.2, "seed": 42}, "target": "target"},
    )
    return d


@pytest.fixture(scope="module")
def frames(wdbc):
    return (
        pd.read_parquet(wdbc / "train.parquet"),
        pd.read_parquet(wdbc / "holdout.parquet"),
        datasets.load_schema(wdbc / "schema.json"),
    )


def _evaluate(members, holdout, syn, schema, like, **job):
    return nobox.evaluate(members, holdout, syn, schema, like, {**JOB, **job})


def test_training_split_as_the_file_is_all_copies_and_high_auc(frames):
    train, holdout, schema = frames
    r = _evaluate(train, holdout, train.sample(frac=1, random_state=1), schema, train)
    c = r["exact_copies"]
    assert c["members"]["count"] == len(train) and c["members"]["share"] == 1.0
    assert c["nonmembers"]["count"] == 0
    assert r["membership_auc"]["best"]["auc"] == 1.0 and r["membership_auc"]["best"]["ci_low"] > 0.95
    # every synthetic row sits on a member: the re-weighted DCR share is 1, its interval far above 0.5
    assert r["dcr"]["share"] == 1.0 and r["dcr"]["ci_low"] > 0.9
    assert r["status"] == "done" and r["epsilon"] is None and "no epsilon" in r["epsilon_reason"]


def test_holdout_rows_as_the_file_show_no_training_leak(frames):
    """The file: half of the holdout; the non-members: the other half (a file its maker made without
    seeing any training row, and unseen rows to compare with)."""
    train, holdout, schema = frames
    file_rows, unseen = holdout.iloc[::2], holdout.iloc[1::2]
    r = _evaluate(train, unseen, file_rows, schema, train)
    c = r["exact_copies"]
    shared = int(np.isin(nobox.row_hashes(train), nobox.row_hashes(file_rows)).sum())
    assert c["members"]["count"] == shared  # no copies beyond what the holdout shares with training (WDBC: none)
    a = r["membership_auc"]["per_attack"]
    for name in nobox.ATTACKS:
        assert a[name]["ci_low"] <= 0.5 <= a[name]["ci_high"], (name, a[name])
    assert r["dcr"]["ci_low"] <= 0.5 <= r["dcr"]["ci_high"]


def test_marginals_sample_copies_no_record(frames):
    train, holdout, schema = frames
    gen = generators.load("marginals")()
    gen.fit(train.reset_index(drop=True), schema, {}, 0)
    r = _evaluate(train, holdout, gen.sample(len(train)), schema, train)
    assert r["exact_copies"]["members"]["count"] == 0
    # each value is a training value, so exact-match finds members more often than chance, but not always
    assert r["membership_auc"]["best"]["auc"] < 0.9


def test_a_file_holding_holdout_rows_is_flagged(frames):
    train, holdout, schema = frames
    r = _evaluate(train, holdout, pd.concat([holdout, train.iloc[:10]]), schema, train)
    assert any("holdout" in w for w in r["warnings"])
    row = nobox.summary_row(r)
    assert "never saw the holdout" in row["nobox_warning"]


def test_unconfirmed_trained_on_gives_na_comparisons(frames):
    train, holdout, schema = frames
    r = _evaluate(train, holdout, train, schema, train, confirmed=False, trained_on_label="not confirmed")
    row = nobox.summary_row(r)
    assert row["nobox_status"].startswith("n/a (trained_on not set")
    assert row["nobox_train_copies"] == len(train)  # a copy is a copy: still counted
    assert row["nobox_auc"] is None and row["nobox_dcr_share"] is None and row["nobox_holdout_copy_share"] is None


def test_uploaded_file_that_held_the_holdout_leaves_no_nonmembers(wdbc, tmp_path, frames):
    """trained_on names the uploaded file: here the whole data, so no holdout row is unseen and the
    comparisons are n/a instead of a reassuring AUC of 0.5."""
    train, holdout, _ = frames
    uploaded = tmp_path / "uploaded.csv"
    pd.concat([train, holdout]).to_csv(uploaded, index=False)
    train.to_parquet(tmp_path / "syn.parquet")
    (tmp_path / "m.json").write_text("{}")
    job = {
        **JOB,
        "dataset": "wdbc",
        "generator": "external",
        "setting": "s",
        "trained_on_file": str(uploaded),
        "trained_on_label": str(uploaded),
    }
    d = str(wdbc)
    r = nobox.nobox(
        f"{d}/train.parquet",
        f"{d}/holdout.parquet",
        f"{d}/schema.json",
        str(uploaded),
        str(tmp_path / "syn.parquet"),
        str(tmp_path / "m.json"),
        str(tmp_path / "nobox.json"),
        str(tmp_path / "summary.json"),
        job,
    )
    assert r["members"] == len(train) + len(holdout) and r["nonmembers"] == 0
    assert r["status"].startswith("n/a (0 holdout rows outside trained_on")
    assert r["membership_auc"] == {"reason": r["status"]}


def _synth(wdbc: Path, tmp: Path, settings: dict) -> dict:
    job = {"dataset": "wdbc", "generator": "external", "setting": "s", "settings": settings, "seed": 0}
    return synthesize(
        str(wdbc / "train.parquet"), str(wdbc / "schema.json"), str(tmp / "syn.parquet"), str(tmp / "m.json"), job
    )


def test_external_file_passes_through_with_its_claims(wdbc, tmp_path, frames):
    train, _, _ = frames
    f = tmp_path / "vendor.csv"
    train.iloc[:50].to_csv(f, index=False)
    m = _synth(wdbc, tmp_path, {"path": str(f), "trained_on": "train", "epsilon": 2.0, "delta": 1e-5})
    assert m["rows"] == 50 and m["epsilon"] is None and m["claimed_epsilon"] == 2.0
    assert m["trained_on"] == "training split" and len(m["external_sha256"]) == 64
    out = pd.read_parquet(tmp_path / "syn.parquet")
    assert list(out.dtypes) == list(train.dtypes)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda df: df.drop(columns=["mean radius"]), "missing columns: mean radius"),
        (lambda df: df.assign(**{"mean area": "large"}), "mean area: not a number (10 rows)"),
        (lambda df: df.assign(target=7), "target: value not in categories (10 rows)"),
    ],
)
def test_malformed_file_fails_with_one_line_naming_file_and_column(wdbc, tmp_path, frames, damage, message):
    train, _, _ = frames
    f = tmp_path / "bad.csv"
    damage(train.iloc[:10]).to_csv(f, index=False)
    with pytest.raises(DataError) as exc:
        _synth(wdbc, tmp_path, {"path": str(f)})
    text = str(exc.value)
    assert "\n" not in text and str(f) in text and message in text, text


def test_settings_are_checked_before_any_job():
    cls = generators.load("external")
    with pytest.raises(ConfigError, match=r"w\.path: 'x\.xlsx' must end in"):
        cls.check_settings({"path": "x.xlsx"}, "w")
    with pytest.raises(ConfigError, match=r"w\.trained_on: 'all'"):
        cls.check_settings({"path": "x.csv", "trained_on": "all"}, "w")
    declared = generators.declared("external")  # the x-privsynth block of schemas/external.yaml
    assert not declared.refittable
    assert declared.files({"path": "a.csv", "trained_on": "up.parquet"}) == ["a.csv", "up.parquet"]
    assert declared.files({"path": "a.csv", "trained_on": "train"}) == ["a.csv"]
    assert declared.files({"path": "a.csv", "trained_on": None}) == ["a.csv"]


def test_planners_skip_external_cells_with_the_reason():
    from privsynth.audit.common.cells import NO_REFIT
    from privsynth.audit.nobox import plan as nobox_plan
    from privsynth.audit.one_run.plan import OneRunPlan
    from privsynth.audit.shadow.plan import AuditPlan
    from privsynth.config import Grid

    gens = {"copy": {"d": {}}, "external": {"f": {"path": "f.csv", "trained_on": "train"}}}
    audit = {"enabled": True, "generators": None, "one_run": {"enabled": True, "release_is_audit_run": True}}
    cfg = {"seed": 0, "datasets": {"w": {"source": {"kind": "wdbc"}, "generators": gens, "audit": audit}}}
    grid = Grid(cfg)
    shadow, one_run = AuditPlan(cfg, grid), OneRunPlan(cfg, grid)
    key = ("w", "external", "f")
    assert not shadow.is_audited(*key) and key in shadow.no_refit and shadow.skip_reason(*key) == NO_REFIT
    assert not one_run.is_audited(*key) and not one_run.release_is_audit(*key) and one_run.skip_reason(*key) == NO_REFIT
    assert shadow.is_audited("w", "copy", "d") and one_run.is_audited("w", "copy", "d")
    assert [c.generator for c in nobox_plan.cells(grid)] == ["external"]


def test_report_section_escapes_and_says_what_it_cannot_show(frames):
    from privsynth.report import nobox as nobox_report

    train, holdout, schema = frames
    r = _evaluate(train, holdout, train, schema, train)
    row = {"dataset": "w", "generator": "external", "setting": "<b>x</b>", **nobox.summary_row(r)}
    html = str(nobox_report.html_section(pd.DataFrame([row]), "w"))
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "no ε can be measured" in html and "Does not show" in html
    assert nobox_report.html_section(pd.DataFrame([row]), "other") == ""


def test_external_file_through_the_workflow(snakemake_runner, tmp_path):
    """One external cell on WDBC (the training split as the file, QA/EDA off): the refitting audits
    say n/a with their reason, the no-box section sees the copy, the claim stays a claim."""
    from conftest import tiny_config

    cell = {"path": "results/wdbc/data/train.parquet", "trained_on": "train", "epsilon": 1.0}
    audit = {
        "enabled": True,
        "generators": None,
        "n": 100,
        "n_shadow": 5,
        "n_eval": 5,
        "one_run": {"enabled": True, "m": 50, "outliers": 5},
    }
    wdbc = {"source": {"kind": "wdbc"}, "target": "target", "audit": audit, "generators": {"external": {"copy": cell}}}
    snakemake_runner(tiny_config(wdbc=wdbc))
    row = pd.read_csv(tmp_path / "results/summary.csv").iloc[0]
    assert row["audit_status"] == row["one_run_status"] == "n/a (no generator to refit)"
    assert row["nobox_status"] == "done" and row["nobox_train_copy_share"] == 1.0
    assert row["nobox_auc"] > 0.95 and row["nobox_holdout_copies"] == 0
    assert row["claimed_epsilon"] == 1.0 and pd.isna(row["epsilon"])
    assert not pd.isna(row["utility_auc"])  # ML utility runs on the file
    html = (tmp_path / "results/report/index.html").read_text()
    assert "Files made elsewhere: no-box privacy measures" in html and "no generator to refit" in html
