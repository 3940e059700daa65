"""Time the audit's attack stage and report each attack's AUC, on census-sized shadow sets.

Default: the quick protocol (n = m = 1000 rows per set, 100 shadow + 50 evaluation
pairs = 300 synthetic sets), 3 targets (2 outliers + 1 random), every registered
attack.  The synthetic sets are simulated, so only the attack stage is timed:
``--generator copy`` releases each training set's rows; ``marginals`` resamples
every column independently from the set's rows (as the ``marginals`` generator
does: exact training values, no joint structure).  Times: feature extraction,
training (with the cross-fitted held-out shadow scores), scoring of every set for
every target, and the metrics.

``--tapas`` also times TAPAS-style Groundhog feature extraction on the same sets:
per target and per set, a dense one-hot table, per-column statistics and
histograms and ``np.corrcoef`` (what TAPAS's ``F_naive + F_hist + F_corr`` does,
recomputed per target because TAPAS's threat model is per target).

To benchmark another checkout (e.g. the code before a change) put its src/ first:
``PYTHONPATH=../main/src python benchmarks/audit_attacks.py``, so before/after run on
the same machine back to back; attacks that checkout does not know are skipped.

    python benchmarks/audit_attacks.py [--shadow 100 --eval 50] [--generator marginals] [--tapas]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shadow", type=int, default=100, help="shadow pairs")
    ap.add_argument("--eval", type=int, default=50, help="evaluation pairs")
    ap.add_argument("--n", type=int, default=1000, help="rows per training set and per synthetic set")
    ap.add_argument("--attacks", default=None, help="comma-separated (default: every registered attack)")
    ap.add_argument("--classifier", default="random_forest", choices=["random_forest", "ridge"], help="Groundhog's")
    ap.add_argument("--generator", default="copy", choices=["copy", "marginals"])
    ap.add_argument("--tapas", action="store_true", help="also time TAPAS-style per-target feature extraction")
    ap.add_argument("--census", default=None)
    args = ap.parse_args()

    import numpy as np

    from privsynth import datasets
    from privsynth.audit.common.attacks import ATTACKS, SyntheticSets, make_attacks
    from privsynth.audit.common.encoding import Encoder
    from privsynth.audit.common.threat_model import AuditProtocol, TargetedMIA
    from privsynth.audit.shadow.report import run_attacks
    from privsynth.schema import infer_schema

    path = args.census or os.environ.get(datasets.CENSUS_ENV) or str(REPO.parent / "shared/data/census.csv.gz")
    raw = datasets.load_raw("census", datasets.resolve_source("census", {"kind": "census", "path": path}))
    train, _ = datasets.split(raw, 0.2, 42)
    schema = infer_schema(train)
    names = args.attacks.split(",") if args.attacks else list(ATTACKS)
    skipped = [a for a in names if a not in ATTACKS]
    names = [a for a in names if a in ATTACKS]
    opts = {"groundhog": {"classifier": args.classifier}} if "groundhog" in names else {}
    proto = AuditProtocol.from_config(
        {
            "n": args.n,
            "n_shadow": args.shadow,
            "n_eval": args.eval,
            "targets": {"outliers": 2, "random": 1},
            "attacks": names,
            "attack_options": opts,
        }
    )
    mia = TargetedMIA.sample(train, schema, proto)
    pos = {rid: i for i, rid in enumerate(train.index)}
    rng = np.random.default_rng(0)
    m = min(len(r) for r in mia.sets["rows"])  # add/remove sets hold n - k ... n rows
    picks = []
    for rr in mia.sets["rows"]:
        p = np.array([pos[r] for r in rr])
        if args.generator == "copy":
            picks.append(rng.permutation(p)[:m])
        else:  # marginals: each column resampled on its own from the set's rows
            picks.append(np.stack([rng.choice(p, m) for _ in schema.names], axis=1))
    if args.generator == "copy":
        frame = train.iloc[np.concatenate(picks)].reset_index(drop=True)
    else:
        idx = np.concatenate(picks)
        frame = train.iloc[:0].copy()
        frame = frame.reindex(range(len(idx)))
        for j, col in enumerate(schema.names):
            frame[col] = train[col].to_numpy()[idx[:, j]]
    enc = Encoder(schema)
    e = enc.encode(frame)
    S, k = len(mia.sets), len(mia.targets)
    try:  # this checkout's SyntheticSets carries the raw values and rows (exact-match, text attacks)
        sets = SyntheticSets(e.num.reshape(S, m, -1), e.cat.reshape(S, m, -1), enc, e.raw.reshape(S, m, -1), frame)
    except (TypeError, AttributeError):
        sets = SyntheticSets(e.num.reshape(S, m, -1), e.cat.reshape(S, m, -1), enc)
    knowledge = mia.knowledge(train, schema, args.n, m)
    print(
        f"census, {Path(datasets.__file__).parents[1]}: {S} {args.generator} sets of {m} rows ({args.shadow}+{args.eval} pairs), {k} targets "
        f"({', '.join(t.selection for t in mia.targets)}); {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}" + (f"; not in this checkout: {', '.join(skipped)}" * bool(skipped))
    )
    total, times = 0.0, {}
    for attack in make_attacks(names, opts, "benchmark"):
        sets._cache.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_attacks(mia, knowledge, sets, [attack], mia.sets["set_id"].to_numpy(), 0.95)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        total += dt
        times[attack.name] = dt
        auc = ", ".join(f"{a:.3f}" for a in res.results["auc"])
        name = f"{attack.name} ({args.classifier})" if attack.name == "groundhog" else attack.name
        print(f"{name:>28}: {dt:6.2f} s wall, {dc:6.2f} s CPU; AUC per target {auc}")
    print(f"{'attack stage, all attacks':>28}: {total:6.2f} s wall")
    default = sum(v for a, v in times.items() if a != "levenshtein")  # levenshtein: great/openai cells only
    if "levenshtein" in times:
        print(f"{'attack stage, w/o levenshtein':>28}: {default:6.2f} s wall (the default for copy/marginals/mostlyai)")
    if args.tapas:
        t0 = time.perf_counter()
        for _ in range(k):
            for s in range(S):
                _tapas_features(frame.iloc[s * m : (s + 1) * m], schema)
        dt = time.perf_counter() - t0
        print(
            f"{'TAPAS-style features':>28}: {dt:6.2f} s wall for {k} targets x {S} sets "
            f"({1000 * dt / (k * S):.1f} ms per set per target); attack stage {dt / total:.1f}x faster "
            f"({dt / default:.1f}x without levenshtein)"
        )


def _tapas_features(df, schema):  # noqa: ANN001, ANN202
    """F_naive + F_hist + F_corr of one set, as TAPAS computes them: a dense one-hot table."""
    import numpy as np
    import pandas as pd

    from privsynth.schema import FINITE_TYPES

    num_cols = [c["name"] for c in schema if c["type"] not in FINITE_TYPES]
    cat_cols = [c for c in schema if c["type"] in FINITE_TYPES]
    num = df[num_cols].to_numpy(dtype=float)
    onehot = [
        pd.Categorical(df[c["name"]].astype(str), categories=[str(v) for v in c["representation"]]) for c in cat_cols
    ]
    oh = np.concatenate([pd.get_dummies(x).to_numpy(dtype=float) for x in onehot], axis=1)
    naive = np.concatenate([num.mean(0), np.median(num, 0), num.var(0)])
    hist = np.concatenate([np.histogram(num[:, j], bins=10)[0] / len(df) for j in range(num.shape[1])] + [oh.mean(0)])
    X = np.concatenate([oh, num], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(X.T)[np.triu_indices(X.shape[1], 1)])
    return np.concatenate([naive, hist, corr])


if __name__ == "__main__":
    main()
