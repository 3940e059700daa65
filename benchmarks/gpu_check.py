"""Device check: does privsynth use the GPU, and what does an epoch cost there? Under 8 minutes, offline.

    python benchmarks/gpu_check.py                 # on the GPU machine (or: bash benchmarks/gpu_check.sh)
    python benchmarks/gpu_check.py --cpu           # the same steps at tiny sizes on the CPU (CI, tests)
    python benchmarks/gpu_check.py --steps env great

Steps (each prints its timings; a JSON summary ends the run and goes to --out):

  env       torch / CUDA / GPU model, nvidia-smi
  mostlyai  the MOSTLY AI DP tutorial's four settings (config/gpu.yaml) on the FULL
            census training split, on CUDA, each TIME-CAPPED (--mostlyai-minutes) so the
            step fits the budget: epochs reached, seconds per epoch, epsilon, peak GPU memory
  great     GReaT fit + sample with a tiny GPT-2 built locally (tests/great_tiny.py, no
            download), without and with DP-SGD (opacus), on CUDA: seconds, epsilon
  one_run   the one-run canary audit (issue 12) of one mostlyai cell through the workflow;
            SKIPPED with a message while that audit is not merged (step_one_run_audit)

--cpu: CUDA hidden, census cut to 600 rows, 1 epoch per setting, tiny GReaT run:
the script's own code paths, in about two minutes on a laptop; no GPU number means
anything then. GPU use is read from nvidia-smi while each step runs (peak memory
and utilisation); "cuda" in a step's device column is what the generator reports.
Census is read from $PRIVSYNTH_CENSUS or ../shared/data/census.csv.gz (no internet).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


os.environ.setdefault("HF_HUB_OFFLINE", "1")

import yaml  # noqa: E402
from _checkout import ENV, load, snakemake, tests_helper  # noqa: E402

STEPS = ("env", "mostlyai", "great", "one_run")
RESERVE_S = 150  # seconds of --budget-s kept for the steps after mostlyai
# The one-run audit block (datasets.<d>.audit.one_run, config/schema.yaml) for the checked cell.
ONE_RUN_BLOCK = {
    "enabled": True,
    "generators": None,
    "m": 200,
    "outliers": 20,
    "seed": 0,
    "confidence": 0.95,
    "release_is_audit_run": ["mostlyai"],
}


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {msg}", flush=True)


class GpuSampler:
    """Peak GPU memory (MiB) and utilisation (%) from nvidia-smi, polled once a second."""

    def __init__(self) -> None:
        self.exe = shutil.which("nvidia-smi")
        self.mem = self.util = 0
        self._stop = threading.Event()
        self._t: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        if self.exe:
            self._t = threading.Thread(target=self._run, daemon=True)
            self._t.start()
        return self

    def _run(self) -> None:
        q = [self.exe, "--query-gpu=memory.used,utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.is_set():
            try:
                out = subprocess.run(q, capture_output=True, text=True, timeout=10).stdout.split("\n")[0]
                mem, util = (int(float(x)) for x in out.split(","))
                self.mem, self.util = max(self.mem, mem), max(self.util, util)
            except Exception:  # noqa: BLE001 - a failed poll only loses one sample
                pass
            self._stop.wait(1.0)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._t:
            self._t.join(timeout=15)

    def summary(self) -> dict[str, Any]:
        if not self.exe:
            return {"gpu_peak_mem_mib": None, "gpu_peak_util_pct": None}
        return {"gpu_peak_mem_mib": self.mem, "gpu_peak_util_pct": self.util}


def step_env(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {
        "torch": torch.__version__,
        "cuda_build": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        out["device_name"] = torch.cuda.get_device_name(0)
        out["device_count"] = torch.cuda.device_count()
        x = torch.randn(4096, 4096, device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(20):
            x @ x
        torch.cuda.synchronize()
        out["matmul_tflops"] = round(20 * 2 * 4096**3 / (time.perf_counter() - t0) / 1e12, 1)
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        )
        out["nvidia_smi"] = smi.stdout.strip()
    if not args.cpu and not out["cuda_available"]:
        say("WARNING: no CUDA device visible: the following steps run on the CPU and their numbers are NOT GPU numbers")
    say(f"env: {out}")
    return out


def _curves() -> Any:
    return load(REPO / "benchmarks" / "mostlyai_curves.py")


def step_mostlyai(args: argparse.Namespace, work: Path, deadline: float) -> list[dict[str, Any]]:
    from privsynth.datasets import load_schema, load_split

    curves = _curves()
    cfg = yaml.safe_load((REPO / "config" / "gpu.yaml").read_text())
    if args.cpu:
        cfg["datasets"]["census"]["max_rows"] = 600
    data = curves.prepare(cfg, "census", work / "census")
    train, _holdout = load_split(data / "train.parquet"), load_split(data / "holdout.parquet")
    schema = load_schema(data / "schema.json")
    say(f"mostlyai: census training split {len(train)} rows")
    rows = []
    for name in args.mostlyai_settings:
        left = deadline - time.time()
        if left < RESERVE_S:
            say(f"mostlyai/{name}: SKIPPED, {left:.0f} s left of the budget (GReaT and the audit need ~{RESERVE_S} s)")
            rows.append({"setting": name, "skipped": "budget"})
            continue
        s = dict(cfg["datasets"]["census"]["generators"]["mostlyai"][name])
        s.update(model_report=False, sample_size=200 if args.cpu else 2000, gpu=0 if args.cpu else 1)
        if args.cpu:
            s.update(max_epochs=1, max_training_time=None)
        else:
            s.update(max_training_time=args.mostlyai_minutes)
        with tempfile.TemporaryDirectory(prefix="privsynth-gpucheck-") as wd, GpuSampler() as gpu:
            filled = tests_helper("generator_settings").filled

            from privsynth.generators.mostlyai import MostlyAIGenerator, reap_children

            gen = MostlyAIGenerator(workdir=wd, threads=args.threads)
            t0 = time.perf_counter()
            try:
                gen.fit(train.reset_index(drop=True), schema, filled("mostlyai", s), 0)
                fit_s = time.perf_counter() - t0
                t1 = time.perf_counter()
                gen.sample(int(s["sample_size"]))
                sample_s = time.perf_counter() - t1
            finally:
                reap_children()
        m = gen.metrics()
        epochs = float(m["epochs"] or 0)
        row = {
            "setting": name,
            "device": m["device"],
            "train_rows": len(train),
            "epochs": epochs,
            "seconds_per_epoch": round(m["training_seconds_total"] / epochs, 2) if epochs else None,
            "training_seconds": m["training_seconds_total"],
            "stop_reason": m["stop_reason"],
            "undertrained": m["undertrained"],
            "val_loss": m["val_loss"],
            "epsilon": m["epsilon"],
            "delta": m["delta"],
            "fit_seconds": round(fit_s, 1),
            "sample_seconds": round(sample_s, 1),
            **gpu.summary(),
        }
        say(f"mostlyai/{name}: {row}")
        rows.append(row)
    return rows


def step_great(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    filled = tests_helper("generator_settings").filled
    from sklearn.datasets import load_breast_cancer

    from privsynth.generators import great
    from privsynth.schema import infer_schema, validate_frame

    build_tiny_model = tests_helper("great_tiny").build_tiny_model

    cols = ["mean radius", "mean texture", "worst area", "target"]
    df = load_breast_cancer(as_frame=True).frame[cols]
    train = df.sample(n=120 if args.cpu else 455, random_state=0).reset_index(drop=True)
    schema = infer_schema(train)
    t0 = time.perf_counter()
    llm = build_tiny_model(df, work / "tiny-gpt2")
    say(f"great: tiny GPT-2 built in {time.perf_counter() - t0:.1f} s")
    rows = []
    for mode in ("plain", "dp"):
        s = {
            "llm": str(llm),
            "epochs": 3 if args.cpu else 5,
            "batch_size": 16,
            "learning_rate": 5e-3,
            "gpu": 0 if args.cpu else 1,
            "sample_batch_size": 50,
            "sample_max_attempts": 100,
            "sample_time_budget_s": 300,
        }
        if mode == "dp":
            s["differential_privacy"] = {"noise_multiplier": 1.0}
        n = 10 if args.cpu else 100
        with GpuSampler() as gpu:
            gen = great.GENERATOR(workdir=work / f"great-{mode}", threads=args.threads)
            t0 = time.perf_counter()
            gen.fit(train, schema, filled("great", s), seed=0)
            fit_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            out = gen.sample(n)
            sample_s = time.perf_counter() - t1
        m = gen.metrics()
        row = {
            "mode": mode,
            "device": m.get("device"),
            "train_rows": len(train),
            "epochs": s["epochs"],
            "fit_seconds": round(fit_s, 1),
            "sample_seconds": round(sample_s, 1),
            "rows": len(out),
            "invalid_rows": int(validate_frame(out, schema).n_invalid),
            "epsilon": m.get("epsilon"),
            "delta": m.get("delta"),
            **gpu.summary(),
        }
        say(f"great/{mode}: {row}")
        rows.append(row)
    return rows


def step_one_run_audit(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The one-run canary audit (issue 12) of one mostlyai cell, through the workflow."""
    rules = REPO / "workflow" / "rules" / "audit_one_run.smk"
    if not rules.is_file():
        msg = "one-run audit (issue 12) not merged in this checkout (no workflow/rules/audit_one_run.smk)"
        say(f"one_run: SKIPPED: {msg}")
        return {"skipped": msg}
    census = os.environ.get("PRIVSYNTH_CENSUS") or str(REPO.parent / "shared" / "data" / "census.csv.gz")
    cell = {
        "max_training_time": None if args.cpu else args.mostlyai_minutes,
        "max_epochs": 1 if args.cpu else None,
        "max_sample_size": 600 if args.cpu else 5000,
        "sample_size": 600 if args.cpu else 5000,
        "model_report": False,
        "gpu": 0 if args.cpu else 1,
        "differential_privacy": {"noise_multiplier": 1.5, "max_grad_norm": 1.0, "delta": 1.0e-5},
    }
    ds = {
        "source": {"kind": "census", "path": census},
        "split": {"holdout_fraction": 0.2, "seed": 42},
        "target": "income",
        "audit": {"generators": [], "one_run": dict(ONE_RUN_BLOCK)},
        "generators": {"mostlyai": {"gpu_check": cell}},
    }
    if args.cpu:
        ds["max_rows"] = 2000
    cfg = {
        "seed": 0,
        "threads": args.threads,
        "datasets": {"census": ds},
        "qa": {"enabled": False},
        "eda": {"enabled": False, "compare": False},
    }
    wd = work / "one_run"
    wd.mkdir(parents=True, exist_ok=True)
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    target = "results/census/mostlyai/gpu_check/audit/one_run.json"
    cmd = [*snakemake(wd, wd / "config.yaml", max(2, args.threads)), target, "--resources", "gpu=1"]
    t0 = time.perf_counter()
    with GpuSampler() as gpu:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    out: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 1), **gpu.summary()}
    if proc.returncode != 0:
        out["error"] = (proc.stdout + proc.stderr)[-1500:]
        say(f"one_run: FAILED ({out['seconds']} s):\n{out['error']}")
        return out
    res = json.loads((wd / target).read_text())
    metrics = json.loads((wd / "results/census/mostlyai/gpu_check/metrics.json").read_text())
    out.update(
        device=metrics.get("device"),
        epsilon=metrics.get("epsilon"),
        audit={k: v for k, v in res.items() if not isinstance(v, (list, dict))},
    )
    say(f"one_run: {out}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", action="store_true", help="hide CUDA, tiny sizes: exercise the script anywhere")
    ap.add_argument("--steps", nargs="+", default=list(STEPS), choices=STEPS)
    ap.add_argument("--mostlyai-settings", nargs="+", default=["no_dp", "no_dp_5_epochs", "dp_noise1.5", "dp_noise4.0"])
    ap.add_argument("--mostlyai-minutes", type=float, default=0.4, help="time cap per setting on the GPU")
    ap.add_argument(
        "--budget-s",
        type=float,
        default=450,
        help="seconds for the whole check: a mostlyai setting starts only with 150 s to spare",
    )
    ap.add_argument("--threads", type=int, default=min(8, os.cpu_count() or 1))
    ap.add_argument("--out", default=None, help="JSON summary (default: WORKDIR/gpu_check.json)")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        args.threads = 1  # on a shared, loaded CPU one thread is the fast choice (tests/great_tiny.py)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    start = time.time()
    deadline = start + args.budget_s
    work = Path(args.workdir or tempfile.mkdtemp(prefix="privsynth-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"gpu_check: steps {args.steps}, {'CPU (tiny sizes)' if args.cpu else 'GPU'}, workdir {work}")
    summary: dict[str, Any] = {"mode": "cpu" if args.cpu else "gpu", "load_before": round(os.getloadavg()[0], 2)}
    for step in args.steps:
        t0 = time.perf_counter()
        try:
            if step == "env":
                summary["env"] = step_env(args)
            elif step == "mostlyai":
                summary["mostlyai"] = step_mostlyai(args, work, deadline)
            elif step == "great":
                summary["great"] = step_great(args, work)
            else:
                summary["one_run"] = step_one_run_audit(args, work)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next step
            say(f"{step}: FAILED: {type(exc).__name__}: {exc}")
            summary[step] = {"error": f"{type(exc).__name__}: {exc}"}
        summary[f"{step}_seconds"] = round(time.perf_counter() - t0, 1)
    summary["total_seconds"] = round(time.time() - start, 1)
    summary["load_after"] = round(os.getloadavg()[0], 2)
    out = Path(args.out) if args.out else work / "gpu_check.json"
    out.write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps(summary, default=str))
    failed = [s for s in args.steps if isinstance(summary.get(s), dict) and "error" in summary[s]]
    tail = f"; FAILED: {failed}" if failed else ""
    say(f"gpu_check done in {summary['total_seconds']:.0f} s; summary in {out}{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
