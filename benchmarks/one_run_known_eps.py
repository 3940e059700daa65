"""One-run audit on mechanisms of known privacy: soundness and tightness over many seeds.

* Known ε: the rr_canary test plugin (randomized response per canary, exactly ε-DP under
  add/remove of one canary, δ = 0) on census, for ε in --eps and m in --m, over
  --seeds audit seeds each.  m <= 1000 uses the default run's capped layout (5,000-row
  cap, MOSTLY AI's position split, holdout reference for the density attack); larger m
  the whole training split.  "before" re-evaluates the same scores with the
  pre-issue-21 design (36 tests: 6 guess fractions x 2 sides x 3 attacks), "after"
  with the default 3 pre-registered tests.  A bound above the true ε is a violation.
* Negative control: the holdout generator (real holdout rows: no canary is in them) over
  --null-seeds seeds; any ε_lb > 0 is a false positive.

    python benchmarks/one_run_known_eps.py --out /tmp/known_eps            # full size
    python benchmarks/one_run_known_eps.py --seeds 3 --m 1000 --null-seeds 2  # smoke

Prints one JSON line per run and a markdown summary; writes results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import _checkout
import numpy as np
import pandas as pd

from privsynth.audit.one_run import fdp
from privsynth.audit.one_run import method as one_run
from privsynth.datasets import load_schema

REPO = _checkout.REPO
OLD = {"guess_fractions": [0.02, 0.05, 0.1, 0.25, 0.5, 0.9], "guess_sides": ["both", "in"]}


def run(train, ref, schema, rr, eps: float, m: int, seed: int) -> dict:
    cap, gen = (5000, "mostlyai") if m <= 1000 else (None, None)
    scores, can, p, info = rr.audit_scores(
        train,
        ref,
        schema,
        eps,
        m=m,
        seed=seed,
        cap=cap,
        generator=gen,
        attacks=one_run.ATTACK_NAMES,
        extra_rows=500,
        where="bench",
    )
    job = p.attack_slice()
    after = one_run.evaluate(scores, can, job, 0.0)
    before = one_run.evaluate(scores, can, {**job, **OLD}, 0.0)
    return {
        "eps": eps,
        "m": m,
        "seed": seed,
        "cap": cap,
        "after": after["epsilon_lb"],
        "after_correct": f"{after['correct']}/{after['guesses']}",
        "before": before["epsilon_lb"],
        "ceiling_after": after["ceiling"],
        "ceiling_before": before["ceiling"],
        "gdp_mu_lb": after["gdp"]["mu_lb"],
        "gdp_mu_true": fdp.mu_of_pure_dp(eps),
        "trained_fraction": info["trained_fraction"],
    }


def null_run(train, holdout, ref, schema, m: int, seed: int) -> dict:
    p = one_run.OneRunProtocol.from_config({"m": m, "seed": seed, "outliers": 20}, "bench")
    can = one_run.draw_canaries(train, schema, p.canary_slice())
    syn = holdout.sample(2000, random_state=seed)[schema.names].reset_index(drop=True)
    records = train.loc[can["row_id"].to_numpy(), schema.names].reset_index(drop=True)
    scores, _ = one_run.attack_scores(records, syn, ref, schema, list(one_run.ATTACK_NAMES))
    r = one_run.evaluate(scores, can, p.attack_slice(), 0.0)
    return {"null_seed": seed, "epsilon_lb": r["epsilon_lb"], "gdp_mu_lb": r["gdp"]["mu_lb"], "auc": r["auc"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--census", default=os.environ.get("PRIVSYNTH_CENSUS", str(REPO.parent / "shared/data/census.csv.gz"))
    )
    ap.add_argument("--out", default="/tmp/privsynth-bench-known-eps")
    ap.add_argument("--eps", type=float, nargs="*", default=[1.0, 2.0, 4.0])
    ap.add_argument("--m", type=int, nargs="*", default=[1000, 5000])
    ap.add_argument("--seeds", type=int, default=30, help="seeds at m <= 1000 (a third of them, at least 10, above)")
    ap.add_argument("--null-seeds", type=int, default=20)
    a = ap.parse_args()
    d = Path(a.out)
    d.mkdir(parents=True, exist_ok=True)
    bench = _checkout.load(REPO / "benchmarks" / "one_run_vs_shadow.py")
    bench.prepare(a.census, d)
    rr = _checkout.load(REPO / "tests" / "plugins" / "rr_canary.py")
    train, holdout = pd.read_parquet(d / "train.parquet"), pd.read_parquet(d / "holdout.parquet")
    schema = load_schema(d / "schema.json")
    ref = holdout.iloc[:1500][schema.names]
    rows, nulls = [], []
    t0 = time.perf_counter()
    for m in a.m:
        n = a.seeds if m <= 1000 else max(10, a.seeds // 3)
        for eps in a.eps:
            for seed in range(n):
                rows.append(run(train, ref, schema, rr, eps, m, seed))
                print(json.dumps(rows[-1]), flush=True)
    for seed in range(a.null_seeds):
        nulls.append(null_run(train, holdout, holdout.iloc[1500:3000][schema.names], schema, 1000, seed))
        print(json.dumps(nulls[-1]), flush=True)
    (d / "results.json").write_text(json.dumps({"known_eps": rows, "null": nulls}, indent=2))
    print(f"\n{time.perf_counter() - t0:.0f} s\n")
    print(
        "| true ε | m | seeds | ε_lb before (mean, max) | ε_lb after (mean, max) | ratio after | above true ε | μ_lb max (true μ) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    df = pd.DataFrame(rows)
    for (m, eps), g in df.groupby(["m", "eps"]):
        print(
            f"| {eps:g} | {m} | {len(g)} | {g['before'].mean():.2f}, {g['before'].max():.2f} | "
            f"{g['after'].mean():.2f}, {g['after'].max():.3f} | {g['after'].mean() / eps:.2f} | "
            f"{int((g['after'] > eps).sum())} (before {int((g['before'] > eps).sum())}) | "
            f"{g['gdp_mu_lb'].max():.2f} ({g['gdp_mu_true'].iloc[0]:.2f}) |"
        )
    if nulls:
        lb = np.array([r["epsilon_lb"] for r in nulls])
        print(f"\nnegative control: {int((lb == 0).sum())}/{len(lb)} seeds with ε_lb = 0 (max {lb.max():.3f})")


if __name__ == "__main__":
    main()
