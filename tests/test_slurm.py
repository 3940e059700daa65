"""The pipeline on a real single-node SLURM cluster with one fake GPU.

tools/install_slurm.sh installs slurm-wlm + munge (Debian) and starts munged,
slurmctld and slurmd with partitions "cpu" and "gpu" and a fake GPU gres; the
fixture stops, by PID, every daemon that script started.  The grid is run with
`snakemake --executor slurm --profile profiles/slurm`, as a user would.

Needs root (apt-get, daemons).  Without it the test FAILS: CI runs it as root.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, tiny_config

GPU_RULE = "synthesize_mostlyai"
GPU_TYPE = "testgpu"  # the fake GPU's type in tools/install_slurm.sh
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory):
    if os.geteuid() != 0:
        pytest.fail(
            "tests/test_slurm.py needs root: it installs slurm-wlm/munge and starts munged, slurmctld "
            "and slurmd (tools/install_slurm.sh). Run it as root, as CI does."
        )
    piddir = tmp_path_factory.mktemp("slurm-pids")
    up = subprocess.run(
        ["bash", str(REPO / "tools/install_slurm.sh"), str(piddir)], capture_output=True, text=True, timeout=900
    )
    started = {p.stem: int(p.read_text()) for p in piddir.glob("*.pid")}
    try:
        if up.returncode != 0:
            pytest.fail(f"SLURM bring-up failed (tools/install_slurm.sh):\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}")
        yield
    finally:
        down = subprocess.run(
            ["bash", str(REPO / "tools/stop_slurm.sh"), str(piddir)], capture_output=True, text=True, timeout=120
        )
        still = [f"{name} (pid {pid})" for name, pid in started.items() if _alive(pid)]
        assert down.returncode == 0 and not still, f"daemons not stopped: {still}\n{down.stdout}\n{down.stderr}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _snakemake_slurm(run_workflow, workdir: Path, config: dict, *args: str, check: bool = True):
    return run_workflow(
        workdir,
        config,
        "--executor",
        "slurm",
        "--profile",
        str(REPO / "profiles/slurm"),
        "--workflow-profile",
        "none",
        # Short first status poll keeps the test quick (MinJobAge 600 s >= 3x).
        "--slurm-init-seconds-before-status-checks",
        "3",
        *args,
        check=check,
        timeout=1800,
    )


def _submissions(log: str) -> list[dict]:
    """One entry per sbatch call: SLURM job id, rule (or group), wildcards, log, and scontrol's view."""
    subs = []
    for _jobid, slurm_id, log_path in SUBMITTED.findall(log):
        rel = Path(log_path).parts
        i = next(k for k, part in enumerate(rel) if part == "slurm_logs")
        kind, name = rel[i + 1].split("_", 1)  # rule_<rule> or group_<group>_...
        info = _scontrol(slurm_id)
        subs.append(
            {
                "slurm_id": slurm_id,
                "kind": kind,
                "name": name,
                "wildcards": "/".join(rel[i + 2 : -1]),  # "<value>_<value>..." (plugin format)
                "log": Path(log_path),
                "tres": info.get("TresPerJob", "") + info.get("TresPerNode", ""),
                "partition": info.get("Partition"),
                "state": info.get("JobState"),
            }
        )
    return subs


def _scontrol(slurm_id: str) -> dict[str, str]:
    out = subprocess.run(["scontrol", "show", "job", "-o", slurm_id], capture_output=True, text=True, check=True)
    return dict(tok.split("=", 1) for tok in out.stdout.split() if "=" in tok)


def _metrics(workdir: Path, gen: str, setting: str) -> dict:
    return json.loads((workdir / f"results/wdbc/{gen}/{setting}/metrics.json").read_text())


def test_grid_on_slurm(slurm_cluster, tmp_path: Path, run_workflow):
    config = tiny_config(
        wdbc={
            "source": {"kind": "wdbc"},
            "generators": {
                "copy": {"default": {}},
                "marginals": {"default": {}},
                # tiny: 1 epoch on 100 rows, 50 rows out
                "mostlyai": {
                    "gpu": {"gpu": 1, "gpu_model": GPU_TYPE, "max_epochs": 1, "max_sample_size": 100, "sample_size": 50}
                },
            },
        }
    )
    config["threads"] = 1
    t0 = time.monotonic()
    # Baseline jobs are grouped two per SLURM job, as audit shadow models are
    # by the profile's group-components.
    proc = _snakemake_slurm(
        run_workflow, tmp_path, config, "--groups", "synthesize_baseline=synth", "--group-components", "synth=2"
    )
    first_s = time.monotonic() - t0
    log = proc.stderr
    subs = _submissions(log)

    # every output exists
    for gen, setting in [("copy", "default"), ("marginals", "default"), ("mostlyai", "gpu")]:
        for f in ("synthetic.parquet", "metrics.json"):
            assert (tmp_path / f"results/wdbc/{gen}/{setting}/{f}").is_file(), f"{gen}/{setting}/{f} missing"
    summary = pd.read_csv(tmp_path / "results/summary.csv")
    assert len(summary) == 3

    # one sbatch per job, both baselines in one grouped job
    names = sorted((s["kind"], s["name"]) for s in subs)
    assert names == sorted(
        [
            ("group", "synth_synthesize_baseline"),
            ("rule", "fetch_data"),
            ("rule", "prepare_data"),
            ("rule", GPU_RULE),
            ("rule", "mostlyai_comparison"),
            ("rule", "fidelity_pairs"),
            ("rule", "fidelity_pairs"),
            ("rule", "fidelity_pairs"),
            ("rule", "utility_baseline"),
            ("rule", "utility"),
            ("rule", "utility"),
            ("rule", "utility"),
            ("rule", "summary"),
            ("rule", "report_plots"),
            ("rule", "report"),
        ]
    ), f"unexpected submissions {names}\n{log[-3000:]}"

    # the GPU job asked SLURM for a GPU, ran in the gpu partition and saw it
    (gpu,) = [s for s in subs if s["name"] == GPU_RULE]
    assert gpu["tres"] == f"gres:gpu:{GPU_TYPE}:1", gpu  # --gpus=<gpu_model>:<gpu>
    assert gpu["partition"] == "gpu", gpu
    mostly = _metrics(tmp_path, "mostlyai", "gpu")
    assert mostly["cuda_visible_devices"] not in (None, ""), mostly
    gpu_log = (tmp_path / "results/logs/synthesize/wdbc/mostlyai/gpu.log").read_text()
    # the rule log links the SLURM job and its log; no CUDA here, so a loud CPU fallback
    assert f"SLURM job {gpu['slurm_id']};" in gpu_log and str(gpu["log"]) in gpu_log, gpu_log
    assert "no CUDA device" in gpu_log, gpu_log

    # CPU jobs: no GPU request, cpu partition, no GPU visible
    for s in subs:
        if s is not gpu:
            assert "gpu" not in s["tres"], s
            assert s["partition"] == "cpu", s
    for gen in ("copy", "marginals"):
        assert _metrics(tmp_path, gen, "default")["cuda_visible_devices"] in (None, "")
    assert "no GPU request" in (tmp_path / "results/logs/prepare_data/wdbc.log").read_text()

    # every job completed and its SLURM log was kept
    for s in subs:
        assert s["state"] == "COMPLETED", s
        assert s["log"].is_file(), s

    # Change one setting: only that cell and what reads it (its utility, the
    # summary, the report) are submitted again.
    config["datasets"]["wdbc"]["generators"]["marginals"]["default"] = {"sample_size": 100}
    t1 = time.monotonic()
    proc = _snakemake_slurm(run_workflow, tmp_path, config)
    rerun_s = time.monotonic() - t1
    subs2 = _submissions(proc.stderr)
    assert sorted((s["name"], s["wildcards"]) for s in subs2) == [
        ("fidelity_pairs", "wdbc_marginals_default"),
        ("report", ""),
        ("report_plots", "wdbc"),
        ("summary", ""),
        ("synthesize_baseline", "wdbc_marginals_default"),
        ("utility", "wdbc_marginals_default"),
    ], proc.stderr[-3000:]
    assert len(pd.read_parquet(tmp_path / "results/wdbc/marginals/default/synthetic.parquet")) == 100

    # A failing GPU job shows its cause and its logs in Snakemake's own output:
    # break the schema it reads (mtime kept, so nothing upstream reruns).
    schema = tmp_path / "results/wdbc/data/schema.json"
    st = schema.stat()
    schema.write_text("{not json")
    os.utime(schema, ns=(st.st_atime_ns, st.st_mtime_ns))
    proc = _snakemake_slurm(run_workflow, tmp_path, config, "--forcerun", GPU_RULE, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    (failed,) = _submissions(proc.stderr)
    assert failed["name"] == GPU_RULE and failed["tres"] == f"gres:gpu:{GPU_TYPE}:1", failed
    # show-failed-logs prints the rule log: its SLURM line and the one-line cause
    assert "ERROR: results/wdbc/data/schema.json: not valid JSON" in out, out[-4000:]
    assert f"SLURM job {failed['slurm_id']};" in out, out[-4000:]
    # the executor's error names the failed SLURM job and its (kept) SLURM log
    assert f"SLURM-job '{failed['slurm_id']}' failed" in out, out[-4000:]
    assert str(failed["log"]) in out and failed["log"].is_file(), out[-4000:]
    print(f"SLURM grid: first run {first_s:.0f} s ({len(subs)} sbatch), rerun {rerun_s:.0f} s ({len(subs2)} sbatch)")
