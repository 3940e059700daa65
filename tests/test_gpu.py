"""config/gpu.yaml plans the full grid; benchmarks/gpu_check.py runs on the CPU with --cpu."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

TUTORIAL = ("no_dp", "no_dp_5_epochs", "dp_noise1.5", "dp_noise4.0")


def test_gpu_config_plans_the_uncapped_tutorial_great_and_audits(
    tmp_path: Path, census_path: Path, run_workflow
) -> None:
    cfg = yaml.safe_load((REPO / "config" / "gpu.yaml").read_text())
    mai = cfg["datasets"]["census"]["generators"]["mostlyai"]
    assert tuple(mai) == TUTORIAL
    for name, s in mai.items():
        assert s["gpu"] == 1 and s["max_training_time"] is None and "max_sample_size" not in s, name
        assert s["max_epochs"] == (5 if name == "no_dp_5_epochs" else None), name
    for ds in ("census", "wdbc"):
        great = cfg["datasets"][ds]["generators"]["great"]
        assert any("differential_privacy" in s for s in great.values()), ds
        assert any("differential_privacy" not in s for s in great.values()), ds
    cfg["datasets"]["census"]["source"]["path"] = str(census_path)
    proc = run_workflow(tmp_path, cfg, "-n", "--resources", "gpu=1")
    out = proc.stdout
    stats = out.split("Job stats:")[1].split("\n\n")[0].splitlines()[3:]
    jobs = {ln.split()[0]: int(ln.split()[1]) for ln in stats if len(ln.split()) == 2}
    assert jobs["synthesize_mostlyai"] == 6 and jobs["synthesize_great"] == 4, jobs
    assert jobs["audit_fit"] > 0 and jobs["mostlyai_comparison"] == 2, jobs
    assert jobs["eda_synthetic_census"] == 1 and jobs["eda_synthetic_wdbc"] == 1, jobs


def _gpu_check(tmp_path: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "gpu_check.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gpu_check.py"),
            "--cpu",
            "--workdir",
            str(tmp_path / "w"),
            "--out",
            str(out),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture
def gpu_check(tmp_path: Path):
    """benchmarks/gpu_check.py --cpu in tmp_path (it runs the workflow: marked e2e, heavy, gpu)."""
    return lambda *args: _gpu_check(tmp_path, *args)


def test_gpu_check_cpu_switch_hides_cuda_and_names_the_missing_audit(gpu_check) -> None:
    s = gpu_check("--steps", "env", "one_run")
    assert s["mode"] == "cpu" and s["env"]["cuda_available"] is False
    if (REPO / "workflow" / "rules" / "audit_one_run.smk").is_file():
        assert "audit" in s["one_run"], s["one_run"]
    else:
        assert "not merged" in s["one_run"]["skipped"]


def test_gpu_check_runs_every_step_on_the_cpu(gpu_check, census_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PRIVSYNTH_CENSUS", str(census_path))
    s = gpu_check("--steps", "mostlyai", "great", "--mostlyai-settings", "no_dp", "dp_noise1.5")
    rows = {r["setting"]: r for r in s["mostlyai"]}
    assert {r["device"] for r in rows.values()} == {"cpu"}
    assert rows["no_dp"]["epochs"] >= 1 and rows["no_dp"]["epsilon"] is None
    assert rows["dp_noise1.5"]["epsilon"] > 0
    great = {r["mode"]: r for r in s["great"]}
    assert great["plain"]["device"] == "cpu" and great["plain"]["rows"] == 10
    assert great["plain"]["epsilon"] is None and great["dp"]["epsilon"] > 0
