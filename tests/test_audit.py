"""Privacy audit: statistics, threat model, and the controls through the real workflow.

The end-to-end test runs the default quick protocol on census with the copy
generator (positive control) and the holdout generator (negative control).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from privsynth.audit.common.threat_model import AuditProtocol, TargetedMIA
from privsynth.audit.shadow import report
from privsynth.errors import ConfigError
from privsynth.schema import infer_schema

REPO = Path(__file__).resolve().parents[1]


def test_defaults_come_from_config_schema() -> None:
    """An empty block gets exactly the schema's defaults (config/schema.yaml, definitions.audit)."""
    schema = yaml.safe_load((REPO / "config/schema.yaml").read_text())["definitions"]["audit"]["properties"]
    p = AuditProtocol.from_config({})
    targets = {k: v["default"] for k, v in schema["targets"]["properties"].items()}
    assert (p.outliers, p.random, list(p.ids)) == (targets["outliers"], targets["random"], targets["ids"])
    for key in (
        "enabled",
        "generators",
        "n",
        "m",
        "n_shadow",
        "n_eval",
        "seed",
        "attacks",
        "attack_options",
        "batch_size",
        "confidence",
    ):
        assert getattr(p, key) == schema[key]["default"], key
    # A partial block (a job's slice) keeps its keys and gets the schema's for the rest, nested ones too.
    q = AuditProtocol.from_config({"n": 50, "targets": {"random": 3}})
    assert (q.n, q.random, q.outliers, q.n_shadow) == (50, 3, targets["outliers"], schema["n_shadow"]["default"])


# --- statistics -------------------------------------------------------------------


def test_auc_matches_sklearn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.integers(0, 5, 200).astype(float) + y
    assert report.auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_epsilon_bound_zero_without_signal_and_capped_by_sample_size() -> None:
    # Equal rates: no evidence against epsilon = 0.
    assert report.rule_epsilon_lb(np.array([25]), 50, np.array([25]), 50, 0.05)[0] == 0.0
    # Perfect separation with 50 + 50 runs: the bound is finite, log(u / (1 - u)) with
    # u = (alpha/2)^(1/50) from the two one-sided Clopper-Pearson bounds.
    u = (0.025) ** (1 / 50)
    assert report.rule_epsilon_lb(np.array([50]), 50, np.array([0]), 50, 0.05)[0] == pytest.approx(np.log(u / (1 - u)))
    # More runs, a larger attainable bound.
    assert report.rule_epsilon_lb(np.array([500]), 500, np.array([0]), 500, 0.05)[0] > 4.0
    # delta eats into the true-positive rate.
    assert report.rule_epsilon_lb(np.array([50]), 50, np.array([0]), 50, 0.05, delta=0.5)[0] < np.log(u / (1 - u))


def test_clopper_pearson_matches_scipy_binomtest() -> None:
    from scipy.stats import binomtest

    ci = binomtest(7, 40).proportion_ci(confidence_level=0.9, method="exact")
    assert report.cp_lower(np.array([7]), 40, 0.05)[0] == pytest.approx(ci.low)
    assert report.cp_upper(np.array([7]), 40, 0.05)[0] == pytest.approx(ci.high)


def test_paired_bootstrap_interval_covers_point_estimate() -> None:
    rng = np.random.default_rng(1)
    s_in, s_out = rng.normal(1, 1, 100), rng.normal(0, 1, 100)
    lo, hi = report.paired_auc_ci(s_in, s_out, 0.05, seed=0)
    point = report.auc(np.r_[np.ones(100), np.zeros(100)], np.r_[s_in, s_out])
    assert lo < point < hi and 0.6 < point < 0.9


# --- threat model -----------------------------------------------------------------


def _toy(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"a": rng.integers(0, 50, n), "b": rng.choice(["x", "y", "z"], n), "c": rng.normal(size=n).round(3)}
    )
    df.index.name = "row_id"
    return df


def test_pairs_are_add_remove_neighbours_for_each_target() -> None:
    # Item 1: a pair shares n - k base rows; each target is *added* to exactly one set
    # (add/remove adjacency, what DP-SGD accountants certify), no row is replaced.
    df = _toy()
    p = AuditProtocol.from_config({"n": 50, "n_shadow": 6, "n_eval": 5, "targets": {"outliers": 2, "random": 2}})
    mia = TargetedMIA.sample(df, infer_schema(df), p)
    tids = [t.row_id for t in mia.targets]
    assert [t.selection for t in mia.targets] == ["outlier", "outlier", "random", "random"]
    assert not set(mia.attacker_pool) & set(mia.eval_pool)
    assert not set(tids) & (set(mia.attacker_pool) | set(mia.eval_pool))
    assert len(mia.sets) == 2 * (6 + 5)
    for (_role, _pair), g in mia.sets.groupby(["role", "pair"]):
        a, b = (np.asarray(r) for r in g["rows"])
        pool = set(mia.attacker_pool if _role == "shadow" else mia.eval_pool)
        base_a, base_b = a[~np.isin(a, tids)], b[~np.isin(b, tids)]
        assert len(base_a) == 50 - 4 and set(base_a) == set(base_b) and set(base_a) <= pool
        assert len(a) + len(b) == 2 * 46 + 4 and len(set(a)) == len(a)
        for t in tids:
            ina, inb = g[f"in_{t}"].tolist()
            assert ina != inb and ((t in a) == ina) and ((t in b) == inb)


def test_target_ids_from_config_and_errors() -> None:
    df = _toy()
    p = AuditProtocol.from_config({"n": 50, "n_shadow": 5, "n_eval": 5, "targets": {"ids": [3, 7]}}, "datasets.t.audit")
    mia = TargetedMIA.sample(df, infer_schema(df), p)
    assert [(t.row_id, t.selection) for t in mia.targets] == [(3, "config"), (7, "config")]
    bad = AuditProtocol.from_config({"n": 50, "targets": {"ids": [100000]}}, "datasets.t.audit")
    with pytest.raises(ConfigError, match=r"datasets.t.audit.targets.ids: row ids \[100000\]"):
        TargetedMIA.sample(df, infer_schema(df), bad)
    big = AuditProtocol.from_config({"n": 300}, "datasets.t.audit")
    with pytest.raises(ConfigError, match="datasets.t.audit.n: 300 rows"):
        TargetedMIA.sample(df, infer_schema(df), big)
    with pytest.raises(ConfigError, match="datasets.t.audit.attacks: unknown attack"):
        AuditProtocol.from_config({"attacks": ["nope"]}, "datasets.t.audit")
    with pytest.raises(ConfigError, match="attack_options.groundhog: unknown option"):
        AuditProtocol.from_config({"attack_options": {"groundhog": {"trees": 3}}}, "datasets.t.audit")


def test_failing_generator_names_the_shadow_set(tmp_path: Path) -> None:
    from privsynth.audit.shadow import stages as shadow
    from privsynth.errors import GeneratorError
    from privsynth.io import write_json, write_parquet

    df = _toy()
    schema = infer_schema(df)
    p = AuditProtocol.from_config({"n": 50, "n_shadow": 5, "n_eval": 5})
    mia = TargetedMIA.sample(df, schema, p)
    write_parquet(df, tmp_path / "train.parquet", index=True)
    write_json(schema.to_json(), tmp_path / "schema.json")
    write_parquet(mia.sets, tmp_path / "sets.parquet")
    missing = str(tmp_path / "missing.parquet")
    job = {"generator": "holdout", "setting": "x", "settings": {"path": missing}, "sets": [4], "m": 20}
    with pytest.raises(Exception, match="reference file not found"):
        shadow.fit_batch(
            str(tmp_path / "train.parquet"),
            str(tmp_path / "schema.json"),
            str(tmp_path / "sets.parquet"),
            str(tmp_path / "b.parquet"),
            job,
        )
    assert not (tmp_path / "b.parquet").exists()
    # A generator returning out-of-schema rows is caught with the set ids.
    bad = df.assign(b="nonsense")
    write_parquet(bad, tmp_path / "bad.parquet")
    job["settings"] = {"path": str(tmp_path / "bad.parquet")}
    with pytest.raises(GeneratorError, match=r"violating the schema on shadow sets \[4\]"):
        shadow.fit_batch(
            str(tmp_path / "train.parquet"),
            str(tmp_path / "schema.json"),
            str(tmp_path / "sets.parquet"),
            str(tmp_path / "b.parquet"),
            job,
        )


# --- controls through the real workflow ---------------------------------------------


def test_audit_controls_and_determinism(census_path: Path, snakemake_runner, tmp_path: Path) -> None:
    holdout = "results/census/data/holdout.parquet"
    config = {
        "seed": 0,
        "datasets": {
            "census": {
                "source": {"kind": "census", "path": str(census_path)},
                # Default quick protocol (n = 1000, 100 + 50 pairs, 2 outliers + 1 random).
                "audit": {"generators": ["copy", "holdout/control"]},
                "generators": {
                    "copy": {"default": {}},
                    "holdout": {"control": {"path": holdout}},
                    "marginals": {"default": {}},  # not audited: summary says skipped
                },
            }
        },
        "qa": {"enabled": False},
        "eda": {"enabled": False, "compare": False},
    }
    snakemake_runner(config)
    cells = tmp_path / "results/census"

    copy = json.loads((cells / "copy/default/audit/audit.json").read_text())
    res = pd.DataFrame(copy["results"])
    outliers = res[res["selection"] == "outlier"]
    assert len(outliers["target"].unique()) == 2
    # Positive control: every outlier target is found by its strongest attack.
    assert (outliers.groupby("target")["auc"].max() >= 0.95).all()
    assert (outliers[outliers["attack"] == "closest_distance"]["auc"] >= 0.95).all()
    assert copy["aggregate"]["worst"]["epsilon_lb"]["value"] > 1.0
    assert copy["positive_control"] is True

    neg = json.loads((cells / "holdout/control/audit/audit.json").read_text())
    res = pd.DataFrame(neg["results"])
    assert len(res) == 3 * 4  # 3 targets x the default attacks of copy/holdout
    # Negative control: output independent of membership.
    assert ((res["auc_ci_low"] <= 0.5) & (res["auc_ci_high"] >= 0.5)).all(), res
    assert (res["epsilon_lb"] == 0).all()
    # Both cells attacked the same targets on the same shared training sets.
    assert [t["row_id"] for t in neg["targets"]] == [t["row_id"] for t in copy["targets"]]

    summary = pd.read_csv(tmp_path / "results/summary.csv").set_index("generator")
    for col in [
        "audit_auc_worst",
        "audit_tpr_at_1pct_fpr_worst",
        "audit_epsilon_lb_worst",
        "audit_auc_mean",
        "audit_epsilon_lb_mean",
    ]:
        assert col in summary.columns
    assert summary.loc["copy", "audit_auc_worst"] == pytest.approx(1.0)
    assert summary.loc["holdout", "audit_epsilon_lb_worst"] == 0
    assert summary.loc["marginals", "audit_status"].startswith("skipped")
    assert np.isnan(summary.loc["marginals", "audit_auc_worst"])
    scores = pd.read_parquet(cells / "copy/default/audit/scores.parquet")
    assert set(scores["role"]) == {"shadow", "eval"} and set(scores["label"]) == {0, 1}
    assert (cells / "copy/default/audit/roc.png").stat().st_size > 10_000

    # Fixed seeds: regenerating the training sets and rerunning gives identical scores.
    sets_file = tmp_path / "results/census/audit/shadow_sets.parquet"
    before = sets_file.stat().st_mtime_ns
    # ("--" ends --configfile's list of files, so the target is not read as one.)
    snakemake_runner(config, "--forcerun", "audit_shadow_sets", "--", "results/census/copy/default/audit/audit.json")
    assert sets_file.stat().st_mtime_ns > before
    again = pd.read_parquet(cells / "copy/default/audit/scores.parquet")
    pd.testing.assert_frame_equal(scores, again)


def test_unknown_attack_is_a_one_line_config_error(census_path: Path, snakemake_runner) -> None:
    config = {
        "datasets": {
            "census": {
                "source": {"kind": "census", "path": str(census_path)},
                "audit": {"attacks": ["groundhog", "nope"]},
                "generators": {"copy": {"default": {}}},
            }
        },
        "qa": {"enabled": False},
    }
    proc = snakemake_runner(config, "-n", check=False)
    assert proc.returncode != 0
    assert "datasets.census.audit.attacks: unknown attack(s) nope" in proc.stdout + proc.stderr


def test_plan_selects_cells_and_rejects_unknown_ones() -> None:
    from privsynth.audit.shadow.plan import AuditPlan
    from privsynth.config import Grid

    def cfg(audit: dict) -> dict:
        gens = {"copy": {"a": {}, "b": {}}, "marginals": {"default": {}}}
        return {"seed": 0, "datasets": {"t": {"source": {"kind": "wdbc"}, "generators": gens, "audit": audit}}}

    plan = AuditPlan(cfg({"generators": ["copy/b", "marginals"]}), Grid(cfg({})))
    assert sorted(plan.audited) == [("t", "copy", "b"), ("t", "marginals", "default")]
    assert not AuditPlan(cfg({"enabled": False}), Grid(cfg({}))).audited
    p = AuditPlan(cfg({"n_shadow": 10, "n_eval": 5, "batch_size": 7}), Grid(cfg({})))
    assert p.batches("t") == [0, 1, 2, 3, 4] and p.fit_slice("t", "copy", "a", 4)["sets"] == [28, 29]
    with pytest.raises(ConfigError, match=r"datasets.t.audit.generators: 'holdout' is not in"):
        AuditPlan(cfg({"generators": ["holdout"]}), Grid(cfg({})))


def test_vectorised_features_match_a_direct_computation() -> None:
    from privsynth.audit.common.attacks import SyntheticSets
    from privsynth.audit.common.attacks.groundhog import _correlations, _groundhog_features
    from privsynth.audit.common.encoding import Encoder

    df = _toy(300)
    enc = Encoder(infer_schema(df))
    e = enc.encode(df)
    sets = SyntheticSets(e.num.reshape(3, 100, -1), e.cat.reshape(3, 100, -1), enc)
    off = np.concatenate([[0], np.cumsum(enc.levels)])[:-1]
    L = int(enc.levels.sum())
    corr = _correlations(sets.num, sets.cat.astype(np.int64) + off, L)
    for s in range(3):
        onehot = np.zeros((100, L))
        onehot[np.arange(100)[:, None], sets.cat[s] + off] = 1
        X = np.concatenate([onehot, sets.num[s]], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            want = np.nan_to_num(np.corrcoef(X.T)[np.triu_indices(X.shape[1], 1)])
        np.testing.assert_allclose(corr[s], want, atol=1e-5)
    F = _groundhog_features(sets, 10)
    p = sets.num.shape[2]
    np.testing.assert_allclose(F[:, :p], sets.num.mean(1), rtol=1e-5)
    # Histogram block: every column's frequencies sum to one.
    n_cols = sets.num.shape[2] + sets.cat.shape[2]
    assert F[:, 3 * p : F.shape[1] - corr.shape[1]].sum(1) == pytest.approx(np.full(3, n_cols))


def test_wdbc_marginals_random_target_is_found(snakemake_runner, tmp_path: Path) -> None:
    # Issue 13 acceptance: the default run's WDBC marginals cell (default quick protocol,
    # n = 100). marginals reuses exact training values; the exact-match attack sees it.
    default = yaml.safe_load((REPO / "config/config.yaml").read_text())["datasets"]["wdbc"]
    config = {
        "seed": 0,
        "datasets": {
            "wdbc": {
                **{k: default[k] for k in ("source", "split", "target")},
                # the shadow-model audit alone (the default's one-run block names mostlyai cells)
                "audit": {**{k: v for k, v in default["audit"].items() if k != "one_run"}, "generators": ["marginals"]},
                "generators": {"marginals": {"default": {}}},
            }
        },
        "qa": {"enabled": False},
        "eda": {"enabled": False, "compare": False},
    }
    snakemake_runner(config, "--", "results/wdbc/marginals/default/audit/audit.json")
    audit = json.loads((tmp_path / "results/wdbc/marginals/default/audit/audit.json").read_text())
    res = pd.DataFrame(audit["results"])
    chosen = res[res["selected"]].set_index("selection")
    assert chosen.loc["random", "auc"] >= 0.9, res[["target", "selection", "attack", "auc", "shadow_auc"]]
    assert audit["aggregate"]["worst"]["auc"]["label"] == "worst of 3 audited targets"
    assert audit["neighbouring_relation"].startswith("add/remove")
    assert len(audit["fits"]) == 300 and audit["warnings"]  # n = 100 < 364 training rows
