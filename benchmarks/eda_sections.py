"""Seconds and megabytes of each EDA report section, per dataset.

    python benchmarks/eda_sections.py [--datasets census wdbc] [--out results/bench_eda.csv]

Each section is rendered alone through privsynth.eda.eda_report (the pipeline's
code path: edvart notebook, kernel, offline post-processing), so every row
includes the kernel start-up; the "overview" row is close to that fixed cost.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from privsynth import eda

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((REPO / "config/config.yaml").read_text())["eda"]


def load(name: str) -> pd.DataFrame:
    if name == "census":
        path = os.environ.get(
            "PRIVSYNTH_CENSUS", str(Path(__file__).resolve().parents[2] / "shared/data/census.csv.gz")
        )
        df = pd.read_csv(path)
    else:
        from sklearn.datasets import load_breast_cancer

        df = load_breast_cancer(as_frame=True).frame
    # The pipeline reports on the 80 % training split (same split seed).
    return df.sample(frac=0.8, random_state=42)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["census", "wdbc"])
    ap.add_argument("--sections", nargs="+", default=[*eda.SECTIONS, "default"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = []
    for name in args.datasets:
        df = load(name)
        for section in args.sections:
            # "default": the eda block of config/config.yaml (sections, wide-data rule).
            settings = dict(DEFAULTS) if section == "default" else {"sections": [section], "timeout": 3600}
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp, "r.html")
                t0 = time.perf_counter()
                eda.eda_report(df, out, settings, title=name, threads=1)
                sec = time.perf_counter() - t0
                mb = out.stat().st_size / 1e6
            rows.append(
                {
                    "dataset": name,
                    "rows": len(df),
                    "columns": df.shape[1],
                    "section": section,
                    "seconds": round(sec, 1),
                    "MB": round(mb, 2),
                    "load_avg": round(os.getloadavg()[0], 1),
                }
            )
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
