"""GReaT generator: real be-great fit/sample with a tiny offline GPT-2, through the pipeline rule."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pandas as pd
import pytest

# No Hugging Face Hub here: models must come from local directories.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from conftest import tiny_config  # noqa: E402
from generator_settings import filled  # noqa: E402
from great_tiny import build_tiny_model  # noqa: E402

from privsynth.errors import ConfigError, GeneratorError  # noqa: E402
from privsynth.generators import great  # noqa: E402
from privsynth.schema import Schema, coerce_frame, infer_schema, validate_frame  # noqa: E402

# A few WDBC columns; the names with spaces are the point.
COLUMNS = ["mean radius", "mean texture", "worst area", "target"]


@pytest.fixture(scope="session")
def wdbc4() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame[COLUMNS]


@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory: pytest.TempPathFactory, wdbc4: pd.DataFrame) -> Path:
    return build_tiny_model(wdbc4, tmp_path_factory.mktemp("tiny-gpt2"))


def test_codec_round_trips_names_and_labels_be_great_cannot_parse() -> None:
    from be_great.great_utils import _convert_text_to_tabular_data

    df = pd.DataFrame({"mean radius": [1.5, 2.25], "size, cm": [3, 4], "x is y": ["a, b", "c is d"], "target": [0, 1]})
    schema = infer_schema(df)
    codec = great.Codec(schema)
    enc = codec.encode(df)
    assert enc.columns[0] == "mean radius"  # safe names are kept: the LLM reads real names
    assert "," not in "".join(enc.columns) and " is " not in " ".join(enc.columns)
    # Render as be-great's dataset does ("col is value, ...") and parse with its own parser.
    texts = [", ".join(f"{c} is {v}" for c, v in row.items()) for row in enc.astype(object).to_dict("records")]
    parsed = _convert_text_to_tabular_data(texts, list(enc.columns))
    back = coerce_frame(codec.decode(parsed), schema)
    assert validate_frame(back, schema).n_invalid == 0
    assert back["x is y"].tolist() == ["a, b", "c is d"]
    assert back["size, cm"].tolist() == [3, 4]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"differential_privacy": {"max_grad_norm": 1.0}}, "exactly one of noise_multiplier or target_epsilon"),
        ({"differential_privacy": {"noise_multiplier": 1, "target_epsilon": 3}}, "exactly one"),
        ({"differential_privacy": {"noise_multiplier": 1}, "efficient_finetuning": "lora"}, "efficient_finetuning"),
        ({"differential_privacy": {"noise_multiplier": 1}, "precision": "bf16"}, "precision: fp32"),
    ],
)
def test_check_settings_rejects_unsupported_combinations(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        great.GENERATOR.check_settings(filled("great", settings), "datasets.wdbc.generators.great.x")


def test_missing_model_offline_says_how_to_predownload(tmp_path: Path, wdbc4: pd.DataFrame) -> None:
    gen = great.GENERATOR(workdir=tmp_path, threads=1)
    train = wdbc4.head(20)
    with pytest.raises(
        GeneratorError, match=r"not in the Hugging Face cache.*hf download privsynth-test/no-such-model"
    ):
        gen.fit(train, infer_schema(train), filled("great", {"llm": "privsynth-test/no-such-model", "gpu": 0}), 0)


def test_out_of_memory_names_the_knobs() -> None:
    import torch

    gen = great.GENERATOR(threads=1)
    gen.settings, gen.device = (
        filled("great", {"llm": "gpt2-large", "batch_size": 32, "sample_batch_size": 100}),
        "cuda",
    )
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    fit_msg = str(gen._translate(oom, "fine-tuning"))
    assert "lower batch_size (now 32)" in fit_msg and "gradient_accumulation_steps" in fit_msg
    assert "precision: bf16" in fit_msg and "efficient_finetuning: lora" in fit_msg
    assert "lower sample_batch_size (now 100)" in str(gen._translate(oom, "sampling"))
    other = RuntimeError("shape mismatch")
    assert gen._translate(other, "sampling") is other


def test_great_rule_samples_valid_rows_dp_and_fails_within_budget(
    tmp_path: Path, wdbc4: pd.DataFrame, tiny_llm: Path, run_workflow, great_engine
) -> None:
    csv = tmp_path / "wdbc4.csv"
    wdbc4.to_csv(csv, index=False)
    common = {
        "llm": str(tiny_llm),
        "epochs": 3,
        "batch_size": 16,
        "learning_rate": 5e-3,
        "sample_batch_size": 50,
        "sample_max_attempts": 30,
        "sample_time_budget_s": 600,
        # gpu keeps its default 1: on this CPU-only machine the job must warn and run on the CPU.
    }
    cfg = tiny_config(
        wdbc4={
            "source": {"kind": "csv", "path": str(csv)},
            "max_rows": 120,
            "generators": {
                "great": {
                    "plain": {**common, "sample_size": 10},
                    "dp": {**common, "sample_size": 10, "differential_privacy": {"target_epsilon": 8.0}},
                    # Deterministic failures: one attempt of 20 candidates cannot give 500 rows,
                    # and a zero time budget stops before or after the first batch.
                    "attempts": {
                        **common,
                        "epochs": 1,
                        "sample_size": 500,
                        "sample_batch_size": 20,
                        "sample_max_attempts": 1,
                    },
                    "budget": {**common, "epochs": 1, "sample_size": 500, "sample_time_budget_s": 0.001},
                }
            },
        }
    )
    cfg["threads"] = 1
    proc = run_workflow(tmp_path, cfg, "--keep-going", check=False)
    res = tmp_path / "results" / "wdbc4" / "great"
    logs = tmp_path / "results" / "logs" / "synthesize" / "wdbc4" / "great"
    assert (tmp_path / "results/wdbc4/data/schema.json").exists(), proc.stderr[-4000:]
    schema = Schema.from_json(json.loads((tmp_path / "results/wdbc4/data/schema.json").read_text()))
    ntrain = len(pd.read_parquet(tmp_path / "results/wdbc4/data/train.parquet"))

    for setting in ("plain", "dp"):
        assert (
            res / setting / "synthetic.parquet"
        ).exists(), f"{setting} failed:\n{(logs / f'{setting}.log').read_text()[-3000:]}\n{proc.stderr[-3000:]}"
        syn = pd.read_parquet(res / setting / "synthetic.parquet")
        assert list(syn.columns) == COLUMNS and len(syn) == 10
        assert validate_frame(syn, schema).n_invalid == 0
        m = json.loads((res / setting / "metrics.json").read_text())
        assert m["device"] == "cpu" and m["gpu_requested"] == 1
        assert m["fit_seconds"] > 0 and m["sample_seconds"] > 0
        assert m["sample_valid_rows"] >= 10
        assert m["sample_candidates"] == m["sample_valid_rows"] + m["dropped_incomplete"] + m["dropped_invalid"]
        log = (logs / f"{setting}.log").read_text()
        assert "WARNING: gpu: 1 requested but no CUDA device is usable" in log

    plain = json.loads((res / "plain" / "metrics.json").read_text())
    assert plain["epsilon"] is None
    dp = json.loads((res / "dp" / "metrics.json").read_text())
    assert dp["epsilon"] is not None and math.isfinite(dp["epsilon"]) and dp["epsilon"] > 0
    assert dp["delta"] == pytest.approx(1 / (10 * ntrain))
    # The reported epsilon is the accountant's for the steps actually taken.
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(dp["dp_noise_multiplier"], dp["dp_sample_rate"], dp["dp_steps"])]
    assert dp["epsilon"] == pytest.approx(acc.get_epsilon(dp["delta"]), rel=1e-3)
    assert 7.8 < dp["epsilon"] <= 8.0 + 0.01  # noise calibrated to the target
    assert dp["dp_steps"] == round(3 / (16 / ntrain))
    # Its training trace, checked from outside (privsynth.accounting, docs/accounting.md).
    t = dp["dp_trace"]
    assert (t["rows_sampled_from"], t["validation_rows"], t["steps"], t["sampling"]) == (
        ntrain,
        0,
        dp["dp_steps"],
        "poisson",
    )
    assert t["sample_rate"] == pytest.approx(16 / ntrain) and dp["epsilon_trained"] == dp["epsilon"]
    assert dp["dp_epsilon_rdp"] == pytest.approx(dp["epsilon"], rel=1e-3)
    assert dp["dp_check"] == "tighter available" and dp["dp_epsilon_prv"] < dp["epsilon"]

    for setting, why in (("attempts", "attempt limit"), ("budget", "time budget")):
        assert not (res / setting / "synthetic.parquet").exists()
        assert not (res / setting / "metrics.json").exists()
        last = (logs / f"{setting}.log").read_text().strip().splitlines()[-1]
        assert last.startswith(f"ERROR: great sampling stopped by its {why}"), last
        assert "valid rows of 500 asked" in last and "raise epochs (now 1)" in last
    assert proc.returncode != 0


def test_great_rule_asks_for_a_gpu_by_default(tmp_path: Path, wdbc4: pd.DataFrame, run_workflow) -> None:
    csv = tmp_path / "wdbc4.csv"
    wdbc4.to_csv(csv, index=False)
    great_cells = {"on-gpu": {"llm": "distilgpt2"}, "on-cpu": {"llm": "distilgpt2", "gpu": 0}}
    cfg = tiny_config(wdbc4={"source": {"kind": "csv", "path": str(csv)}, "generators": {"great": great_cells}})
    out = run_workflow(tmp_path, cfg, "-n", "--forceall").stdout
    jobs = [block for block in out.split("\n\n") if "rule synthesize_great" in block]
    gpu = {re.search(r"setting=([\w-]+)", j).group(1): re.search(r"gpu=(\d+)", j).group(1) for j in jobs}
    assert gpu == {"on-gpu": "1", "on-cpu": "0"}
