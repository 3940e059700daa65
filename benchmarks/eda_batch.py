"""Per-set cost of the synthetic-set EDA reports: one job per set vs one kernel for all.

    python benchmarks/eda_batch.py --dataset wdbc --sets 4
    python benchmarks/eda_batch.py --dataset census --rows 5000 --sets 3

Stand-ins for the synthetic sets are random samples of the real training split
(a report's cost depends on the shape of the data, not on where it came from).
Three modes, run back to back on the same sets, each in a fresh Python process:

  per-set      one process per set, each with its own kernel (what eda.batch: false
               does: one Snakemake job per set; the job's Snakemake overhead is not
               included), sections = eda.sections
  batch        one process, one kernel for all sets (eda.batch: true), eda.sections
  batch-light  as batch, with eda.synthetic_sections (the default config's lighter list)

Prints seconds per set and the ratios, with the load average before and after
each mode: on a shared machine only the ratios of back-to-back runs mean much.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

DEFAULTS = yaml.safe_load((REPO / "config/config.yaml").read_text())["eda"]

WORKER = r"""
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
from privsynth import eda
spec = json.loads(sys.argv[1])
items = [(pd.read_parquet(p), out, f"set {{i}}", "stand-in synthetic set") for i, (p, out) in enumerate(spec["sets"])]
if spec["batch"]:
    eda.eda_reports(items, spec["settings"])
else:
    for df, out, title, desc in items:
        eda.eda_report(df, out, spec["settings"], title, desc)
print(json.dumps({{"seconds": time.perf_counter() - t0}}))
"""


def load(name: str):
    import pandas as pd

    if name == "census":
        shared = REPO.parent / "shared" / "data" / "census.csv.gz"
        df = pd.read_csv(os.environ.get("PRIVSYNTH_CENSUS") or shared)
    else:
        from sklearn.datasets import load_breast_cancer

        df = load_breast_cancer(as_frame=True).frame
    return df.sample(frac=0.8, random_state=42)


def run_mode(sets: list[tuple[str, str]], settings: dict, batch: bool, per_process: bool) -> float:
    code = WORKER
    groups = [[s] for s in sets] if per_process else [sets]
    t0 = time.perf_counter()
    for g in groups:
        spec = json.dumps({"sets": g, "settings": settings, "batch": batch})
        proc = subprocess.run([sys.executable, "-c", code, spec], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="wdbc", choices=["wdbc", "census"])
    ap.add_argument("--rows", type=int, default=None, help="rows per stand-in set (default: all training rows)")
    ap.add_argument("--sets", type=int, default=4)
    ap.add_argument("--modes", nargs="+", default=["per-set", "batch", "batch-light"])
    args = ap.parse_args()

    from privsynth.eda import synthetic_settings

    real = load(args.dataset)
    settings = {k: DEFAULTS.get(k) for k in ("sections", "wide_columns", "wide_skip", "max_rows", "timeout")}
    light = synthetic_settings({**settings, "synthetic_sections": DEFAULTS.get("synthetic_sections")})
    results = {}
    with tempfile.TemporaryDirectory(prefix="privsynth-eda-batch-") as tmp:
        sets = []
        for i in range(args.sets):
            df = real.sample(n=args.rows, random_state=i) if args.rows else real
            p = Path(tmp, f"set{i}.parquet")
            df.reset_index(drop=True).to_parquet(p)
            sets.append((str(p), str(Path(tmp, f"set{i}.html"))))
        for mode in args.modes:
            load0 = os.getloadavg()[0]
            s = run_mode(sets, light if mode == "batch-light" else settings, mode != "per-set", mode == "per-set")
            sizes = [Path(h).stat().st_size for _, h in sets]
            results[mode] = s / len(sets)
            print(
                f"{mode:12s} {s:7.1f} s for {len(sets)} sets = {s / len(sets):6.1f} s/set, "
                f"{sum(sizes) / len(sizes) / 1e6:.1f} MB/report, load {load0:.1f} -> {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    base = results.get("per-set")
    if base:
        for mode, v in results.items():
            print(f"{mode}: {v / base:.2f} x the per-set cost")
    print(f"sections: {settings['sections']}; light: {light['sections']} (wide data drops {settings['wide_skip']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
