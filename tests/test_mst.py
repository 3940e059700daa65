"""The mst generator (MST on Private-PGM): its privacy calculation, encoding, and small fits.

The accounting tests compare with the reference implementation's numbers
(private-pgm mechanisms/cdp2adp.py, the conversion of Canonne, Kamath & Steinke
2020) and with the exact privacy curve of the Gaussian mechanism, which every
valid zCDP-to-(eps, delta) conversion must bound from above.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from generator_settings import filled
from scipy.stats import norm

from privsynth import generators
from privsynth.generators.mst import accounting, encoding
from privsynth.schema import infer_schema, validate_frame

# cdp_rho(eps, delta) of the reference implementation (private-pgm, mechanisms/cdp2adp.py).
REFERENCE_RHO = [(1.0, 1e-5, 0.03055659519763956), (5.0, 1e-5, 0.5509734749393385), (1.0, 1e-9, 0.014973057673588523)]


@pytest.mark.parametrize("eps, delta, rho", REFERENCE_RHO)
def test_cdp_rho_matches_the_reference_conversion(eps, delta, rho):
    got = accounting.cdp_rho(eps, delta)
    assert got == pytest.approx(rho, rel=1e-9)
    # rho is the largest budget that still meets delta, and converts back to eps.
    assert accounting.cdp_delta(got, eps) <= delta
    assert accounting.cdp_delta(got * 1.001, eps) > delta
    assert accounting.cdp_eps(got, delta) == pytest.approx(eps, rel=1e-6)


@pytest.mark.parametrize("rho", [0.01, 0.03, 0.55, 2.0])
@pytest.mark.parametrize("eps", [0.5, 1.0, 5.0])
def test_cdp_delta_bounds_the_exact_gaussian_curve(rho, eps):
    """The Gaussian mechanism with sigma = 1/sqrt(2 rho) is rho-zCDP; its exact delta(eps) (Balle & Wang
    2018) can only be below a valid conversion, which is itself below the standard bound (Bun & Steinke)."""
    s = 1 / math.sqrt(2 * rho)
    exact = norm.cdf(1 / (2 * s) - eps * s) - math.exp(eps) * norm.cdf(-1 / (2 * s) - eps * s)
    bound = accounting.cdp_delta(rho, eps)
    assert exact <= bound + 1e-12
    if eps > rho:
        assert bound <= math.exp(-((eps - rho) ** 2) / (4 * rho)) + 1e-12


def test_budget_split_sums_to_rho():
    b = accounting.Budget(epsilon=1.0, delta=1e-5, columns=15)
    rho = accounting.cdp_rho(1.0, 1e-5)
    assert b.rho == rho
    assert b.rho_one_way + b.rho_select + b.rho_two_way == pytest.approx(rho, rel=1e-12)
    assert b.spent() == pytest.approx(rho, rel=1e-12)
    # 15 marginals at noise sigma*sqrt(15), each of L2 sensitivity 1: 15 / (2 * 15 sigma^2) = rho/3.
    assert 15 / (2 * b.stddev(15) ** 2) == pytest.approx(rho / 3)
    # 14 exponential mechanisms, each em_epsilon^2/8-zCDP: rho/3 in all.
    assert 14 * b.em_epsilon**2 / 8 == pytest.approx(rho / 3)
    rec = b.record()
    assert (rec["epsilon"], rec["delta"], rec["rho"]) == (1.0, 1e-5, rho)
    assert rec["dp_neighbouring"] == "add/remove one record"


def test_exponential_mechanism_probabilities():
    from privsynth.generators.mst.mechanism import exponential_mechanism

    rng = np.random.default_rng(0)
    # exp(eps q / 2): quality 2 ln 3 / eps apart is 3x as likely.
    eps = 1.0
    q = np.array([0.0, 2 * math.log(3) / eps])
    draws = np.array([exponential_mechanism(q, eps, 1.0, rng) for _ in range(2000)])
    assert abs(draws.mean() - 0.75) < 0.04
    assert exponential_mechanism(np.array([0.0, 5.0, 1.0]), 1e6, 1.0, rng) == 1


def test_encoding_uses_public_bounds_and_decodes_within_them():
    df = pd.DataFrame(
        {
            "gain": [0, 0, 0, 10, 99_999, 5_000],  # countable, wide range: lower bound + bins
            "n": [1, 2, 5, 3, 4, 1],  # countable, narrow range: one code per integer
            "x": [0.5, 0.0, 1.0, 0.25, 0.75, 0.5],  # real
            "c": ["a", "b", "a", "b", "a", "a"],
        }
    )
    schema = infer_schema(df)
    cols = encoding.columns(schema, bins=8)
    by = {c.name: c for c in cols}
    assert by["n"].kind == "integer" and by["n"].size == 5
    assert by["gain"].kind == "bins" and by["gain"].size == 9 and by["x"].size == 9
    codes = encoding.encode(df, cols)
    for c in cols:
        assert codes[c.name].min() >= 0 and codes[c.name].max() < c.size
    assert list(codes["gain"][:3]) == [0, 0, 0]  # the lower bound is a code of its own
    back = encoding.decode(codes, cols, np.random.default_rng(0))
    assert validate_frame(back, schema).valid.all()
    assert list(back["n"]) == list(df["n"]) and list(back["c"]) == list(df["c"])
    assert list(back["gain"][:3]) == [0, 0, 0] and back["gain"].iloc[4] > 87_000
    # Bounds come from the schema, never from the data being encoded.
    narrow = schema.column("x") | {"min": 0.0, "max": 10.0}
    wide = encoding.columns(type(schema)([narrow]), bins=10)[0]
    assert list(encoding.encode(df[["x"]], [wide])["x"]) == [1, 0, 1, 1, 1, 1]


def _dependent(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2])
    b = np.where(a == "x", "p", np.where(rng.random(n) < 0.8, "q", "p"))  # b depends on a
    c = rng.choice(["u", "v"], n)  # independent
    return pd.DataFrame({"a": a, "b": b, "c": c, "k": rng.integers(0, 5, n)})


def _fit(train, schema, seed=0, **settings):
    g = generators.load("mst")()
    g.fit(train, schema, filled("mst", {"iters": 100, "select_iters": 50, **settings}), seed)
    return g


def test_huge_epsilon_recovers_marginals_and_a_fixed_seed_repeats(mst_engine):
    train = _dependent(3000)
    schema = infer_schema(train)
    g = _fit(train, schema, epsilon=1e5)
    syn = g.sample(3000)
    assert validate_frame(syn, schema).valid.all()
    m = g.metrics()
    assert "a-b" in m["mst_tree"].split("; ") or "b-a" in m["mst_tree"].split("; ")
    assert m["mst_compressed_columns"] == 0
    for col in ["a", "b", "c"]:
        real, fake = train[col].value_counts(normalize=True), syn[col].value_counts(normalize=True)
        assert (real - fake.reindex(real.index, fill_value=0)).abs().max() < 0.03, col
    joint = pd.crosstab(train["a"], train["b"], normalize=True)
    got = pd.crosstab(syn["a"], syn["b"], normalize=True).reindex_like(joint).fillna(0)
    assert (joint - got).abs().to_numpy().max() < 0.03
    # The same seed is the same release (noise, selection and sampling all seeded).
    again = _fit(train, schema, epsilon=1e5).sample(3000)
    pd.testing.assert_frame_equal(syn, again)
    other = _fit(train, schema, seed=1, epsilon=1e5).sample(3000)
    assert not syn.equals(other)


@pytest.mark.parametrize("dataset", ["wdbc", "census"])
def test_output_is_schema_valid_on_the_real_datasets(dataset, request, mst_engine):
    from privsynth.datasets import load_raw

    if dataset == "wdbc":
        raw = load_raw("wdbc", {"kind": "wdbc"})
        raw = raw[[*raw.columns[:7], "target"]]  # a slice of its columns: the fit's cost is jax compiling per column
    else:
        raw = pd.read_csv(request.getfixturevalue("census_path")).sample(400, random_state=0).reset_index(drop=True)
    schema = infer_schema(raw)
    g = _fit(raw, schema, epsilon=1.0)
    syn = g.sample(200)
    check = validate_frame(syn, schema)
    assert check.valid.all(), check.reasons
    assert list(syn.columns) == schema.names and len(syn) == 200
    m = g.metrics()
    assert m["epsilon"] == 1.0 and m["delta"] == 1e-5 and m["rho"] == pytest.approx(0.03055659519763956)
    assert len(m["mst_tree"].split("; ")) == len(schema) - 1


def test_default_config_runs_mst_at_eps_1_and_5_with_a_separate_one_run_audit_fit():
    from conftest import default_plan

    _, grid, plan = default_plan()
    for ds in ("census", "wdbc"):
        cells = {c.setting: c for c in grid.of(generator="mst", dataset=ds)}
        assert sorted(cells) == ["eps1", "eps5"]
        for name, eps in (("eps1", 1.0), ("eps5", 5.0)):
            s = cells[name].settings
            assert (s["epsilon"], s["delta"]) == (eps, 1e-5)
            assert s["sample_size"]  # a fixed public count, not the training row count
            assert plan.is_audited(ds, "mst", name) and not plan.release_is_audit(ds, "mst", name)
