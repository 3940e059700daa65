"""The copula generator (Gaussian copula over empirical marginals): marginals, dependence, seeds, schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from generator_settings import filled

from privsynth import generators
from privsynth.errors import GeneratorError
from privsynth.generators import copula
from privsynth.schema import infer_schema, validate_frame


def _dependent(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 2 * x + rng.normal(scale=0.3, size=n)
    return pd.DataFrame(
        {
            "x": x,
            "y": np.round(y * 10).astype("int64"),
            "label": np.where(x + rng.normal(scale=0.2, size=n) > 0, "hi", "lo"),
            "noise": rng.choice(["a", "b", "c"], size=n, p=[0.6, 0.3, 0.1]),
        }
    )


def _fit(train: pd.DataFrame, seed: int = 0, **settings):
    g = generators.load("copula")(threads=1)
    g.fit(train, infer_schema(train), filled("copula", settings), seed)
    return g


def test_keeps_marginals_and_dependence_and_is_schema_valid():
    train = _dependent(2000)
    schema = infer_schema(train)
    g = _fit(train)
    syn = g.sample(3000)
    assert list(syn.columns) == schema.names and len(syn) == 3000
    assert validate_frame(syn, schema).valid.all()
    # Marginals: the empirical quantiles of the training values.
    assert abs(syn["x"].mean() - train["x"].mean()) < 0.1
    assert abs(syn["x"].std() - train["x"].std()) < 0.1
    freq = train["noise"].value_counts(normalize=True)
    assert (syn["noise"].value_counts(normalize=True).reindex(freq.index) - freq).abs().max() < 0.04
    # Dependence: what the marginals generator destroys.
    assert np.corrcoef(syn["x"], syn["y"])[0, 1] > 0.9
    hi = syn["label"] == "hi"
    assert syn.loc[hi, "x"].mean() > 0.3 and syn.loc[~hi, "x"].mean() < -0.3  # a copula attenuates it
    assert (syn["y"] == np.round(syn["y"])).all()  # countable stays integer
    m = g.metrics()
    assert m["differential_privacy"] is False and m["copula_columns"] == 4
    assert 0.9 < m["copula_max_abs_correlation"] < 1


def test_a_fixed_seed_repeats_and_another_differs():
    train = _dependent(300)
    a = _fit(train, seed=3).sample(200)
    pd.testing.assert_frame_equal(a, _fit(train, seed=3).sample(200))
    assert not a.equals(_fit(train, seed=4).sample(200))


def test_without_interpolation_every_value_is_a_training_value():
    train = _dependent(300)
    syn = _fit(train, interpolate=False).sample(500)
    assert set(syn["x"]) <= set(train["x"])


def test_missing_values_and_ordered_categories_round_trip():
    rng = np.random.default_rng(1)
    n = 400
    v = rng.normal(size=n)
    v[rng.random(n) < 0.25] = np.nan
    train = pd.DataFrame({"v": v, "size": rng.choice(["S", "M", "L"], size=n), "k": rng.integers(0, 5, size=n)})
    schema = infer_schema(train, overrides={"size": {"type": "finite/ordered", "representation": ["S", "M", "L"]}})
    g = generators.load("copula")(threads=1)
    g.fit(train, schema, filled("copula", {}), 0)
    syn = g.sample(4000)
    assert validate_frame(syn, schema).valid.all()
    assert abs(syn["v"].isna().mean() - 0.25) < 0.05
    assert set(syn["size"]) == {"S", "M", "L"}


def test_correlation_is_positive_definite_for_duplicated_columns():
    z = np.random.default_rng(0).normal(size=(50, 1))
    r = copula.correlation(np.hstack([z, z, z]))
    assert np.allclose(np.diag(r), 1) and np.linalg.eigvalsh(r).min() > 0
    np.linalg.cholesky(r)


def test_too_few_rows_is_a_generator_error():
    with pytest.raises(GeneratorError, match="at least 2 training rows"):
        _fit(_dependent(1))


def test_default_config_runs_copula_on_both_datasets_audited_one_run():
    from conftest import default_plan

    _, grid, plan = default_plan()
    for ds in ("census", "wdbc"):
        cells = grid.of(generator="copula", dataset=ds)
        assert [c.setting for c in cells] == ["default"]
        assert plan.is_audited(ds, "copula", "default") and not plan.release_is_audit(ds, "copula", "default")
