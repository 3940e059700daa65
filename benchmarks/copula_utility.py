"""Utility and fidelity of the copula generator on a prepared dataset, beside the marginals floor.

Fits ``copula`` (and ``marginals``, the floor) on a dataset's training split
through the generator classes, as the synthesis rule does, and prints per
generator the ML utility AUC (classifier fit on the sample, scored on the real
holdout, as the utility rule does), the real-train AUC (the ceiling), the
fit/sample seconds and the load average.

    python benchmarks/copula_utility.py --dataset wdbc
    python benchmarks/copula_utility.py --dataset census --rows 5000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

from _checkout import tests_helper  # noqa: E402

from privsynth import generators  # noqa: E402
from privsynth.datasets import load_schema, load_split  # noqa: E402
from privsynth.utility import evaluate  # noqa: E402

filled = tests_helper("generator_settings").filled


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--dataset", default="wdbc")
    ap.add_argument("--rows", type=int, default=None, help="rows to sample (default: the training rows)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--generators", nargs="+", default=["copula", "marginals"])
    ap.add_argument("--workdir", default="/tmp/privsynth-bench-copula")
    args = ap.parse_args()
    # Data through the workflow's own rules (as benchmarks/mostlyai_curves.py does).
    from mostlyai_curves import prepare

    cfg = yaml.safe_load(Path(args.config).read_text())
    data = prepare(cfg, args.dataset, Path(args.workdir))
    train, holdout = load_split(data / "train.parquet"), load_split(data / "holdout.parquet")
    schema = load_schema(data / "schema.json")
    target = cfg["datasets"][args.dataset]["target"]
    real = evaluate(train, holdout, target)["auc"]
    print(f"{args.dataset}: {len(train)} training rows, real-train AUC {real:.4f} (load {os.getloadavg()[0]:.2f})")
    for name in args.generators:
        for seed in args.seeds:
            cls = generators.load(name)
            g = cls(threads=1)
            t0 = time.perf_counter()
            g.fit(train.reset_index(drop=True), schema, filled(name, {}), seed)
            t1 = time.perf_counter()
            syn = g.sample(args.rows or len(train))
            t2 = time.perf_counter()
            auc = evaluate(syn, holdout, target, seed=seed)["auc"]
            print(
                f"{name} seed {seed}: utility AUC {auc:.4f}, fit {t1 - t0:.1f} s, sample {t2 - t1:.1f} s "
                f"(load {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
