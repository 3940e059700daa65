"""Time the ML-utility evaluation and the report build on prepared data.

Usage: python benchmarks/utility_report.py [RESULTS_DIR] [--repeat N]
RESULTS_DIR is a finished run's results/ (default: results). Prints one line
per measurement: median seconds over N repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from privsynth import report, utility
from privsynth.io import read_json


def timed(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?", default="results")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    res = Path(args.results)
    summary = report.load_summary(res / "summary.csv")
    for ds in summary["dataset"].unique():
        base = read_json(res / ds / "data" / "utility_baseline.json")
        train = pd.read_parquet(res / ds / "data" / "train.parquet").reset_index(drop=True)
        holdout = pd.read_parquet(res / ds / "data" / "holdout.parquet").reset_index(drop=True)
        s = timed(
            lambda t=train, h=holdout, b=base: utility.evaluate(t, h, b["target"], threads=args.threads), args.repeat
        )
        print(f"utility.evaluate {ds}: {len(train)} train x {train.shape[1]} cols, threads={args.threads}: {s:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        plots = {ds: {n: Path(tmp) / ds / f"{n}.svg" for n in report.PLOT_NAMES} for ds in summary["dataset"].unique()}
        s = timed(lambda: [report.make_plots(summary, ds, p) for ds, p in plots.items()], args.repeat)
        print(f"report.make_plots, {len(plots)} dataset(s), {len(summary)} runs: {s:.2f} s")
        s = timed(lambda: report.render(summary, res, Path(tmp) / "report" / "index.html", plots), args.repeat)
        print(f"report.render, {len(summary)} runs: {s:.2f} s")


if __name__ == "__main__":
    main()
