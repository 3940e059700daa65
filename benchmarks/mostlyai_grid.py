"""Wall time per mostlyai setting, and the tutorial-shaped table, from the real workflow.

Takes the mostlyai settings of a config (default: config/config.yaml, the capped
grid; config/tutorial.yaml is the uncapped tutorial), drops every other
generator and the fidelity reports, runs Snakemake, and prints per setting:
job wall time (the whole job: SDK start, analysis, training, model report,
generation, export), training time at the last checkpoint, accuracy, epsilon,
delta, epochs, stop reason. Also writes the rows as CSV.

    python benchmarks/mostlyai_grid.py                                # capped default grid
    python benchmarks/mostlyai_grid.py --datasets wdbc
    python benchmarks/mostlyai_grid.py --config config/tutorial.yaml --settings dp_noise1.5
    python benchmarks/mostlyai_grid.py --set max_epochs=2 --settings dp_noise1.5   # override

Timings depend on machine load: report the load (uptime) with the numbers.
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]

from _checkout import ENV, snakemake  # noqa: E402

from privsynth.generators.mostlyai import comparison_markdown, comparison_table  # noqa: E402
from privsynth.io import read_json  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--datasets", nargs="*", help="only these datasets")
    ap.add_argument("--settings", nargs="*", help="only these mostlyai settings")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=YAML", help="override a setting key")
    ap.add_argument("--workdir", default="/tmp/privsynth-bench-mostlyai")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", default=None, help="CSV of the rows (default: WORKDIR/mostlyai_grid.csv)")
    args = ap.parse_args()

    cfg = yaml.safe_load(Path(args.config).read_text())
    cfg = copy.deepcopy(cfg)
    cfg["qa"] = {**cfg.get("qa", {}), "enabled": False}
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    for ds in list(cfg["datasets"]):
        d = cfg["datasets"][ds]
        mai = (d.get("generators") or {}).get("mostlyai") or {}
        if args.settings:
            mai = {k: v for k, v in mai.items() if k in args.settings}
        if (args.datasets and ds not in args.datasets) or not mai:
            del cfg["datasets"][ds]
            continue
        for v in mai.values():
            v.update(overrides)
        d["generators"] = {"mostlyai": mai}
        d["audit"] = {"enabled": False}  # only the generator jobs are timed
        if d["source"].get("kind") == "census" and not d["source"].get("path"):
            shared = REPO.parent / "shared" / "data" / "census.csv.gz"
            d["source"]["path"] = os.environ.get("PRIVSYNTH_CENSUS") or (str(shared) if shared.is_file() else None)
    if not cfg["datasets"]:
        print("no mostlyai settings selected", file=sys.stderr)
        return 2

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    load_before = os.getloadavg()
    # Data preparation first, so the timed run is only the generator jobs.
    prep = [f"results/{ds}/data/train.parquet" for ds in cfg["datasets"]]
    base = snakemake(work, work / "config.yaml", args.cores)

    subprocess.run([*base, *prep], check=True, capture_output=True, env=ENV)
    t0 = time.perf_counter()
    # Only the generator jobs: no EDA, utility or report jobs in the timed run.
    cells = [
        f"results/{ds}/mostlyai/{name}/metrics.json"
        for ds, d in cfg["datasets"].items()
        for name in d["generators"]["mostlyai"]
    ]
    cmd = [*base, "--forcerun", "synthesize_mostlyai", "--keep-going", *cells]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)

    rows = []
    for ds, d in cfg["datasets"].items():
        metrics = []
        for name in d["generators"]["mostlyai"]:
            p = work / f"results/{ds}/mostlyai/{name}/metrics.json"
            if p.is_file():
                metrics.append(read_json(p))
            else:
                metrics.append({"setting": name, "stop_reason": "FAILED (see log)"})
        table = comparison_table(metrics)
        print(comparison_markdown(table, ds))
        for m in metrics:
            rows.append(
                {
                    "dataset": ds,
                    **{
                        c: m.get(c)
                        for c in (
                            "setting",
                            "runtime_seconds",
                            "fit_seconds",
                            "sample_seconds",
                            "training_seconds",
                            "accuracy",
                            "epsilon",
                            "delta",
                            "epochs",
                            "stop_reason",
                            "train_rows",
                            "rows",
                        )
                    },
                }
            )
    df = pd.DataFrame(rows)
    out = Path(args.out) if args.out else work / "mostlyai_grid.csv"
    df.to_csv(out, index=False)
    print(df.to_string(index=False))
    print(
        f"\nall mostlyai jobs: {total:.0f} s wall with --cores {args.cores} "
        f"(load average before: {load_before[0]:.1f}, after: {os.getloadavg()[0]:.1f}); rows in {out}"
    )
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
