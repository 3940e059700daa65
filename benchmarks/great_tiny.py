"""Fit and sample seconds of the ``great`` generator with the tiny offline GPT-2 (CPU).

Runs the real be-great fit (or the opacus DP loop) and our bounded sampler on a
few WDBC columns, as tests/test_great.py does, without Snakemake overhead:

    python benchmarks/great_tiny.py [--threads 1] [--rows 455] [--epochs 5] [--sample 100] [--repeat 3]

Prints one JSON line per run and a summary (median seconds, rows/s). The
model is a 2-layer, 64-wide GPT-2 (not distilgpt2, which cannot be downloaded
here): the numbers show the pipeline's own overhead and CPU scaling, not what a
real checkpoint costs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]

from _checkout import tests_helper  # noqa: E402

from privsynth.generators import great  # noqa: E402
from privsynth.schema import infer_schema, validate_frame  # noqa: E402

build_tiny_model = tests_helper("great_tiny").build_tiny_model
filled = tests_helper("generator_settings").filled

COLUMNS = ["mean radius", "mean texture", "worst area", "target"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=455, help="training rows (WDBC has 569)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--sample", type=int, default=100, help="rows to sample")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dp", action="store_true", help="also time DP fine-tuning (noise_multiplier 1.0)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from sklearn.datasets import load_breast_cancer

    df = load_breast_cancer(as_frame=True).frame[COLUMNS]
    train = df.sample(n=min(args.rows, len(df)), random_state=0).reset_index(drop=True)
    schema = infer_schema(train)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        llm = build_tiny_model(df, Path(tmp) / "tiny")
        print(json.dumps({"build_tiny_model_s": round(time.perf_counter() - t0, 2)}))
        modes = ["plain", "dp"] if args.dp else ["plain"]
        for mode in modes:
            fits, samples = [], []
            for r in range(args.repeat):
                settings = {
                    "llm": str(llm),
                    "epochs": args.epochs,
                    "batch_size": 16,
                    "learning_rate": 5e-3,
                    "gpu": 0,
                    "sample_batch_size": 100,
                    "sample_max_attempts": 200,
                    "sample_time_budget_s": 600,
                }
                if mode == "dp":
                    settings["differential_privacy"] = {"noise_multiplier": 1.0}
                gen = great.GENERATOR(workdir=Path(tmp) / f"w{r}", threads=args.threads)
                t0 = time.perf_counter()
                gen.fit(train, schema, filled("great", settings), seed=r)
                fit_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                out = gen.sample(args.sample)
                sample_s = time.perf_counter() - t0
                assert validate_frame(out, schema).n_invalid == 0 and len(out) == args.sample
                m = gen.metrics()
                fits.append(fit_s)
                samples.append(sample_s)
                print(
                    json.dumps(
                        {
                            "mode": mode,
                            "run": r,
                            "threads": args.threads,
                            "train_rows": len(train),
                            "epochs": args.epochs,
                            "train_steps": m.get("train_steps"),
                            "fit_s": round(fit_s, 2),
                            "sample_s": round(sample_s, 2),
                            "sample_attempts": m["sample_attempts"],
                            "candidates": m["sample_candidates"],
                            "valid_share": round(m["sample_valid_rows"] / m["sample_candidates"], 3),
                            "epsilon": m.get("epsilon"),
                        }
                    )
                )
            fit_med, sample_med = statistics.median(fits), statistics.median(samples)
            print(
                json.dumps(
                    {
                        "summary": mode,
                        "fit_s_median": round(fit_med, 2),
                        "sample_s_median": round(sample_med, 2),
                        "valid_rows_per_s": round(args.sample / sample_med, 1),
                        "load_avg_1min": round(os.getloadavg()[0], 2),
                        "cpus": os.cpu_count(),
                    }
                )
            )


if __name__ == "__main__":
    main()
