"""The sanity bracket (privsynth.bracket) and the pairwise fidelity (privsynth.pairs) on real WDBC data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privsynth import bracket, pairs


def cells(**over: dict) -> pd.DataFrame:
    rows = {
        "copy": dict(positive_control=True, utility_auc=0.99, utility_auc_ci_low=0.97, utility_auc_ci_high=1.0),
        "marginals": dict(utility_auc=0.50, utility_auc_ci_low=0.40, utility_auc_ci_high=0.60),
        # clearly above: 0.90 - 0.50 = 0.40 > hypot(0.05, 0.10)
        "good": dict(utility_auc=0.90, utility_auc_ci_low=0.85, utility_auc_ci_high=0.94),
        # not clearly above: 0.60 - 0.50 = 0.10 < hypot(0.08, 0.10), and undertrained
        "weak": dict(
            utility_auc=0.60,
            utility_auc_ci_low=0.52,
            utility_auc_ci_high=0.66,
            undertrained=True,
            undertrained_reason="5-epoch cap",
        ),
        # trained on a cap of its training rows
        "capped": dict(utility_auc=0.55, utility_auc_ci_low=0.45, utility_auc_ci_high=0.65, trained_rows=500),
        "nodata": dict(utility_auc=np.nan),
    }
    out = []
    for gen, r in rows.items():
        out.append(
            {"dataset": "toy", "generator": gen, "setting": "default", "train_rows": 1000, "positive_control": False}
            | r
            | over.get(gen, {})
        )
    return pd.DataFrame(out)


def test_bracket_places_cells_and_flags_the_ones_at_the_floor() -> None:
    df = bracket.add_columns(cells()).set_index("generator")
    assert df.loc["copy", "utility_retained"] == pytest.approx(1.0)
    assert df.loc["marginals", "utility_retained"] == pytest.approx(0.0)
    assert df.loc["good", "utility_retained"] == pytest.approx(0.4 / 0.49)
    assert df.loc["good", "utility_retained_ci_low"] == pytest.approx(0.35 / 0.49)
    assert df.loc["good", "bracket_flag"] == ""
    assert df.loc["weak", "bracket_flag"] == "NO BETTER THAN MARGINALS: undertrained (5-epoch cap)"
    assert df.loc["capped", "bracket_flag"] == "NO BETTER THAN MARGINALS: capped rows (trained on 500 of 1000)"
    # controls are never flagged; a cell without utility has no bracket
    assert (df.loc[["copy", "marginals", "nodata"], "bracket_flag"] == "").all()
    assert np.isnan(df.loc["nodata", "utility_retained"])
    # the floor's own noise counts: a wider floor interval flags 'good' too
    wide = bracket.add_columns(cells(marginals={"utility_auc_ci_high": 0.92})).set_index("generator")
    assert wide.loc["good", "bracket_flag"].startswith("NO BETTER THAN MARGINALS: reason unknown")
    # no floor in the grid: nothing bracketed, nothing flagged
    alone = bracket.add_columns(cells().query("generator != 'marginals'"))
    assert alone["utility_retained"].isna().all() and (alone["bracket_flag"] == "").all()
    assert set(bracket.COLUMNS) <= set(df.columns)


@pytest.fixture(scope="module")
def wdbc() -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.datasets import load_breast_cancer

    from privsynth.datasets import split

    train, holdout = split(load_breast_cancer(as_frame=True).frame, 0.2, 42)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def test_pairwise_fidelity_separates_copy_holdout_model_and_marginals(wdbc) -> None:
    from privsynth.generators.marginals import MarginalsGenerator

    train, holdout = wdbc
    g = MarginalsGenerator()
    g.fit(train, None, {}, 0)
    marg = g.sample(len(train))
    # a crude real model: a multivariate normal with the training mean and covariance
    rng = np.random.default_rng(0)
    mvn = pd.DataFrame(rng.multivariate_normal(train.mean(), train.cov(), len(train)), columns=train.columns)
    mvn["target"] = (mvn["target"] > 0.5).astype(int)
    ref = pairs.Reference(train, 10)
    got = {name: ref.compare(df) for name, df in (("copy", train), ("holdout", holdout), ("mvn", mvn), ("marg", marg))}
    d = {k: v["assoc_distance"] for k, v in got.items()}
    a = {k: v["top_accuracy"] for k, v in got.items()}
    assert d["copy"] == 0 and a["copy"] == pytest.approx(1.0)
    # marginals keep no dependence: far from the holdout on both; the model keeps the correlations
    assert d["marg"] > 4 * d["holdout"] and d["mvn"] < 1.5 * d["holdout"]
    assert a["marg"] < a["holdout"] - 0.4 and a["marg"] < a["mvn"] - 0.2
    # the strongest WDBC dependencies are the radius / perimeter / area families
    assert ref.top[0] in {
        ("mean radius", "mean area"),
        ("mean radius", "mean perimeter"),
        ("mean perimeter", "mean area"),
    }
    flat = pairs.compare(train, marg, holdout, 10)
    assert flat["pairs_top_n"] == 10 and flat["pairs_top"].startswith("mean radius~")
    assert flat["pairs_assoc_distance_holdout"] == pytest.approx(d["holdout"])


def test_pairwise_fidelity_on_mixed_types_with_missing_values() -> None:
    rng = np.random.default_rng(1)
    n = 400
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "x": x,
            "y": x * 2 + rng.normal(scale=0.1, size=n),
            "colour": np.where(x > 0, "red", "blue"),
            "other": rng.choice(["a", "b", None], size=n),
        }
    )
    ref = pairs.Reference(df, 3)
    assert ref.top[0] in {("x", "y"), ("x", "colour")}
    shuffled = pd.DataFrame({c: df[c].sample(frac=1, random_state=i).to_numpy() for i, c in enumerate(df.columns)})
    same, broken = ref.compare(df), ref.compare(shuffled)
    assert same["assoc_distance"] == 0 and broken["assoc_distance"] > 0.2
    assert broken["top_accuracy"] < same["top_accuracy"] - 0.3
