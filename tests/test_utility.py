"""ML utility: gradient boosting trained on one table, scored on the real holdout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth import utility
from privsynth.errors import ConfigError
from privsynth.utility_ci import auc_interval


def frame(n: int, seed: int, shuffle_label: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    # The label depends on a numeric and a categorical feature.
    logit = 2.5 * x + np.where(colour == "red", 2.0, -1.0)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), ">50K", "<=50K")
    if shuffle_label:
        y = rng.permutation(y)
    return pd.DataFrame({"x": x, "colour": pd.Series(colour, dtype="str"), "noise": rng.integers(0, 5, n), "income": y})


def test_learnable_vs_shuffled_labels() -> None:
    holdout = frame(600, 1)
    good = utility.evaluate(frame(1500, 2), holdout, "income")
    assert good["auc"] > 0.85 and good["accuracy"] > 0.75
    assert (good["classes"], good["test_rows"], good["note"]) == (2, 600, None)
    bad = utility.evaluate(frame(1500, 3, shuffle_label=True), holdout, "income")
    assert 0.35 < bad["auc"] < 0.65


def test_unseen_category_and_single_class() -> None:
    holdout = frame(300, 1)
    holdout.loc[:9, "colour"] = "purple"  # never seen in training: no crash
    train = frame(500, 2)
    assert utility.evaluate(train, holdout, "income")["auc"] > 0.8
    one = train.assign(income="<=50K")
    r = utility.evaluate(one, holdout, "income")
    assert r["auc"] == pytest.approx(0.5)
    assert r["accuracy"] == pytest.approx((holdout["income"] == "<=50K").mean())
    assert "single target class" in r["note"]


def test_target_errors_name_the_config_key() -> None:
    df = frame(80, 0)
    with pytest.raises(ConfigError, match=r"datasets\.toy\.target: column 'label' is not in the data"):
        utility.check_target(df, {"dataset": "toy", "target": "label"})
    with pytest.raises(ConfigError, match=r"datasets\.toy\.target: 'x' has 80 distinct values"):
        utility.check_target(df, {"dataset": "toy", "target": "x"})
    assert utility.check_target(df, {"dataset": "toy", "target": None}) is None


def test_cell_json_is_flat_with_baseline(tmp_path: Path) -> None:
    train, holdout, syn = frame(800, 1), frame(300, 2), frame(800, 3, shuffle_label=True)
    for name, df in (("train", train), ("holdout", holdout), ("syn", syn)):
        df.to_parquet(tmp_path / f"{name}.parquet")
    job = {"dataset": "toy", "target": "income", "interval": {"refits": 1, "resamples": 50, "confidence": 0.95}}
    base = utility.baseline(
        str(tmp_path / "train.parquet"), str(tmp_path / "holdout.parquet"), str(tmp_path / "base.json"), job
    )
    (tmp_path / "metrics.json").write_text(json.dumps({"dataset": "toy", "generator": "g", "setting": "s"}))
    out = utility.cell(
        str(tmp_path / "syn.parquet"),
        str(tmp_path / "holdout.parquet"),
        str(tmp_path / "base.json"),
        str(tmp_path / "metrics.json"),
        str(tmp_path / "utility.json"),
        job,
        interval=auc_interval,
    )
    written = json.loads((tmp_path / "utility.json").read_text())
    assert written == out
    assert all(not isinstance(v, (dict, list)) for v in written.values())
    assert (written["dataset"], written["generator"], written["setting"]) == ("toy", "g", "s")
    assert written["utility_real_auc"] == pytest.approx(base["auc"]) and base["auc"] > 0.85
    assert written["utility_auc"] < base["auc"] - 0.2
    assert written["utility_auc_ci_low"] <= written["utility_auc"] <= written["utility_auc_ci_high"]


def test_all_missing_and_constant_features_do_not_crash() -> None:
    # scikit-learn's binning raised "window shape cannot be larger than input array shape" here.
    holdout = frame(300, 1)
    train = frame(500, 2)
    train["empty_num"] = np.nan
    train["empty_cat"] = pd.Series([None] * len(train), dtype="object")
    train["constant"] = 7.0
    holdout["empty_num"], holdout["empty_cat"], holdout["constant"] = 1.0, "a", 7.0
    r = utility.evaluate(train, holdout, "income")
    assert r["auc"] > 0.8
    assert r["note"] == "left out feature(s) without values in the training table: empty_num, empty_cat"
    only = utility.evaluate(train[["empty_num", "income"]], holdout[["empty_num", "income"]], "income")
    assert only["note"].startswith("no feature has values") and only["test_rows"] == 300


def test_auc_interval_covers_the_point_and_narrows_with_more_holdout() -> None:
    from privsynth.utility_ci import auc_interval

    settings = {"refits": 2, "resamples": 100, "confidence": 0.95}
    train = frame(400, 2)
    small, large = frame(120, 1), frame(1200, 1)
    point = utility.evaluate(train, small, "income")["auc"]
    ci = auc_interval(train, small, "income", settings)
    assert ci["low"] < point < ci["high"] and ci["note"] is None
    # around the cell's own AUC, with the resampled spread
    at = auc_interval(train, small, "income", settings, point=point)
    assert at["high"] - at["low"] == pytest.approx(ci["high"] - ci["low"], abs=1e-9) or at["high"] == 1.0
    assert at["low"] < point < at["high"]
    wide = ci["high"] - ci["low"]
    big = auc_interval(train, large, "income", settings)
    assert big["high"] - big["low"] < wide * 0.7  # ~1/sqrt(10) of the holdout noise
    assert auc_interval(train.assign(income="<=50K"), small, "income", settings)["note"].startswith("constant")
    assert auc_interval(train, small, "income", {**settings, "refits": 0})["note"] == "utility.refits is 0: no interval"
