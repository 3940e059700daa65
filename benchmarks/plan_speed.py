"""How long Snakemake takes to plan a large grid, with and without code identity (and before a change).

Builds a grid from config/config.yaml (both datasets) with ``--settings`` extra
MOSTLY AI DP settings per dataset (copies of its ``dp_noise1.5`` setting, each
with another noise multiplier), then times ``snakemake -n`` on it ``--repeat``
times per mode, ``code_identity: true`` and ``false``, in an empty working
directory (every job planned), and prints the job count, the best time of each
mode (by CPU time: the machine may be shared) and the overhead of code identity
(privsynth.identity: one digest per rule script and generator per workflow
start).  ``--base REF`` also times the tree of commit ``REF`` (``git archive``:
its Snakefile and its src/) in the same invocation, the runs interleaved, so a
change of load hits both alike.

    python benchmarks/plan_speed.py                      # about 12,000 jobs
    python benchmarks/plan_speed.py --base main          # ... this checkout beside main
    python benchmarks/plan_speed.py --settings 200       # the issue-25 grid (about 2,900 jobs)

Timings depend on machine load: report the load (printed before and after) with the numbers.
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

from _checkout import ENV, tests_helper  # noqa: E402


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


def dry_run(cfg: dict, code_identity: bool, cores: int, tree: Path = REPO) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, jobs) of ``snakemake -n`` of the checkout at ``tree``."""
    with tempfile.TemporaryDirectory(prefix="privsynth-plan-") as tmp:
        work = Path(tmp)
        configfile = work / "config.yaml"
        configfile.write_text(yaml.safe_dump({**cfg, "code_identity": code_identity}, sort_keys=False))
        env = {**ENV, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(tree / "src")}
        env.setdefault("PRIVSYNTH_CENSUS", str(REPO.parent / "shared" / "data" / "census.csv.gz"))
        command = tests_helper("workflow_command").snakemake_command
        cmd = [*command(work, configfile, cores, snakefile=tree / "Snakefile"), "-n"]
        t0, cpu0 = time.perf_counter(), _children_cpu()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
        seconds, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        sys.exit(f"snakemake -n failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    total = re.search(r"^total\s+(\d+)$", proc.stdout, re.M)
    return seconds, cpu, int(total.group(1)) if total else -1


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settings", type=int, default=700, help="extra MOSTLY AI DP settings per dataset")
    ap.add_argument("--repeat", type=int, default=2, help="runs per mode (the best counts)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--base", help="also time this commit's tree (e.g. main), interleaved with this checkout's")
    args = ap.parse_args()
    cfg = grid(args.settings)
    print(f"load before: {_load()} (1, 5, 15-min averages)")
    with tempfile.TemporaryDirectory(prefix="privsynth-base-") as tmp:
        trees = {"this checkout": REPO}
        if args.base:
            base = Path(tmp) / "tree"
            base.mkdir()
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.base], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
            trees = {args.base: base, **trees}
        best: dict[tuple[str, bool], tuple[float, float]] = {}
        jobs: dict[str, int] = {}
        for _ in range(args.repeat):
            for name, tree in trees.items():
                for mode in (True, False):  # interleaved, so a load change hits every mode alike
                    seconds, cpu, jobs[name] = dry_run(cfg, mode, args.cores, tree)
                    print(
                        f"{name:>14}  code_identity={str(mode).lower():5}  {jobs[name]} jobs  {seconds:6.1f} s wall  "
                        f"{cpu:6.1f} s CPU  (load {_load()})",
                        flush=True,
                    )
                    key = (name, mode)
                    best[key] = min(best.get(key, (seconds, cpu)), (seconds, cpu), key=lambda t: t[1])
    for name in trees:
        (w1, c1), (w0, c0) = best[(name, True)], best[(name, False)]
        print(
            f"best of {name} (by CPU): with code identity {w1:.1f} s wall / {c1:.1f} s CPU, without {w0:.1f} s / "
            f"{c0:.1f} s: +{100 * (c1 / c0 - 1):.1f}% CPU ({jobs[name]} jobs)"
        )
    print(f"load after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
