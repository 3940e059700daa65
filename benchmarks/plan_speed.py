"""How long Snakemake takes to plan a large grid, with and without code identity.

Builds a grid from config/config.yaml (both datasets) with ``--settings`` extra
MOSTLY AI DP settings per dataset (copies of its ``dp_noise1.5`` setting, each
with another noise multiplier), then times ``snakemake -n`` on it twice per
mode, ``code_identity: true`` and ``false``, in an empty working directory (every
job planned), and prints the job count, the best time of each mode and the
overhead of code identity (privsynth.identity: one digest per rule script and
generator per workflow start).

    python benchmarks/plan_speed.py                      # about 10,000 jobs
    python benchmarks/plan_speed.py --settings 200       # the issue-25 grid (about 2,900 jobs)

Timings depend on machine load: report the load (uptime) with the numbers.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

from _checkout import ENV, snakemake  # noqa: E402


def grid(settings: int) -> dict:
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for ds in cfg["datasets"].values():
        mai = ds["generators"]["mostlyai"]
        base = next(v for v in mai.values() if v.get("differential_privacy"))
        for i in range(settings):
            s = copy.deepcopy(base)
            s["differential_privacy"]["noise_multiplier"] = round(0.5 + i * 0.01, 2)
            mai[f"dp_grid{i}"] = s
    return cfg


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def dry_run(cfg: dict, code_identity: bool, cores: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(prefix="privsynth-plan-") as tmp:
        work = Path(tmp)
        configfile = work / "config.yaml"
        configfile.write_text(yaml.safe_dump({**cfg, "code_identity": code_identity}, sort_keys=False))
        env = {**ENV, "OMP_NUM_THREADS": "1"}
        env.setdefault("PRIVSYNTH_CENSUS", str(REPO.parent / "shared" / "data" / "census.csv.gz"))
        t0, cpu0 = time.perf_counter(), _children_cpu()
        proc = subprocess.run(
            [*snakemake(work, configfile, cores), "-n"], capture_output=True, text=True, env=env, cwd=work
        )
        seconds, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        sys.exit(f"snakemake -n failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    total = re.search(r"^total\s+(\d+)$", proc.stdout, re.M)
    return seconds, cpu, int(total.group(1)) if total else -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settings", type=int, default=700, help="extra MOSTLY AI DP settings per dataset")
    ap.add_argument("--repeat", type=int, default=2, help="runs per mode (the best counts)")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    cfg = grid(args.settings)
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min average)")
    best: dict[bool, tuple[float, float]] = {}
    jobs = 0
    for _ in range(args.repeat):
        for mode in (True, False):  # interleaved, so a load change hits both modes alike
            seconds, cpu, jobs = dry_run(cfg, mode, args.cores)
            print(
                f"code_identity={str(mode).lower():5}  {jobs} jobs  {seconds:6.1f} s wall  {cpu:6.1f} s CPU", flush=True
            )
            best[mode] = min(best.get(mode, (seconds, cpu)), (seconds, cpu), key=lambda t: t[1])
    (w1, c1), (w0, c0) = best[True], best[False]
    print(
        f"best (by CPU): with code identity {w1:.1f} s wall / {c1:.1f} s CPU, without {w0:.1f} s / {c0:.1f} s: "
        f"+{100 * (c1 / c0 - 1):.1f}% CPU ({jobs} jobs)"
    )
    print(f"load after: {os.getloadavg()[0]:.2f} (1-min average)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
