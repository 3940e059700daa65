"""Issue 21: the one-run audit certifies exactly what it says, and its tests can fail.

Each check is run on the real code and on a deliberately broken variant (the
pre-issue-21 swap layout, a Bonferroni count off by 3x, a coin-dependent
validation split) and must tell them apart.  Loops are sized so the broken variant
fails by a wide margin while CI stays fast; the full-size measurements are
benchmarks/one_run_known_eps.py (numbers in docs/audit.md).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from privsynth.audit.one_run import bounds, fdp
from privsynth.audit.one_run import layout as one_run_layout
from privsynth.audit.one_run import method as one_run
from privsynth.audit.one_run import verdict as one_run_verdict
from privsynth.errors import ConfigError


def _frame(n: int = 3000) -> pd.DataFrame:
    df = pd.DataFrame({"a": np.arange(n) * 7 % 1009, "b": np.arange(n) % 13})
    df.index = pd.Index(np.arange(n) + 10_000, name="row_id")
    return df


def _canaries(train: pd.DataFrame, m: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"row_id": rng.choice(train.index.to_numpy(), m, replace=False), "included": rng.integers(0, 2, m)}
    )


def _swap_layout(train, canaries, cap, seed, where, generator=None):
    """The pre-issue-21 builder: base rows drawn as cap - (#included), so a coin also swaps a base row."""
    inc = canaries.loc[canaries["included"] == 1, "row_id"].to_numpy()
    base = train.index[~train.index.isin(canaries["row_id"])].to_numpy()
    if cap is not None and len(base) + len(inc) > cap:
        base = np.random.default_rng([seed, 2]).choice(base, cap - len(inc), replace=False)
    return train.loc[np.sort(np.concatenate([base, inc]))], {}


def _one_row_apart(builder, train, can, cap, generator) -> bool:
    """Flip each of a few coins: the two training sets must differ by exactly that canary's row."""
    a, _ = builder(train, can, cap, 0, "t", generator)
    for j in range(0, len(can), max(1, len(can) // 7)):
        flip = can.copy()
        flip.loc[j, "included"] = 1 - flip.loc[j, "included"]
        b, _ = builder(train, flip, cap, 0, "t", generator)
        small, big = (a, b) if len(a) < len(b) else (b, a)
        extra = set(big.index) - set(small.index)
        if len(big) != len(small) + 1 or set(small.index) - set(big.index) or extra != {can.loc[j, "row_id"]}:
            return False
    return True


@pytest.mark.parametrize("generator", [None, "mostlyai"])
@pytest.mark.parametrize("cap", [None, 2000, 400])
def test_one_coin_changes_exactly_one_row_and_the_old_swap_fails(cap, generator):
    train = _frame()
    can = _canaries(train, 200, 1)
    assert _one_row_apart(one_run_layout.audit_training_set, train, can, cap, generator)
    if cap is not None:  # below the cap the old builder drew (cap - #included) base rows: a swap
        assert not _one_row_apart(_swap_layout, train, can, cap, generator)


def test_cap_sizes_and_errors():
    train = _frame()
    can = _canaries(train, 200, 2)
    at, info = one_run_layout.audit_training_set(train, can, 1000, 3, "t", "mostlyai")
    inc = int(can["included"].sum())
    assert info["base_rows"] == 800 and len(at) == 800 + inc == info["rows"] and info["subsampled_base_rows"]
    assert at.index.is_unique and not can.loc[can["included"] == 0, "row_id"].isin(at.index).any()
    # The base draw does not depend on the coins: the same base rows for the complementary coins.
    flip = can.assign(included=1 - can["included"])
    at2, _ = one_run_layout.audit_training_set(train, flip, 1000, 3, "t", "mostlyai")
    base = lambda d: set(d.index) - set(can["row_id"])  # noqa: E731
    assert base(at) == base(at2)
    # m up to the cap (base rows 0), not above.
    _, info = one_run_layout.audit_training_set(train, can, 200, 3, "t")
    assert info["base_rows"] == 0
    with pytest.raises(ConfigError, match=r"t.m: 200 canaries do not fit in the generator's training cap of 199"):
        one_run_layout.audit_training_set(train, can, 199, 3, "t")


def test_mostlyai_rule_is_the_engines():
    pytest.importorskip("mostlyai.sdk")
    import tempfile
    from pathlib import Path

    from mostlyai.sdk._data.pull_utils import export_chunk

    n = 2000
    with tempfile.TemporaryDirectory() as d:
        chunk = pd.DataFrame({"x": np.arange(n)})
        export_chunk(0, chunk, chunk.index.to_series(), 1, None, Path(d), False)
        val = pd.concat(pd.read_parquet(p) for p in Path(d).glob("part.*-val/*.parquet"))["x"].to_numpy()
    assert np.array_equal(np.sort(val), np.flatnonzero(one_run_layout.mostlyai_validation(np.arange(n))))
    assert 0.18 < len(val) / n < 0.22


def test_every_included_canary_is_trained_whatever_the_other_coins():
    train = _frame()
    split = one_run_layout.mostlyai_validation
    seen: dict[int, set[str]] = {}
    sorted_seen: dict[int, set[str]] = {}
    for seed in range(6):
        can = _canaries(train, 300, 0).assign(included=np.random.default_rng(seed).integers(0, 2, 300))
        at, info = one_run_layout.audit_training_set(train, can, 1500, 0, "t", "mostlyai")
        place = one_run_layout.placement(at.index.to_numpy(), can, split)
        assert info["trained_fraction"] == 1.0 and set(place[can["included"] == 1]) == {"training"}
        # Broken variant: rows sorted by id (the old order): a canary's split depends on the others' coins.
        old = np.sort(at.index.to_numpy())
        for rid, pl in zip(can["row_id"], one_run_layout.placement(old, can, split), strict=True):
            if pl != "excluded":
                sorted_seen.setdefault(rid, set()).add(pl)
        for rid, pl in zip(can["row_id"], place, strict=True):
            seen.setdefault(rid, set()).add(pl)
    assert all(s <= {"training", "excluded"} for s in seen.values())
    assert sum(len(s) > 1 for s in sorted_seen.values()) > 20


# --- Bonferroni: the family-wise error under an exact null ---------------------------------


def _null_hits(runs: int, tests: int | None, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    m, hits = 200, 0
    job = {"confidence": 0.8, "guess_fractions": [0.5], "guess_sides": ["both"], "low_fpr": 0.01}
    for _ in range(runs):
        can = pd.DataFrame(
            {"included": rng.integers(0, 2, m), "half": rng.permutation(np.arange(m) % 2), "tiebreak": rng.random(m)}
        )
        scores = {a: rng.normal(size=m) for a in one_run.ATTACK_NAMES}
        hits += one_run.evaluate(scores, can, job, 0.0, tests=tests)["epsilon_lb"] > 0
    return hits


def test_family_wise_error_holds_and_a_count_off_by_3x_is_caught():
    # 3 independent tests at confidence 0.8: a correct count rejects in <= 20% of null audits;
    # counting 1 test instead of 3 rejects in ~40% (measured 37-45%).
    runs = 150
    ok, broken = _null_hits(runs, None), _null_hits(runs, 1)
    limit = 0.2 * runs + 2.5 * math.sqrt(runs * 0.16)  # 20% + 2.5 sd
    assert ok <= limit < broken, (ok, broken, limit)


def test_interval_family_counts_every_interval():
    rng = np.random.default_rng(0)
    m = 400
    can = pd.DataFrame({"included": rng.integers(0, 2, m), "half": np.arange(m) % 2, "tiebreak": rng.random(m)})
    job = {"confidence": 0.99, "guess_fractions": [0.9], "guess_sides": ["both"], "low_fpr": 0.01}
    res = one_run.evaluate({a: rng.normal(size=m) for a in one_run.ATTACK_NAMES}, can, job, 1e-5)
    assert res["intervals"] == 7 and res["interval_alpha"] == pytest.approx(0.01 / 7)
    assert res["tests"] == 3 and res["per_test_alpha"] == pytest.approx(0.01 / 3)


# --- ceilings, GDP, verdicts ------------------------------------------------------------------


def test_ceilings_are_delta_aware():
    a = 0.01 / 3
    assert bounds.guessing_epsilon_lb(1000, 900, 900, 0.01 / 36, 1e-5) == pytest.approx(
        2.70, abs=0.01
    )  # the old design
    assert bounds.guessing_epsilon_lb(1000, 900, 900, a, 1e-5) == pytest.approx(4.91, abs=0.01)
    assert bounds.guessing_epsilon_lb(1000, 900, 900, a, 0.0) == pytest.approx(5.06, abs=0.01)
    assert bounds.guessing_epsilon_lb(100, 90, 90, a, 1e-5) == pytest.approx(2.71, abs=0.01)


def test_gdp_recursion_with_the_pure_dp_curve_reproduces_the_eps_delta_bound():
    # With f = the eps-DP trade-off curve the f-DP recursion must give Steinke et al.'s bound.
    def rejects_pure(m, r, v, eps, alpha):
        tau = alpha * r / m
        s, h = tau * v / r, tau * (r - v) / r
        for i in range(v - 1, -1, -1):
            hn = max(h, s * math.exp(-eps))
            s, h = s + i / (r - i) * (hn - h), hn
        return s + h > r / m

    for m, r, v in ((1000, 900, 900), (1000, 900, 654), (1000, 100, 100)):
        lo, hi = 0.0, 20.0
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if rejects_pure(m, r, v, mid, 0.01) else (lo, mid)
        assert lo == pytest.approx(bounds.guessing_epsilon_lb(m, r, v, 0.01), abs=0.01)
    assert fdp.mu_lb(1000, 900, 450, 0.01) == 0.0
    # A Gaussian mechanism, mu = 1: delta(eps) = Phi(-eps + 1/2) - e^eps Phi(-eps - 1/2) (Balle & Wang 2018).
    from scipy.stats import norm

    e = fdp.epsilon_at_delta(1.0, 1e-5)
    assert e == pytest.approx(4.377, abs=0.002)
    assert norm.cdf(-e + 0.5) - math.exp(e) * norm.cdf(-e - 0.5) == pytest.approx(1e-5, rel=1e-3)
    assert fdp.epsilon_at_delta(1.0, 0.0) is None


def test_verdict_wording_and_flags():
    v = one_run_verdict.verdict(0.0, 2.71, 1e-5, 5.0)
    assert v["verdict"].startswith("no leak detected (bound 0, ceiling 2.71 at δ = 1e-05)")
    assert v["cannot_refute"] and not v["contradicts_dp_claim"] and "cannot refute the claimed ε" in v["verdict"]
    v = one_run_verdict.verdict(1.2, 4.91, 1e-5, 1.0)
    assert v["contradicts_dp_claim"] and not v["cannot_refute"]
    v = one_run_verdict.verdict(0.0, 4.91, 0.0, None)
    assert v["flags"] == [] and "0.000" not in v["verdict"]
    claimed, src = one_run_verdict.claimed_epsilon({"epsilon": 1.0, "epsilon_trained": 1.3})
    assert claimed == 1.3 and "last epoch trained" in src


def test_release_mode_keeps_most_rows_base_rows(tmp_path):
    from privsynth.audit.one_run import stages as canary

    train = _frame()
    can = _canaries(train, 600, 4)
    train.to_parquet(tmp_path / "t.parquet")
    can.to_parquet(tmp_path / "c.parquet")
    paths = [str(tmp_path / f) for f in ("t.parquet", "c.parquet", "at.parquet", "at.json")]
    key = {"dataset": "d", "generator": "mostlyai", "setting": "s", "seed": 0, "where": "w", "cap": 1000}
    with pytest.raises(ConfigError, match=r"w.m: 600 canaries are more than half of the release's 1000-row"):
        canary.audit_train(*paths, {**key, "audit_run": "release"})
    info = canary.audit_train(*paths, {**key, "audit_run": "separate fit"})  # m up to the cap in a separate fit
    assert info["base_rows"] == 400 and info["trained_fraction"] == 1.0
