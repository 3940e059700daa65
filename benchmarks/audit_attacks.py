"""Time the audit's attack stage on census-sized shadow sets.

Default: n = m = 1000 rows per set, 500 shadow + 500 evaluation pairs (2000
synthetic sets), 3 targets (2 outliers + 1 random), the default attacks.  The
synthetic sets are what the ``copy`` generator would release (the training rows),
so only the attack stage is timed: feature extraction, training (with the
cross-fitted threshold selection) and scoring of every set for every target,
plus the metrics.  Prints seconds per shadow set per target for each attack.

    python benchmarks/audit_attacks.py [--pairs 500] [--n 1000] [--census PATH]

The census file: --census, else $PRIVSYNTH_CENSUS, else ../shared/data/census.csv.gz.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402

from privsynth import datasets  # noqa: E402
from privsynth.audit.attacks import SyntheticSets, make_attacks  # noqa: E402
from privsynth.audit.encoding import Encoder  # noqa: E402
from privsynth.audit.report import run_attacks  # noqa: E402
from privsynth.audit.threat_model import AuditProtocol, TargetedMIA  # noqa: E402
from privsynth.schema import infer_schema  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=500, help="shadow pairs and evaluation pairs (each)")
    ap.add_argument("--n", type=int, default=1000, help="rows per training set and per synthetic set")
    ap.add_argument("--attacks", default="groundhog,closest_distance,density")
    ap.add_argument("--classifier", default="random_forest", choices=["random_forest", "ridge"], help="Groundhog's")
    ap.add_argument("--census", default=None)
    args = ap.parse_args()

    path = args.census or os.environ.get(datasets.CENSUS_ENV) or str(REPO.parent / "shared/data/census.csv.gz")
    raw = datasets.load_raw("census", datasets.resolve_source("census", {"kind": "census", "path": path}))
    train, _ = datasets.split(raw, 0.2, 42)
    schema = infer_schema(train)
    names = args.attacks.split(",")
    opts = {"groundhog": {"classifier": args.classifier}} if "groundhog" in names else {}
    proto = AuditProtocol.from_config(
        {"n": args.n, "n_shadow": args.pairs, "n_eval": args.pairs, "targets": {"outliers": 2, "random": 1},
         "attacks": names, "attack_options": opts}  # fmt: skip
    )
    mia = TargetedMIA.sample(train, schema, proto)
    enc = Encoder(schema)
    full = enc.encode(train)
    pos = {rid: i for i, rid in enumerate(train.index)}
    rng = np.random.default_rng(0)
    # What `copy` releases: each training set's rows, shuffled.
    rows = np.stack([rng.permutation([pos[r] for r in rr]) for rr in mia.sets["rows"]])
    sets = SyntheticSets(full.num[rows], full.cat[rows], enc)
    S, k = len(sets), len(mia.targets)
    knowledge = mia.knowledge(train, schema, args.n, args.n)
    print(f"census: {S} synthetic sets of {args.n} rows ({args.pairs}+{args.pairs} pairs), {k} targets; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    # Wall time depends on what else runs on the machine; CPU time (this process,
    # all threads) is the cost, and equals wall time on an idle machine.
    for attack in make_attacks(names, opts, "benchmark"):
        sets._cache.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_attacks(mia, knowledge, sets, [attack], mia.sets["set_id"].to_numpy(), 0.95)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        auc = ", ".join(f"{a:.2f}" for a in res.results["auc"])
        name = f"{attack.name} ({args.classifier})" if attack.name == "groundhog" else attack.name
        print(
            f"{name:>26}: {1000 * dt / (S * k):6.2f} ms per set per target wall "
            f"({dt:.1f} s), {1000 * dc / (S * k):6.2f} ms CPU ({dc:.1f} s); AUC {auc}"
        )


if __name__ == "__main__":
    main()
