"""One-run canary audit: the bound, the controls and a mechanism of known epsilon.

Ground truth: ``copy`` (positive control) must give a large bound, ``holdout``
(negative control) none, and a randomized-response mechanism that is exactly
eps-DP per canary (tests/plugins/rr_canary.py) a bound never above eps and close
to it.  The job-level tests call the job functions directly (no Snakemake).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from privsynth.audit.common import stats as cstats
from privsynth.audit.one_run import bounds, fdp
from privsynth.audit.one_run import layout as one_run_layout
from privsynth.audit.one_run import method as one_run
from privsynth.audit.one_run import stages as J
from privsynth.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
PLUGINS = REPO / "tests" / "plugins"


# --- the bound ---------------------------------------------------------------------


def _paper_p_value(m, r, v, eps, delta):
    # Independent transcription of the paper's appendix algorithm (loop form).
    q = 1 / (1 + math.exp(-eps))
    beta = stats.binom.sf(v - 1, r, q)
    alpha, total = 0.0, 0.0
    for i in range(1, v + 1):
        total += stats.binom.pmf(v - i, r, q)
        if total > i * alpha:
            alpha = total / i
    return min(beta + alpha * delta * 2 * m, 1)


@pytest.mark.parametrize("r", [1, 10, 100, 1000])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_all_guesses_correct_matches_closed_form(r, alpha):
    # Zero when even eps = 0 is not rejected (one guess cannot beat alpha = 0.05).
    want = max(0.0, math.log(alpha ** (1 / r) / (1 - alpha ** (1 / r))))
    assert bounds.guessing_epsilon_lb(10_000, r, r, alpha) == pytest.approx(want, abs=1e-6)
    assert bounds.perfect_guessing_lb(r, alpha) == pytest.approx(want)


def test_thousand_correct_guesses_at_95_percent_is_about_5_8():
    assert bounds.guessing_epsilon_lb(1000, 1000, 1000, 0.05) == pytest.approx(5.80, abs=0.01)


@pytest.mark.parametrize(
    ("m", "r", "v", "eps", "delta"),
    [(1000, 100, 80, 1.0, 1e-5), (1000, 500, 400, 0.5, 1e-3), (100, 50, 50, 2.0, 1e-2), (1000, 900, 850, 2.5, 1e-5)],
)
def test_p_value_matches_the_papers_algorithm(m, r, v, eps, delta):
    assert bounds.p_value(m, r, v, eps, delta) == pytest.approx(_paper_p_value(m, r, v, eps, delta), rel=1e-9)


def test_bound_is_zero_at_chance_and_delta_lowers_it():
    assert bounds.guessing_epsilon_lb(1000, 500, 250, 0.05) == 0.0
    assert bounds.guessing_epsilon_lb(1000, 500, 260, 0.05) == 0.0
    assert bounds.guessing_epsilon_lb(1000, 500, 450, 0.05, delta=1e-3) < bounds.guessing_epsilon_lb(
        1000, 500, 450, 0.05
    )
    # The returned eps is rejected (p < alpha), eps + 1e-6 is not.
    e = bounds.guessing_epsilon_lb(1000, 500, 450, 0.05)
    assert bounds.p_value(1000, 500, 450, e) < 0.05 <= bounds.p_value(1000, 500, 450, e + 1e-6)


def test_auc_interval_matches_sklearn_and_does_not_collapse():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = rng.normal(size=400) + 0.5 * y
    a, lo, hi = cstats.auc_interval(y, s, 0.05)
    assert a == pytest.approx(roc_auc_score(y, s)) and lo < a < hi
    a, lo, hi = cstats.auc_interval(y, y.astype(float), 0.05)
    assert a == 1.0 and 0.97 < lo < 1.0 and hi == pytest.approx(1.0)
    # Null: the Mann-Whitney standard error (no ties) is recovered at AUC 0.5.
    n1 = n0 = 500
    _, lo, hi = cstats.auc_interval(
        np.r_[np.ones(n1), np.zeros(n0)], np.r_[np.arange(0, 1000, 2), np.arange(1, 1000, 2)], 0.05
    )
    se = math.sqrt((n1 + n0 + 1) / (12 * n1 * n0))
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.02)


def test_tpr_at_low_fpr_is_na_without_enough_out_canaries():
    y = np.r_[np.ones(60), np.zeros(40)]
    na = bounds.tpr_at_fpr(y, y, 0.01, 0.05)
    assert na.value is None and na.ci_low is None and "300" in na.reason
    y = np.r_[np.ones(400), np.zeros(400)]
    t = bounds.tpr_at_fpr(y, y + 0.0, 0.01, 0.05)
    assert t.value == 1.0 and t.empirical_fpr <= 0.01 and t.ci_low > 0.98
    # One result type, one JSON shape (the shadow audit's TPRs are the same type).
    assert list(na.to_json()) == list(t.to_json()) and na.to_json()["empirical_fpr"] is None
    # The 3/FPR rule, once for both audits: 3 / 0.1 is 30 (not 31 by float error).
    assert cstats.negatives_needed(0.1) == 30 and cstats.negatives_needed(3 / 47) == 47


def test_defaults_come_from_the_schema():
    schema = yaml.safe_load((REPO / "config/schema.yaml").read_text())["definitions"]["one_run_audit"]["properties"]
    p = one_run.OneRunProtocol.from_config({})
    for key, spec in schema.items():
        value = getattr(p, key)
        assert (list(value) if isinstance(value, tuple) else value) == spec["default"], key


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"datasets.t.audit.one_run.attacks: unknown attack\(s\) nope"):
        one_run.OneRunProtocol.from_config({"attacks": ["nope"]}, "datasets.t.audit.one_run")
    with pytest.raises(ConfigError, match=r"datasets.t.audit.one_run: outliers \(5\) \+ ids \(0\) exceed m \(4\)"):
        one_run.OneRunProtocol.from_config({"m": 4, "outliers": 5}, "datasets.t.audit.one_run")


# --- job level: controls and the known-epsilon mechanism -----------------------------


@pytest.fixture(scope="module")
def census(census_path, tmp_path_factory):
    from privsynth import datasets

    d = tmp_path_factory.mktemp("census")
    datasets.fetch(
        str(d / "raw.parquet"), {"dataset": "census", "source": {"kind": "census", "path": str(census_path)}}
    )
    datasets.prepare(
        str(d / "raw.parquet"),
        str(d / "train.parquet"),
        str(d / "holdout.parquet"),
        str(d / "schema.json"),
        {"dataset": "census", "split": {"holdout_fraction": 0.2, "seed": 42}},
    )
    return d


def _audit(d: Path, gen: str, settings: dict, cfg: dict, tag: str, cap: int | None = None) -> dict:
    """canaries -> audit training set -> one fit -> attacks, all through the job functions."""
    from privsynth import synthesize

    p = one_run.OneRunProtocol.from_config(cfg, "test")
    f = {
        k: str(d / f"{tag}_{k}")
        for k in (
            "can.parquet",
            "at.parquet",
            "at.json",
            "syn.parquet",
            "met.json",
            "or.json",
            "sc.parquet",
            "sum.json",
        )
    }
    J.canaries(str(d / "train.parquet"), str(d / "schema.json"), f["can.parquet"], p.canary_slice())
    key = {"dataset": "census", "generator": gen, "setting": "s"}
    J.audit_train(
        str(d / "train.parquet"), f["can.parquet"], f["at.parquet"], f["at.json"], {**key, "cap": cap, "seed": p.seed}
    )
    settings = {k: (f["can.parquet"] if v == "<canaries>" else v) for k, v in settings.items()}
    synthesize.synthesize(
        f["at.parquet"],
        str(d / "schema.json"),
        f["syn.parquet"],
        f["met.json"],
        {**key, "settings": settings, "seed": p.seed},
    )
    return J.attack(
        str(d / "train.parquet"),
        str(d / "schema.json"),
        str(d / "holdout.parquet"),
        f["can.parquet"],
        f["at.parquet"],
        f["at.json"],
        f["syn.parquet"],
        f["met.json"],
        f["or.json"],
        f["sc.parquet"],
        f["sum.json"],
        {**key, "audit_run": "separate fit", **p.attack_slice()},
    )


def test_positive_control_copy_census_1000_canaries(census):
    r = _audit(census, "copy", {}, {"m": 1000}, "copy")
    assert r["epsilon_lb"] >= 4.0, r["designs"]
    assert r["auc"]["value"] == 1.0 and r["auc"]["ci_low"] > 0.95
    assert r["correct"] == r["guesses"] and r["epsilon_lb"] == r["ceiling"] == pytest.approx(5.06, abs=0.01)
    assert r["verdict"].startswith("not (5.06, 0)-DP") and r["protocol"]["tests"] == 3
    assert r["protocol"]["confidence"] == 0.99  # the default
    assert r["audit_fit"]["positive_control"] and not r["contradicts_dp_claim"]
    assert r["neighbouring_relation"].startswith("add/remove")
    assert r["tpr_at_low_fpr"]["value"] == 1.0


def test_negative_control_holdout_over_8_audit_seeds(census):
    hold = str(census / "holdout.parquet")
    bad = []
    for seed in range(8):  # 20 seeds: benchmarks/one_run_known_eps.py (docs/audit.md)
        r = _audit(
            census,
            "holdout",
            {"path": hold, "sample_size": 2000},
            {"m": 1000, "seed": seed, "outliers": 20},
            f"h{seed}",
        )
        if not (r["epsilon_lb"] == 0 and r["auc"]["ci_low"] <= 0.5 <= r["auc"]["ci_high"]):
            bad.append((seed, r["epsilon_lb"], r["correct"], r["guesses"], r["auc"]))
    assert len(bad) <= 1, bad


def _rr_audit(train, ref, schema, eps, m, seed, cap=5000, attacks=one_run.ATTACK_NAMES, generator="mostlyai"):
    """Randomized response per canary (the rr_canary plugin) on census, fast path without files.

    With a cap and the mostlyai layout (as the default run's capped cells) and a non-empty
    reference, so the density attack is exercised.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("rr_canary_t", PLUGINS / "rr_canary.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    scores, can, p, _ = mod.audit_scores(
        train, ref, schema, eps, m=m, seed=seed, cap=cap, generator=generator, attacks=attacks, extra_rows=200
    )
    return one_run.evaluate(scores, can, p.attack_slice(), 0.0)


@pytest.fixture(scope="module")
def census_frames(census):
    from privsynth.datasets import load_schema

    ref = pd.read_parquet(census / "holdout.parquet").iloc[:1500]
    return pd.read_parquet(census / "train.parquet"), ref, load_schema(census / "schema.json")


def test_known_epsilon_is_never_exceeded(census_frames):
    train, ref, schema = census_frames
    over, lbs = [], []
    for eps in (0.5, 2.0):
        for seed in range(10):
            r = _rr_audit(train, ref, schema, eps, 500, seed)
            lbs.append(r["epsilon_lb"])
            assert r["gdp"]["mu_lb"] <= fdp.mu_of_pure_dp(eps)
            if r["epsilon_lb"] > eps:
                over.append((eps, seed, r["epsilon_lb"]))
    # Each bound holds with probability >= 99%: 20 runs, 2 or more violations has p < 1.7%.
    assert len(over) <= 1, over
    assert max(lbs[10:]) > 1.0  # the audit does see the eps = 2 leak (a test that cannot fail would not)


def test_known_epsilon_bound_is_tight_with_1000_canaries(census_frames):
    train, ref, schema = census_frames
    lbs = [_rr_audit(train, ref, schema, 2.0, 1000, seed)["epsilon_lb"] for seed in range(4)]
    # Accuracy e^2/(1+e^2) = 0.88 on 900 guesses, 3 tests at 99%: ~1.75 (benchmarks/one_run_known_eps.py).
    assert 1.6 <= np.mean(lbs) <= 2.0, lbs


def test_cap_draws_base_rows_before_the_coins(census_frames):
    train, _, schema = census_frames
    can = one_run.draw_canaries(train, schema, {"m": 1000, "outliers": 10, "ids": [], "seed": 3})
    assert can["row_id"].is_unique and (can["selection"] == "outlier").sum() == 10
    at, info = one_run_layout.audit_training_set(train, can, 5000, 3, "t", "mostlyai")
    inc = can.loc[can["included"] == 1, "row_id"]
    assert len(at) == 4000 + len(inc) and info["base_rows"] == 4000 and info["subsampled_base_rows"]
    assert inc.isin(at.index).all() and not can.loc[can["included"] == 0, "row_id"].isin(at.index).any()
    assert info["trained_fraction"] == 1.0 and info["validation_canaries"] == 0
    # Every included canary sits in a training slot of the engine's position split.
    pos = pd.Index(at.index).get_indexer(inc)
    assert not one_run_layout.mostlyai_validation(pos).any()
    with pytest.raises(ConfigError, match=r"t.m: 1000 canaries do not fit"):
        one_run_layout.audit_training_set(train, can, 300, 3, "t")
    again = one_run.draw_canaries(train, schema, {"m": 1000, "outliers": 10, "ids": [], "seed": 3})
    pd.testing.assert_frame_equal(can, again)


# --- through the real workflow -------------------------------------------------------


def test_one_run_audit_through_the_workflow(census_path, snakemake_runner, tmp_path, monkeypatch):
    from conftest import tiny_config

    monkeypatch.setenv("PRIVSYNTH_PLUGINS", str(PLUGINS))
    cfg = tiny_config(
        census={
            "source": {"kind": "census", "path": str(census_path)},
            "max_rows": 3000,
            "audit": {
                "enabled": False,
                "one_run": {
                    "enabled": True,
                    "m": 300,
                    "outliers": 10,
                    "generators": ["copy", "holdout", "rr_canary"],
                    "release_is_audit_run": ["holdout"],
                },
            },
            "generators": {
                "copy": {"default": {}},
                "holdout": {"control": {"path": "results/census/data/holdout.parquet"}},
                "marginals": {"default": {}},
                "rr_canary": {
                    "eps1": {
                        "epsilon": 1.0,
                        "canaries": "results/census/audit/one_run/canaries.parquet",
                        "train": "results/census/data/train.parquet",
                        "sample_size": 600,
                    }
                },
            },
        }
    )
    snakemake_runner(cfg)
    cells = tmp_path / "results/census"
    copy = json.loads((cells / "copy/default/audit/one_run.json").read_text())
    assert copy["epsilon_lb"] > 2 and copy["generator_fits"] == 1 and copy["audit_run"] == "separate fit"
    neg = json.loads((cells / "holdout/control/audit/one_run.json").read_text())
    assert neg["epsilon_lb"] == 0 and neg["generator_fits"] == 0
    # The release was the audit run: it trained on the audit training set.
    assert (
        json.loads((cells / "holdout/control/metrics.json").read_text())["train_rows"] == neg["audit_fit"]["train_rows"]
    )
    rr = json.loads((cells / "rr_canary/eps1/audit/one_run.json").read_text())
    assert rr["audit_fit"]["epsilon_accountant"] == 1.0 and rr["epsilon_lb"] <= 1.0
    s = pd.read_csv(tmp_path / "results/summary.csv").set_index("generator")
    assert s.loc["marginals", "one_run_status"].startswith("skipped (datasets.census.audit.one_run.generators")
    assert s.loc["copy", "one_run_epsilon_lb"] == pytest.approx(copy["epsilon_lb"])
    assert s.loc["copy", "one_run_neighbouring"] == "add/remove"
    html = (tmp_path / "results/report/index.html").read_text()
    assert "one-run canary audit beside the shadow-model audit" in html and 'data-plot="one_run_audit"' in html
    # Nothing to do on a rerun.
    proc = snakemake_runner(cfg, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_plan_selects_cells_and_names_bad_entries():
    from privsynth.audit.one_run.plan import OneRunPlan
    from privsynth.config import Grid

    def cfg(one_run: dict) -> dict:
        gens = {"copy": {"a": {}}, "marginals": {"default": {}}}
        return {
            "seed": 0,
            "datasets": {"t": {"source": {"kind": "wdbc"}, "generators": gens, "audit": {"one_run": one_run}}},
        }

    plan = OneRunPlan(cfg({"enabled": True, "release_is_audit_run": ["marginals"]}), Grid(cfg({})))
    assert sorted(plan.audited) == [("t", "copy", "a"), ("t", "marginals", "default")]
    assert plan.release == {("t", "marginals", "default")}
    assert plan.attack_slice("t", "copy", "a")["audit_run"] == "separate fit"
    assert not OneRunPlan(cfg({}), Grid(cfg({}))).audited  # off unless enabled
    with pytest.raises(ConfigError, match=r"datasets.t.audit.one_run.release_is_audit_run: 'holdout' is not in"):
        OneRunPlan(cfg({"enabled": True, "release_is_audit_run": ["holdout"]}), Grid(cfg({})))
    with pytest.raises(ConfigError, match=r"one_run.release_is_audit_run: copy/a is not one-run audited"):
        OneRunPlan(cfg({"enabled": True, "generators": ["marginals"], "release_is_audit_run": ["copy"]}), Grid(cfg({})))


def test_report_section_flags_contradiction_and_escapes(tmp_path):
    from privsynth import report
    from privsynth.report import one_run as one_run_report

    df = pd.DataFrame(
        [
            {
                "dataset": "d",
                "generator": "g",
                "setting": "s",
                "epsilon": 1.0,
                "one_run_status": "done",
                "one_run_epsilon_lb": 2.0,
                "one_run_fit_epsilon": 1.0,
                "one_run_contradicts_dp": True,
                "one_run_epsilon_lb_attack": "<script>x</script>",
                "one_run_auc": 0.9,
                "one_run_auc_ci_low": 0.8,
                "one_run_auc_ci_high": 0.95,
                "one_run_audit_run": "release",
                "one_run_fits": 0,
            },
            {"dataset": "d", "generator": "g", "setting": "t", "epsilon": 1.0, "one_run_status": "skipped (x)"},
        ]
    )
    norm = report.normalise(df)
    assert norm["contradiction"].tolist() == [True, False]
    html = one_run_report.html_section(norm, "d")
    assert "<script>" not in html and "&lt;script&gt;" in html and "above accountant ε" in html
    one_run_report.make_plot(norm, "d", tmp_path / "p.svg")
    assert (tmp_path / "p.svg").stat().st_size > 5000
