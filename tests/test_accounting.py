"""privsynth.accounting: a DP claim recomputed from its training trace (docs/accounting.md).

Known values come from the mechanism itself (the Gaussian mechanism's exact (ε, δ)
curve, RDP's closed form, k-fold composition) and from the issue's hand
recomputation of census dp_noise1.5; a claim whose sampling rate ignores the
engine's validation split must be flagged MISMATCH.  All in-process, a few seconds.
"""

from __future__ import annotations

import json
import logging
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from generator_settings import filled
from scipy.optimize import brentq
from scipy.stats import norm

from privsynth import accounting, summary
from privsynth.display import environment
from privsynth.report import dp_check

DELTA = 1e-5


def gaussian_epsilon(sigma: float, delta: float) -> float:
    """Exact ε of one Gaussian mechanism (sensitivity 1, noise σ) at δ (Balle & Wang 2018)."""

    def excess(eps: float) -> float:
        return (
            norm.cdf(-eps * sigma + 1 / (2 * sigma)) - math.exp(eps) * norm.cdf(-eps * sigma - 1 / (2 * sigma)) - delta
        )

    return brentq(excess, 0.0, 100.0)


def rdp_closed_form(sigma: float, steps: int, delta: float) -> float:
    """RDP of k unsampled Gaussian steps, k·α/(2σ²), converted as Opacus does (Balle et al. 2020)."""
    from opacus.accountants.rdp import RDPAccountant

    a = np.array(RDPAccountant.DEFAULT_ALPHAS, dtype=float)
    rdp = steps * a / (2 * sigma**2)
    eps = rdp + np.log1p(-1 / a) - (np.log(delta) + np.log(a)) / (a - 1)
    return float(np.nanmin(eps))


def trace(**kw: Any) -> dict[str, Any]:
    t = {
        "noise_multiplier": 1.5,
        "delta": DELTA,
        "sample_rate": 1 / 127,
        "steps": 630,
        "sampling": "poisson",
        "accountant": "rdp",
        "parts": {"value_protection": 1.0},
    }
    return {**t, **kw}


@pytest.mark.parametrize("sigma", [1.0, 2.0, 5.0])
def test_one_unsampled_gaussian_step_matches_the_exact_curve(sigma: float) -> None:
    exact = gaussian_epsilon(sigma, DELTA)
    hist = [(sigma, 1.0, 1)]
    prv = accounting.sgd_epsilon("prv", hist, DELTA)
    rdp = accounting.sgd_epsilon("rdp", hist, DELTA)
    assert exact - 1e-6 <= prv <= exact + 0.02  # PRV's upper bound, eps_error 0.01
    assert rdp == pytest.approx(rdp_closed_form(sigma, 1, DELTA), rel=1e-9)
    assert rdp > exact  # RDP is valid but loose


def test_k_unsampled_steps_compose_like_one_step_at_sigma_over_sqrt_k() -> None:
    k, sigma = 16, 4.0
    many = accounting.sgd_epsilon("rdp", [(sigma, 1.0, k)], DELTA)
    assert many == pytest.approx(accounting.sgd_epsilon("rdp", [(sigma / math.sqrt(k), 1.0, 1)], DELTA), rel=1e-9)
    assert many == pytest.approx(rdp_closed_form(sigma, k, DELTA), rel=1e-9)
    prv = accounting.sgd_epsilon("prv", [(sigma, 1.0, k)], DELTA)
    assert prv == pytest.approx(gaussian_epsilon(sigma / math.sqrt(k), DELTA), abs=0.02)


def test_the_issues_census_recomputation_gives_tighter_available() -> None:
    # Issue 22: σ 1.5, δ 1e-5, 5 epochs of batch 32 on ~4,050 trained rows: RDP ≈ 0.64, PRV ≈ 0.57,
    # the engine's 1.64 = 1.0 (value protection) + 0.64.
    claim = 1.0 + accounting.sgd_epsilon("rdp", [(1.5, 1 / 127, 630)], DELTA)
    assert claim == pytest.approx(1.64, abs=0.01)
    res = accounting.check(trace(), claim)
    assert res["dp_check"] == "tighter available", res
    assert res["dp_epsilon_rdp"] == pytest.approx(claim, rel=1e-3)
    assert res["dp_epsilon_prv"] == pytest.approx(1.57, abs=0.01)
    assert "PRV certifies" in res["dp_check_reason"]
    assert res["dp_epsilon_parts"] == f"DP-SGD {claim - 1:.3f} + value protection 1.000"


def test_sampling_rate_off_by_the_validation_split_is_a_mismatch(caplog: pytest.LogCaptureFixture) -> None:
    # The claim's rate counts all 5,000 rows the engine got, the loop sampled from ~4,050 of them.
    wrong = 1.0 + accounting.sgd_epsilon("rdp", [(1.5, 32 / 5000, 630)], DELTA)
    metrics = {"dataset": "census", "generator": "x", "setting": "dp", "epsilon": wrong, "dp_trace": trace()}
    with caplog.at_level(logging.INFO, logger="privsynth.accounting"):
        accounting.annotate(metrics)
    assert metrics["dp_check"] == "MISMATCH", metrics["dp_check_reason"]
    assert "below every recomputation" in metrics["dp_check_reason"]
    assert any(r.levelno == logging.WARNING and "MISMATCH (census/x/dp)" in r.getMessage() for r in caplog.records)


def test_agreement_and_the_claims_rounding() -> None:
    t = trace(sample_rate=0.01, steps=100, noise_multiplier=4.0, parts={}, claim_rounding=0.005)
    exact = accounting.sgd_epsilon("rdp", accounting.history(t), DELTA)
    assert accounting.check(t, exact, accountants=("rdp",))["dp_check"] == "agrees"
    # Printed with 2 decimals (as MOSTLY AI's messages are): still agrees, though > 2% off for this small ε.
    rounded = round(exact, 2)
    assert abs(rounded - exact) > 0.02 * exact or abs(rounded - exact) < 0.005
    assert accounting.check(t, rounded, accountants=("rdp",))["dp_check"] == "agrees"
    assert accounting.check({**t, "claim_rounding": 0}, exact * 0.9, accountants=("rdp",))["dp_check"] == "MISMATCH"


@pytest.mark.parametrize(
    "t, claim, reason",
    [
        (trace(), None, "no DP claim"),
        (None, 1.0, "no training trace"),
        (trace(sample_rate=None), 1.0, "trace incomplete: no sample_rate"),
        (trace(sampling="shuffled"), 1.0, "shuffled batches"),
    ],
)
def test_no_check_without_claim_trace_or_poisson_sampling(t: dict | None, claim: float | None, reason: str) -> None:
    res = accounting.check(t, claim)
    assert res["dp_check"] == "n/a" and reason in res["dp_check_reason"]


def _workspace(root: Path) -> Path:
    """An engine generator folder as the SDK leaves it: 317 trained / 83 validation rows of 400."""
    import torch

    model = root / "ModelStore" / "data:tabular"
    (model / "tgt-stats").mkdir(parents=True)
    (model / "model-data").mkdir()
    stats = {"no_of_training_records": 317, "no_of_validation_records": 83, "value_protection_epsilon_spent": 1.0}
    (model / "tgt-stats" / "stats.json").write_text(json.dumps(stats))
    torch.save(OrderedDict(history=[(1.5, 0.1, 9)], mechanism="rdp"), model / "model-data" / "dp-accountant.pt")
    return root


MESSAGES = [
    {"epoch": 0.11, "steps": 1, "is_checkpoint": 0, "dp_eps": 1.95, "dp_delta": 1e-5},
    {"epoch": 1.0, "steps": 9, "is_checkpoint": 1, "dp_eps": 2.5, "dp_delta": 1e-5},
    {"epoch": 2.0, "steps": 18, "is_checkpoint": 0, "dp_eps": 2.89, "dp_delta": 1e-5},
]


def test_mostlyai_trace_from_the_engine_workspace(tmp_path: Path) -> None:
    from privsynth.generators.mostlyai.trace import read_trace

    dp = {"noise_multiplier": 1.5, "max_grad_norm": 1.0, "delta": 1e-5}
    settings = filled("mostlyai", {"batch_size": None, "differential_privacy": dp})
    t = read_trace(_workspace(tmp_path), MESSAGES, settings, rows_given=400)
    assert (t["rows_sampled_from"], t["validation_rows"], t["rows_used"]) == (317, 83, 400)
    assert (t["sample_rate"], t["steps"], t["steps_trained"], t["steps_per_epoch"]) == (0.1, 9, 18, 9)
    assert (t["epochs"], t["epochs_trained"], t["accountant"], t["sampling"]) == (1.0, 2.0, "rdp", "poisson")
    # the engine chose the batch (not recorded): ceil(317/B) = 10 and 317 // B = 9 steps per epoch
    assert t["batch_size_physical"] == "32-35"
    assert t["parts"] == {"dp_sgd": 1.5, "value_protection": 1.0}
    assert "83 validation rows (21% of the 400" in accounting.not_covered(t)[0]
    res = accounting.check(t, 2.5)
    assert res["dp_check"] == "tighter available" and res["dp_epsilon_rdp"] == pytest.approx(2.5, abs=0.005)
    # everything trained (18 steps) recomputes the last message's ε
    assert res["dp_recomputed"]["rdp"]["total_trained"] == pytest.approx(2.89, abs=0.005)
    # the same claim over a rate that ignores the validation split: 1/ceil(400/32)
    wrong = 1.0 + accounting.sgd_epsilon("rdp", [(1.5, 1 / 13, 9)], 1e-5)
    assert accounting.check(t, round(wrong, 2))["dp_check"] == "MISMATCH"
    no_vp = read_trace(_workspace(tmp_path / "b"), MESSAGES, {**settings, "value_protection": False}, 400)
    assert no_vp["parts"]["value_protection"] == 0.0 and "value_protection: false" in no_vp["not_covered"][0]
    assert read_trace(tmp_path, MESSAGES, filled("mostlyai", {}), 400) is None  # no DP, no trace


def _metrics(tmp_path: Path, setting: str, eps: float | None, **extra: Any) -> str:
    m = {"dataset": "census", "generator": "g", "setting": setting, "positive_control": False, "epsilon": eps}
    m.update(extra)
    if eps is not None:
        m["dp_trace"] = trace()
    accounting.annotate(m)  # as privsynth.synthesize does for every cell
    path = tmp_path / f"{setting}.json"
    path.write_text(json.dumps(m))
    return str(path)


def test_summary_columns_and_the_report_lines(tmp_path: Path) -> None:
    good = 1.0 + accounting.sgd_epsilon("rdp", [(1.5, 1 / 127, 630)], DELTA)
    cells = [
        {"metrics": _metrics(tmp_path, "dp", good, one_run_epsilon_lb=0.0)},
        {"metrics": _metrics(tmp_path, "bad<b>", 1.2)},
        {"metrics": _metrics(tmp_path, "plain", None)},
    ]
    df = summary.build(cells)
    assert "dp_trace" not in df.columns and "dp_recomputed" not in df.columns
    assert list(df.set_index("setting")["dp_check"]) == ["MISMATCH", "tighter available", "n/a"]
    lines = {r["cell"]: r for r in dp_check.rows(df, "census")}
    assert set(lines) == {"g/dp", "g/bad<b>"} and lines["g/bad<b>"]["mismatch"]
    gaps = lines["g/dp"]["gaps"]
    assert any("clipped" not in g and "choosing among this dataset's 3 settings" in g for g in gaps)
    assert any("1 setting(s) without DP" in g for g in gaps)
    html = (
        environment().get_template("dp_check.html.j2").render(ds={"name": "census", "dp_check": list(lines.values())})
    )
    assert "DP CLAIM MISMATCH" in html and "g/bad&lt;b&gt;" in html and "<b>" not in html.split("DP claims")[1]
    assert pd.notna(df.set_index("setting").loc["dp", "dp_epsilon_prv"])
