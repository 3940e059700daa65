"""The mostlyai generator: real local engine through the Snakemake rule.

One workflow run on a 2,000-row census sample trains three settings, two at a
time (1 thread each, 2 cores): no DP on a requested-but-absent GPU, DP-SGD,
and DP with a max_epsilon no checkpoint can meet. A few minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import tiny_config
from generator_settings import filled

from privsynth.generators import mostlyai as m

WDBC = {"source": {"kind": "wdbc"}, "split": {"holdout_fraction": 0.2, "seed": 42}, "audit": {"enabled": False}}


def _config(settings: dict[str, Any], threads: int = 1) -> dict[str, Any]:
    cfg = tiny_config(wdbc={**WDBC, "generators": {"mostlyai": settings}})
    cfg["threads"] = threads
    return cfg


# --- fast checks: schema, settings, bookkeeping -------------------------------------


def _grid_error(settings: dict[str, Any]) -> str:
    from snakemake.utils import validate

    from privsynth.config import Grid
    from privsynth.errors import ConfigError

    cfg = _config({"bad": settings})
    cfg["datasets"]["wdbc"].setdefault("generators", {})
    with pytest.raises(ConfigError) as err:
        Grid(cfg, validate)
    return str(err.value)


@pytest.mark.parametrize(
    "dp, key",
    [
        ({"noise_multiplier": -1.0}, "noise_multiplier: -1.0 is less than or equal to the minimum of 0"),
        ({"noise_multiplier": 0}, "noise_multiplier: 0 is less than or equal to the minimum of 0"),
        ({"delta": 1.0}, "delta: 1.0 is greater than or equal to the maximum of 1"),
        ({"delta": 2.5}, "delta: 2.5 is greater than or equal to the maximum of 1"),
        ({"max_grad_norm": 0}, "max_grad_norm: 0 is less than or equal to the minimum of 0"),
        ({"epsilon": 3}, "'epsilon' was unexpected"),
    ],
)
def test_invalid_dp_values_rejected(dp: dict[str, Any], key: str) -> None:
    msg = _grid_error({"differential_privacy": dp})
    assert msg.startswith("datasets.wdbc.generators.mostlyai.bad.differential_privacy."), msg
    assert key in msg, msg


def test_invalid_dp_value_stops_the_workflow_before_any_job(tmp_path: Path, run_workflow) -> None:
    cfg = _config({"bad": {"differential_privacy": {"delta": 1.0}}})
    proc = run_workflow(tmp_path, cfg, "-n", check=False)
    assert proc.returncode != 0
    assert "datasets.wdbc.generators.mostlyai.bad.differential_privacy.delta: " in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_value_protection_epsilon_must_leave_room_under_max_epsilon() -> None:
    msg = _grid_error({"differential_privacy": {"max_epsilon": 1.0, "value_protection_epsilon": 1.0}})
    assert "value_protection_epsilon (1.0) must be below max_epsilon (1.0)" in msg


def test_dry_run_requests_gpu_only_for_gpu_settings(tmp_path: Path, run_workflow) -> None:
    cfg = _config({"cpu": {"gpu": 0, "gpu_model": "a100"}, "gpu": {"gpu": 1, "gpu_model": "a100"}})
    proc = run_workflow(tmp_path, cfg, "-n", "-p", "--cores", "2", "--resources", "gpu=1")
    out = proc.stdout + proc.stderr
    assert "synthesize_mostlyai" in out
    # Snakemake lists each job's resources in the dry run.
    jobs = [j.split("\n\n")[0] for j in out.split("rule synthesize_mostlyai:")[1:]]
    resources = {}
    for j in jobs:
        setting = j.split("setting=")[1].split()[0]
        resources[setting] = j.split("resources:")[1].splitlines()[0]
    assert "gpu=1" in resources["gpu"] and "gpu_model=a100" in resources["gpu"], resources
    assert "gpu=0" in resources["cpu"] and "a100" not in resources["cpu"], resources


def _msg(epoch: float, ckpt: int, eps: float | None = None, t: float = 1.0) -> dict[str, Any]:
    return {
        "epoch": epoch,
        "is_checkpoint": ckpt,
        "steps": int(epoch * 10),
        "trn_loss": 1.0,
        "val_loss": 1.0,
        "total_time": t,
        "dp_eps": eps,
        "dp_delta": 1e-5 if eps else None,
    }


def test_training_summary_uses_last_checkpoint_and_names_the_stop_reason() -> None:
    dp = filled("mostlyai", {"differential_privacy": {"max_epsilon": 2.0}})
    msgs = [_msg(1, 1, 1.2, 10), _msg(2, 1, 1.8, 20), _msg(3, 0, 2.3, 30)]
    s = m.summarize_training(msgs, dp)
    assert (s["epsilon"], s["training_seconds"], s["epochs"], s["stop_reason"]) == (1.8, 20.0, 3.0, "max_epsilon")
    assert s["stopped_early"] is True
    no_dp = [_msg(1, 1, None, 5), _msg(2, 0, None, 9)]
    assert m.summarize_training(no_dp, filled("mostlyai", {"max_epochs": 2}))["stop_reason"] == "max_epochs"
    assert m.summarize_training(no_dp, filled("mostlyai", {"max_epochs": 2}))["epsilon"] is None
    assert m.summarize_training(no_dp, filled("mostlyai", {"max_training_time": 0.1}))["stop_reason"] == "time"
    # a time cap stops mid-epoch, after the last message: the step's duration tells
    assert m.summarize_training(no_dp, filled("mostlyai", {"max_training_time": 0.5}), 31.0)["stop_reason"] == "time"
    assert m.summarize_training(no_dp, filled("mostlyai", {"max_epochs": 50}))["stop_reason"] == "converged"


def _md_rows(md: str) -> list[list[str]]:
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in md.splitlines() if ln.startswith("| ")]


def test_comparison_accuracy_is_the_sdks_when_its_report_ran_else_privsynths_qa() -> None:
    metrics = [
        {
            "setting": "sdk",
            "accuracy": 0.9,
            "training_seconds": 12.0,
            "epochs": 14,
            "stop_reason": "converged",
            "undertrained": False,
        },
        {
            "setting": "dp",
            "accuracy": None,
            "training_seconds": 30.0,
            "epsilon": 1.6,
            "delta": 1e-5,
            "epochs": 5,
            "stop_reason": "max_epochs",
            "undertrained": False,
        },
        {"setting": "none", "accuracy": None, "epochs": 5, "stop_reason": "max_epochs", "undertrained": False},
    ]
    qa = [{"accuracy_overall": 0.8}, {"accuracy_overall": 0.7}, {"accuracy_overall": None}]
    df = m.comparison_table(metrics, qa)
    assert df["accuracy"].tolist()[:2] == [0.9, 0.7] and pd.isna(df["accuracy"][2])
    assert df["accuracy_source"].tolist()[:2] == ["SDK model report", "privsynth QA"]
    assert pd.isna(df["accuracy_source"][2])
    assert df["sdk_accuracy"].tolist()[0] == 0.9 and df["qa_accuracy"].tolist()[:2] == [0.8, 0.7]
    md = m.comparison_markdown(df, "census")
    head, *rows = _md_rows(md)
    assert head[:8] == [
        "setting",
        "accuracy",
        "accuracy from",
        "runtime (s)",
        "epsilon",
        "delta",
        "epochs",
        "stopped because",
    ]
    assert rows[1][:7] == ["dp", "0.700", "privsynth QA", "30", "1.60", "1e-05", "5"]
    assert "UNDERTRAINED" not in md


def test_capped_runs_are_flagged_undertrained() -> None:
    def msgs(losses: list[float], t: float = 1.0) -> list[dict[str, Any]]:
        return [{**_msg(i + 1, 1, None, t * (i + 1)), "val_loss": v} for i, v in enumerate(losses)]

    # the no_dp: a 30 s time cap after 1 epoch -> flagged, whatever the loss did
    s = m.summarize_training(msgs([22.85]), filled("mostlyai", {"max_training_time": 0.5}), 31.0)
    assert (s["stop_reason"], s["undertrained"]) == ("time", True)
    assert s["undertrained_reason"] == "stopped by the time cap after 1 epoch"
    # max_epochs while the validation loss still falls 1% per epoch -> flagged
    s = m.summarize_training(msgs([22.85, 21.73, 21.13, 20.74, 20.53]), filled("mostlyai", {"max_epochs": 5}))
    assert s["undertrained"] and "still fell 1.0% in the last epoch" in s["undertrained_reason"]
    assert s["val_loss_change_last_epoch"] == pytest.approx(-0.0101, abs=1e-4)
    # max_epochs once the loss levelled off, and the engine's early stopping -> not flagged
    assert not m.summarize_training(msgs([21.0, 20.3, 20.29]), filled("mostlyai", {"max_epochs": 3}))["undertrained"]
    assert not m.summarize_training(msgs([21.0, 20.3, 20.4, 20.5]), filled("mostlyai", {"max_epochs": 50}))[
        "undertrained"
    ]
    # less than one epoch cannot tell
    assert m.summarize_training([_msg(0.4, 1)], filled("mostlyai", {"max_epochs": 0.4}))["undertrained"]
    # the flag reaches the tutorial table, with the reason under it
    df = m.comparison_table(
        [
            {
                "setting": "no_dp",
                "stop_reason": "time",
                "epochs": 1.0,
                **m.summarize_training(msgs([22.85]), filled("mostlyai", {"max_training_time": 0.5}), 31.0),
            }
        ]
    )
    md = m.comparison_markdown(df, "census")
    assert "**UNDERTRAINED**" in _md_rows(md)[1] and "- no_dp: stopped by the time cap after 1 epoch" in md
    # metrics.json written before the flag existed: derived from the stop reason
    old = m.comparison_table([{"setting": "a", "stop_reason": "time", "epochs": 1}])
    assert bool(old["undertrained"][0])


# --- the real engine through the workflow -------------------------------------------


def test_mostlyai_grid_through_snakemake(tmp_path: Path, census_path: Path, run_workflow, mostlyai_engine) -> None:
    settings = {
        # gpu: 1 on a machine without CUDA: must warn loudly and still succeed on CPU.
        # The SDK's model report (its accuracy) only here: it is the slow part.
        "plain": {"max_epochs": 1, "sample_size": 300, "gpu": 1},
        "dp": {
            "max_epochs": 2,
            "sample_size": 300,
            "model_report": False,
            "differential_privacy": {"noise_multiplier": 1.5, "max_grad_norm": 1.0, "delta": 1e-5},
        },
        # value protection off, so the whole budget is DP-SGD's; one epoch already exceeds 0.05.
        "too_private": {
            "max_epochs": 1,
            "value_protection": False,
            "model_report": False,
            "differential_privacy": {"noise_multiplier": 0.5, "max_epsilon": 0.05},
        },
    }
    census = {
        "source": {"kind": "census", "path": str(census_path)},
        "max_rows": 2000,
        "split": {"holdout_fraction": 0.2, "seed": 42},
        "audit": {"enabled": False},  # the audit has its own tests (test_audit.py)
        "generators": {"mostlyai": settings},
    }
    cfg = tiny_config(census=census)
    cfg["threads"] = 1
    proc = run_workflow(tmp_path, cfg, "--keep-going", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, "the too_private setting must fail"
    res = tmp_path / "results" / "census" / "mostlyai"
    logs = tmp_path / "results" / "logs" / "synthesize" / "census" / "mostlyai"
    train = pd.read_parquet(tmp_path / "results" / "census" / "data" / "train.parquet")

    for name in ("plain", "dp"):
        syn = pd.read_parquet(res / name / "synthetic.parquet")
        assert len(syn) == 300 and list(syn.columns) == list(train.columns)
        assert (syn.dtypes == train.dtypes).all()
        metrics = json.loads((res / name / "metrics.json").read_text())
        assert metrics["training_seconds"] > 0 and metrics["generation_seconds"] > 0
        assert metrics["epochs"] >= 1 and metrics["stop_reason"] in ("max_epochs", "converged")
        assert metrics["device"] == "cpu"
        with zipfile.ZipFile(res / name / "generator.zip") as z:
            assert z.testzip() is None and len(z.namelist()) > 0

    plain = json.loads((res / "plain" / "metrics.json").read_text())
    dp = json.loads((res / "dp" / "metrics.json").read_text())
    assert 0 < plain["accuracy"] <= 1 and dp["accuracy"] is None  # model report on / off
    assert plain["epsilon"] is None and plain["delta"] is None and plain["differential_privacy"] is False
    assert dp["epsilon"] is not None and math.isfinite(dp["epsilon"]) and dp["epsilon"] > 0
    assert dp["delta"] == pytest.approx(1e-5)
    # The engine's DP-SGD trace and the claim's independent check (docs/accounting.md).
    t = dp["dp_trace"]
    assert t["rows_used"] == len(train) and 0.15 < t["validation_rows"] / t["rows_used"] < 0.25
    assert t["rows_sampled_from"] + t["validation_rows"] == len(train) and t["sampling"] == "poisson"
    assert t["accountant"] == "rdp" and t["parts"]["value_protection"] == pytest.approx(1.0)
    assert dp["dp_epsilon_rdp"] == pytest.approx(dp["epsilon"], abs=0.006)
    assert dp["dp_check"] in ("agrees", "tighter available") and dp["epsilon_trained"] >= dp["epsilon"]

    plain_log = (logs / "plain.log").read_text()
    assert "WARNING" in plain_log and "no CUDA device is usable" in plain_log
    dp_log = (logs / "dp.log").read_text()
    # progress streamed while training: one line per epoch with loss and epsilon
    assert "progress: epoch   1.00" in dp_log and "val_loss" in dp_log and "epsilon" in dp_log

    # too low max_epsilon: one clear line, nothing written
    bad_log = (logs / "too_private.log").read_text()
    last = bad_log.strip().splitlines()[-1]
    assert last.startswith("ERROR: no checkpoint within differential_privacy.max_epsilon=0.05"), last
    assert not (res / "too_private" / "synthetic.parquet").exists()
    assert not (res / "too_private" / "metrics.json").exists()
    assert "too_private" in out

    # the comparison table cannot be built with a failed cell; rebuild without it
    del cfg["datasets"]["census"]["generators"]["mostlyai"]["too_private"]
    run_workflow(tmp_path, cfg)
    table = pd.read_csv(res / "comparison.csv")
    assert list(table["setting"]) == ["plain", "dp"]
    assert {"accuracy", "training_seconds", "epsilon", "delta", "epochs", "stop_reason"} <= set(table.columns)
    assert "dp" in [r[0] for r in _md_rows((res / "comparison.md").read_text())]
    summary = pd.read_csv(tmp_path / "results" / "summary.csv")
    row = summary.set_index("setting").loc["dp"]
    assert row["epsilon"] == pytest.approx(dp["epsilon"]) and row["stop_reason"] == dp["stop_reason"]
    assert row["dp_check"] == dp["dp_check"] and "dp_trace" not in summary.columns
    assert "accuracy" in summary.columns and "epochs" in summary.columns


def test_default_config_caps_epochs_not_seconds() -> None:
    # A time cap measures the machine's load (docs/mostlyai.md): in the default grid it is
    # only a generous guard, and the tutorial's "until converged" setting has no epoch cap.
    import yaml

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())
    for ds, d in cfg["datasets"].items():
        for name, s in d["generators"]["mostlyai"].items():
            assert s.get("max_training_time") is None or s["max_training_time"] >= 5, (ds, name)
    census = cfg["datasets"]["census"]["generators"]["mostlyai"]
    assert census["no_dp"]["max_epochs"] is None and census["no_dp_5_epochs"]["max_epochs"] == 5
    assert cfg["eda"]["synthetic"] is True
