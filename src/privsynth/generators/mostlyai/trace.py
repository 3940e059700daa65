"""The DP training trace of a MOSTLY AI run, read from the engine's own workspace files.

After training, the SDK's generator folder holds what the engine's DP-SGD loop used:
``tgt-stats/stats.json`` (rows for training and validation after its internal
split, the value-protection ε spent), ``model-data/dp-accountant.pt`` (the Opacus
accountant's state at the released checkpoint: ``[(noise, sampling rate, steps)]``)
and the progress messages (steps and ε after each epoch).  The engine's loop is
Opacus ``make_private(poisson_sampling=True)``: sampling rate 1 / ceil(rows / batch),
``rows // batch`` steps per epoch, no gradient accumulation (the SDK passes none).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .progress import finite

log = logging.getLogger("privsynth.mostlyai")


def _stats(model_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"trn": None, "val": None, "vp": 0.0}
    for kind in ("tgt", "ctx"):
        path = model_dir / f"{kind}-stats" / "stats.json"
        if not path.is_file():
            continue
        st = json.loads(path.read_text())
        out["vp"] += float(st.get("value_protection_epsilon_spent") or 0.0)
        if kind == "tgt":
            out["trn"] = st.get("no_of_training_records")
            out["val"] = st.get("no_of_validation_records")
    return out


def _accountant(model_dir: Path) -> dict[str, Any] | None:
    path = model_dir / "model-data" / "dp-accountant.pt"
    if not path.is_file():
        return None
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    return {"history": [[float(s), float(q), int(k)] for s, q, k in state["history"]], "mechanism": state["mechanism"]}


def batch_sizes(rows: int, sample_rate: float, steps_per_epoch: int | None) -> list[int]:
    """Batch sizes consistent with the engine's rate 1/ceil(rows/B) and rows//B steps per epoch."""
    if not rows or not sample_rate:
        return []
    loader_len = round(1 / sample_rate)
    return [
        b
        for b in range(1, rows + 1)
        if math.ceil(rows / b) == loader_len and (steps_per_epoch is None or rows // b == steps_per_epoch)
    ]


def read_trace(
    generator_dir: Path, messages: list[Mapping[str, Any]], settings: Mapping[str, Any], rows_given: int
) -> dict[str, Any] | None:
    """The trace of a DP run (None without DP); fields the engine did not leave are None."""
    dp = settings["differential_privacy"]
    if dp is None:
        return None
    models = sorted(p for p in (generator_dir / "ModelStore").glob("*") if (p / "tgt-stats").is_dir())
    model_dir = models[0] if models else generator_dir / "ModelStore" / "data:tabular"
    st = _stats(model_dir)
    acc = _accountant(model_dir)
    ckpts = [m for m in messages if m.get("is_checkpoint")]
    ckpt = ckpts[-1] if ckpts else (messages[-1] if messages else {})
    last = messages[-1] if messages else {}
    epoch_ends = [m for m in messages if float(m.get("epoch") or 0).is_integer() and m.get("epoch")]
    per_epoch = int(epoch_ends[0]["steps"] / epoch_ends[0]["epoch"]) if epoch_ends else None
    hist = acc["history"] if acc else None
    q = hist[-1][1] if hist else None
    steps = sum(k for _, _, k in hist) if hist else None
    if steps is not None and ckpt.get("steps") is not None and int(ckpt["steps"]) != steps:
        log.warning("DP trace: accountant has %s steps, the checkpoint's message %s", steps, ckpt["steps"])
    trn = st["trn"]
    if settings["batch_size"] is not None:
        batch: Any = int(min(settings["batch_size"], trn or settings["batch_size"]))
    else:
        cands = batch_sizes(int(trn or 0), q or 0.0, per_epoch)
        batch = cands[0] if len(cands) == 1 else (f"{cands[0]}-{cands[-1]}" if cands else None)
    vp = st["vp"] if settings["value_protection"] else 0.0
    claimed = finite(ckpt.get("dp_eps"))
    not_covered = []
    if not settings["value_protection"]:
        not_covered.append("value ranges and categories are taken from the data without DP (value_protection: false)")
    not_covered.append(
        "generated values are clipped to the schema's min/max and categories, inferred from the raw data "
        "without DP unless declared in schema.overrides"
    )
    return {
        "generator": "mostlyai",
        "mechanism": "DP-SGD",
        "source": "engine workspace: tgt-stats/stats.json, model-data/dp-accountant.pt, progress messages",
        "noise_multiplier": hist[-1][0] if hist else dp["noise_multiplier"],
        "max_grad_norm": dp["max_grad_norm"],
        "delta": finite(ckpt.get("dp_delta")) or dp["delta"],
        "batch_size_physical": batch,
        "batch_size_logical": batch,  # the SDK passes no gradient accumulation
        "rows_given": rows_given,
        "rows_used": (trn or 0) + (st["val"] or 0) if trn is not None else None,
        "rows_sampled_from": trn,
        "validation_rows": st["val"],
        "sample_rate": q,
        "steps": steps,
        "steps_per_epoch": per_epoch,
        "epochs": finite(ckpt.get("epoch")),
        "steps_trained": int(last["steps"]) if last.get("steps") is not None else None,
        "epochs_trained": finite(last.get("epoch")),
        "sampling": "poisson",
        "accountant": acc["mechanism"] if acc else None,
        "history": hist,
        "claim_rounding": 0.005,  # the engine's progress messages round ε to 2 decimals
        "parts": {"dp_sgd": None if claimed is None else round(claimed - vp, 6), "value_protection": vp},
        "not_covered": not_covered,
    }
