"""Learning curves of the mostlyai settings: validation loss per epoch, accuracy vs epochs and rows.

Trains each selected setting of a config (default: config/config.yaml) once per
(training rows, epoch cap) combination, directly through privsynth's generator
class (no Snakemake), with NO time cap, so every number is a count of epochs,
not of seconds: the result does not depend on how busy the machine is (the
seconds do; they are printed with the load average). Per run it records the
validation loss after every epoch, why training stopped, the training seconds,
privsynth's `undertrained` flag, epsilon, (with --qa) mostlyai-qa's accuracy
of the generated sample against the training rows, as the fidelity rule does,
and (with --utility) the ML utility AUC: a classifier fit on the sample, scored
on the real holdout, as the utility rule does.

    python benchmarks/mostlyai_curves.py --settings no_dp --rows 2000 5000 --epochs none
    python benchmarks/mostlyai_curves.py --settings no_dp --rows 5000 --epochs 1 5 10 none --qa
    python benchmarks/mostlyai_curves.py --dataset wdbc --settings no_dp dp_eps5 --epochs none --qa
    python benchmarks/mostlyai_curves.py --settings dp_noise1.5 --epochs 1 2 3 5 --qa --utility

`--epochs none` = until the engine's own early stopping (the tutorial's "until
converged"); a number = max_epochs. Output: CSV (one row per run) and JSON
(with the per-epoch curves) under --workdir.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]

from _checkout import ENV, snakemake, tests_helper  # noqa: E402

from privsynth.datasets import load_schema, load_split  # noqa: E402
from privsynth.generators.mostlyai import MostlyAIGenerator, reap_children  # noqa: E402

filled = tests_helper("generator_settings").filled


def prepare(cfg: dict, dataset: str, work: Path) -> Path:
    """The dataset's train/holdout/schema through the workflow's own data rules."""
    d = copy.deepcopy(cfg["datasets"][dataset])
    if d["source"].get("kind") == "census" and not d["source"].get("path"):
        shared = REPO.parent / "shared" / "data" / "census.csv.gz"
        d["source"]["path"] = os.environ.get("PRIVSYNTH_CENSUS") or (str(shared) if shared.is_file() else None)
    d["generators"] = {"marginals": {"default": {}}}
    d["audit"] = {"enabled": False}
    small = {
        "seed": cfg.get("seed", 0),
        "threads": 1,
        "datasets": {dataset: d},
        "qa": {"enabled": False},
        "eda": {**cfg.get("eda", {}), "enabled": False, "synthetic": False, "compare": False},
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "prep.yaml").write_text(yaml.safe_dump(small, sort_keys=False))
    data = work / "results" / dataset / "data"
    targets = [str(data.relative_to(work) / f) for f in ("train.parquet", "holdout.parquet", "schema.json")]
    subprocess.run([*snakemake(work, work / "prep.yaml", 1), *targets], check=True, capture_output=True, env=ENV)
    return data


def qa_accuracy(syn: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, qa_cfg: dict) -> float | None:
    from privsynth.fidelity import qa_report

    with tempfile.TemporaryDirectory(prefix="privsynth-curve-qa-") as tmp:
        m = qa_report(
            syn,
            train,
            holdout,
            Path(tmp) / "qa.html",
            Path(tmp) / "qa.json",
            {"max_trivariates": 500, **qa_cfg, "max_sample_size_embeddings": 100},
            title="curve",
        )
    return m.get("accuracy_overall")


def run_one(
    train, holdout, schema, settings: dict, seed: int, threads: int, with_qa: bool, qa_cfg: dict, target: str | None
) -> dict:
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="privsynth-curve-") as workdir:
        gen = MostlyAIGenerator(workdir=workdir, threads=threads)
        t0 = time.perf_counter()
        try:
            gen.fit(train.reset_index(drop=True), schema, filled("mostlyai", settings), seed)
            fit_s = time.perf_counter() - t0
            n = settings.get("sample_size") or len(train)
            t1 = time.perf_counter()
            syn = gen.sample(n)
            sample_s = time.perf_counter() - t1
        finally:
            reap_children()
    m = gen.metrics()
    curve = [
        {
            "epoch": round(float(x["epoch"]), 3),
            "val_loss": x.get("val_loss"),
            "seconds": x.get("total_time"),
            "epsilon": x.get("dp_eps"),
        }
        for x in gen.messages
        if x.get("val_loss") is not None
    ]
    row = {
        "epochs": m["epochs"],
        "stop_reason": m["stop_reason"],
        "undertrained": m.get("undertrained"),
        "val_loss": m["val_loss"],
        "val_loss_change_last_epoch": m.get("val_loss_change_last_epoch"),
        "epsilon": m["epsilon"],
        "training_seconds": m["training_seconds_total"],
        "fit_seconds": round(fit_s, 1),
        "sample_seconds": round(sample_s, 1),
        "load_before": round(load0, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    if with_qa:
        row["qa_accuracy"] = qa_accuracy(syn, train, holdout, qa_cfg)
    if target is not None:
        from privsynth.utility import evaluate

        row["utility_auc"] = round(evaluate(syn, holdout, target, seed=seed, threads=threads)["auc"], 4)
    row["curve"] = curve
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--dataset", default="census")
    ap.add_argument("--settings", nargs="+", required=True, help="mostlyai settings of the config")
    ap.add_argument("--rows", nargs="*", type=int, default=[], help="max_sample_size values (default: the setting's)")
    ap.add_argument("--epochs", nargs="+", default=["none"], help="max_epochs values; none = until converged")
    ap.add_argument("--qa", action="store_true", help="also mostlyai-qa accuracy of each sample")
    ap.add_argument("--utility", action="store_true", help="also the ML utility AUC of each sample (holdout)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/privsynth-bench-curves")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    cfg = yaml.safe_load(Path(args.config).read_text())
    work = Path(args.workdir)
    data = prepare(cfg, args.dataset, work)
    train, holdout = load_split(data / "train.parquet"), load_split(data / "holdout.parquet")
    schema = load_schema(data / "schema.json")
    all_settings = cfg["datasets"][args.dataset]["generators"]["mostlyai"]
    rows_out = []
    for name in args.settings:
        for rows in args.rows or [None]:
            for ep in args.epochs:
                s = dict(all_settings[name])
                s["max_training_time"] = None
                s["max_epochs"] = None if ep == "none" else float(ep)
                if rows is not None:
                    s["max_sample_size"] = rows
                label = f"{name} rows={s.get('max_sample_size') or len(train)} max_epochs={ep}"
                print(f"--- {label} (load {os.getloadavg()[0]:.2f})", flush=True)
                target = cfg["datasets"][args.dataset].get("target") if args.utility else None
                seed = int(cfg.get("seed", 0))
                r = run_one(train, holdout, schema, s, seed, args.threads, args.qa, cfg["qa"], target)
                r = {"setting": name, "rows": s.get("max_sample_size") or len(train), "max_epochs": ep, **r}
                print({k: v for k, v in r.items() if k != "curve"}, flush=True)
                print(
                    "    val_loss per epoch:", [(c["epoch"], round(c["val_loss"], 3)) for c in r["curve"]], flush=True
                )
                rows_out.append(r)
                (work / "curves.json").write_text(json.dumps(rows_out, indent=1))
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "curve"} for r in rows_out])
    df.to_csv(work / "curves.csv", index=False)
    print(df.to_string(index=False))
    print(f"rows in {work / 'curves.csv'}, curves in {work / 'curves.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
