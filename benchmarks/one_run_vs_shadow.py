"""One-run canary audit vs shadow-model audit on the same cells: bound, AUC, fits, wall time.

Runs both audits through their job functions (no Snakemake) on census for copy,
marginals and one capped mostlyai setting (and, with --known-eps, the rr_canary
mechanism of known epsilon at several m), and prints a markdown table.  The
known-epsilon soundness / tightness loops over many seeds are
benchmarks/one_run_known_eps.py.

    python benchmarks/one_run_vs_shadow.py --census ../shared/data/census.csv.gz --out /tmp/bench

The shadow audit's mostlyai protocol is tiny by default (5 + 5 pairs = 20 fits of
n = 1000 rows): its numbers are NOT comparable to the quick protocol's, they only
show the cost per fit.  Say which protocol you ran when you quote a number.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from privsynth import datasets, synthesize  # noqa: E402
from privsynth.audit.common.threat_model import AuditProtocol  # noqa: E402
from privsynth.audit.one_run import stages as canary  # noqa: E402
from privsynth.audit.one_run.method import OneRunProtocol  # noqa: E402
from privsynth.audit.shadow import stages as shadow_audit  # noqa: E402

MOSTLYAI = {
    "max_training_time": 0.2,
    "max_sample_size": 5000,
    "sample_size": 5000,
    "model_report": False,
    "differential_privacy": {"noise_multiplier": 1.5, "max_grad_norm": 1.0, "delta": 1e-5, "max_epsilon": None},
}


def prepare(census: str, d: Path) -> None:
    if (d / "train.parquet").is_file():
        return
    datasets.fetch(str(d / "raw.parquet"), {"dataset": "census", "source": {"kind": "census", "path": census}})
    datasets.prepare(
        str(d / "raw.parquet"),
        str(d / "train.parquet"),
        str(d / "holdout.parquet"),
        str(d / "schema.json"),
        {"dataset": "census", "split": {"holdout_fraction": 0.2, "seed": 42}},
    )


def one_run(d: Path, gen: str, setting: str, settings: dict, cfg: dict, cap: int | None = None) -> dict:
    t0 = time.perf_counter()
    p = OneRunProtocol.from_config(cfg, "bench")
    c = d / f"one_run_{gen}_{setting}"
    c.mkdir(exist_ok=True)
    canary.canaries(str(d / "train.parquet"), str(d / "schema.json"), str(c / "canaries.parquet"), p.canary_slice())
    key = {"dataset": "census", "generator": gen, "setting": setting}
    canary.audit_train(
        str(d / "train.parquet"),
        str(c / "canaries.parquet"),
        str(c / "train.parquet"),
        str(c / "train.json"),
        {**key, "cap": cap, "seed": p.seed, "audit_run": "separate fit"},
    )
    settings = {k: (str(c / "canaries.parquet") if v == "<canaries>" else v) for k, v in settings.items()}
    t1 = time.perf_counter()
    synthesize.synthesize(
        str(c / "train.parquet"),
        str(d / "schema.json"),
        str(c / "synthetic.parquet"),
        str(c / "metrics.json"),
        {**key, "settings": settings, "seed": 0},
        workdir=str(c / "work"),
        threads=2,
    )
    fit_s = time.perf_counter() - t1
    r = canary.attack(
        str(d / "train.parquet"),
        str(d / "schema.json"),
        str(d / "holdout.parquet"),
        str(c / "canaries.parquet"),
        str(c / "train.parquet"),
        str(c / "train.json"),
        str(c / "synthetic.parquet"),
        str(c / "metrics.json"),
        str(c / "one_run.json"),
        str(c / "scores.parquet"),
        str(c / "summary.json"),
        {**key, "audit_run": "separate fit", **p.attack_slice()},
    )
    return {
        "audit": "one-run",
        "cell": f"{gen}/{setting}",
        "m": p.m,
        "eps_lb": r["epsilon_lb"],
        "ceiling": r["ceiling"],
        "delta": r["protocol"]["delta"],
        "tests": r["protocol"]["tests"],
        "verdict": r["verdict"],
        "gdp_mu_lb": r["gdp"]["mu_lb"],
        "gdp_epsilon": r["gdp"]["epsilon_at_delta"],
        "trained_fraction": r["placement"]["trained_fraction"],
        "correct": f"{r['correct']}/{r['guesses']}",
        "auc": r["auc"]["value"],
        "auc_ci": [r["auc"]["ci_low"], r["auc"]["ci_high"]],
        "fit_epsilon": r["audit_fit"]["epsilon_accountant"],
        "fit_epsilon_trained": r["audit_fit"]["epsilon_trained"],
        "fits": 1,
        "fit_seconds": round(fit_s, 1),
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }


def shadow(d: Path, gen: str, setting: str, settings: dict, proto: dict) -> dict:
    t0 = time.perf_counter()
    p = AuditProtocol.from_config(proto, "bench")
    c = d / f"shadow_{gen}_{setting}_{p.n_shadow}_{p.n_eval}"
    c.mkdir(exist_ok=True)
    sets, targets, pools = str(c / "sets.parquet"), str(c / "targets.json"), str(c / "pools.parquet")
    shadow_audit.shadow_sets(str(d / "train.parquet"), str(d / "schema.json"), sets, targets, pools, p.sets_slice())
    batches = []
    t1 = time.perf_counter()
    for b in range(p.n_batches):
        out = str(c / f"batch_{b}.parquet")
        shadow_audit.fit_batch(
            str(d / "train.parquet"),
            str(d / "schema.json"),
            sets,
            out,
            {"generator": gen, "setting": setting, "settings": settings, "sets": p.batch_sets(b), "m": p.sample_size},
            threads=2,
        )
        batches.append(out)
    fit_s = time.perf_counter() - t1
    r = shadow_audit.attack(
        str(d / "train.parquet"),
        str(d / "schema.json"),
        sets,
        targets,
        pools,
        batches,
        None,
        str(c / "audit.json"),
        str(c / "scores.parquet"),
        str(c / "roc.png"),
        str(c / "summary.json"),
        {"dataset": "census", "generator": gen, "setting": setting, **p.attack_slice()},
        threads=2,
    )
    w = r["aggregate"]["worst"]
    return {
        "audit": f"shadow ({p.n_shadow}+{p.n_eval} pairs, n={p.n})",
        "cell": f"{gen}/{setting}",
        "eps_lb": w["epsilon_lb"]["value"],
        "auc": w["auc"]["value"],
        "fits": p.n_sets,
        "fit_seconds": round(fit_s, 1),
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--census", default=os.environ.get("PRIVSYNTH_CENSUS", str(REPO.parent / "shared/data/census.csv.gz"))
    )
    ap.add_argument("--out", default="/tmp/privsynth-bench-one-run")
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--skip-mostlyai", action="store_true")
    ap.add_argument("--skip-shadow", action="store_true")
    ap.add_argument("--mostlyai-shadow-pairs", type=int, default=5, help="n_shadow = n_eval for mostlyai (min 5)")
    ap.add_argument("--known-eps", action="store_true", help="also rr_canary at eps 1, 2, 4 and m 1000, 5000")
    ap.add_argument("--only", nargs="*", default=None, help="generators to run (default: copy marginals mostlyai)")
    a = ap.parse_args()
    d = Path(a.out)
    d.mkdir(parents=True, exist_ok=True)
    prepare(a.census, d)
    quick = {"n": 1000, "n_shadow": 100, "n_eval": 50}
    cells = [("copy", "default", {}, quick), ("marginals", "default", {}, quick)]
    if not a.skip_mostlyai:
        k = a.mostlyai_shadow_pairs
        cells.append(("mostlyai", "dp_noise1.5_capped", MOSTLYAI, {"n": 1000, "n_shadow": k, "n_eval": k}))
    rows = []
    cells = [c for c in cells if a.only is None or c[0] in a.only]
    for gen, setting, settings, proto in cells:
        cap = settings.get("max_sample_size")
        rows.append(one_run(d, gen, setting, settings, {"m": a.m, "outliers": 100}, cap=cap))
        print(json.dumps(rows[-1]), flush=True)
        if not a.skip_shadow:
            rows.append(shadow(d, gen, setting, settings, proto))
            print(json.dumps(rows[-1]), flush=True)
    if a.known_eps:
        os.environ["PRIVSYNTH_PLUGINS"] = str(REPO / "tests" / "plugins")
        for m in (1000, 5000):
            for eps in (1.0, 2.0, 4.0):
                s = {
                    "epsilon": eps,
                    "canaries": "<canaries>",
                    "train": str(d / "train.parquet"),
                    "sample_size": m + 500,
                }
                rows.append(one_run(d, "rr_canary", f"eps{eps:g}_m{m}", s, {"m": m}))
                print(json.dumps(rows[-1]), flush=True)
    (d / "results.json").write_text(json.dumps(rows, indent=2))
    print("\n| audit | cell | eps_lb | AUC | fits | fit s | wall s |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['audit']} | {r['cell']} | {r['eps_lb']:.3f} | {r['auc']:.3f} | {r['fits']} | "
            f"{r['fit_seconds']} | {r['wall_seconds']} |"
        )


if __name__ == "__main__":
    main()
