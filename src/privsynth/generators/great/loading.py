"""Loading the LLM into be-great, its text limits, and the Conv1D layer surgery opacus needs."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ConfigError, GeneratorError

log = logging.getLogger(__package__)  # one logger for the package, as before the split


class LogWriter(io.TextIOBase):
    """File-like sink for be-great's print()s: lines go to our log (progress bars dropped)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._buf = ""

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            line = re.sub(r"\x1b\[[0-9;]*m", "", line).split("\r")[-1].strip()
            if line and not line.startswith("{"):  # Trainer's loss dicts: we log our own
                self.lines.append(line)
                if len(self.lines) <= 20:
                    log.info("be-great: %s", line)
        return len(s)


def model_max_positions(model: Any) -> int | None:
    cfg = model.config
    for key in ("n_positions", "max_position_embeddings", "n_ctx"):
        v = getattr(cfg, key, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def load_great(
    s: Mapping[str, Any], n_rows: int, workdir: Path | None, device: str, seed: int, capture: LogWriter
) -> Any:
    """be-great's ``GReaT`` around ``s["llm"]`` (a local directory or a Hugging Face name)."""
    llm = str(s["llm"])
    local = Path(llm).expanduser()
    if local.exists() and not local.is_dir():
        raise ConfigError(f"llm: {llm} is a file; give a model directory or a Hugging Face model name")
    lora = s["lora"]
    kwargs = train_kwargs(s, n_rows, device, seed)
    from be_great import GReaT

    log.info("loading %s (%s)", llm, "local directory" if local.is_dir() else "Hugging Face name")
    try:
        with contextlib.redirect_stdout(capture):
            great = GReaT(
                str(local) if local.is_dir() else llm,
                experiment_dir=str(Path(workdir or ".") / "great_trainer"),
                epochs=int(s["epochs"]),
                batch_size=int(s["batch_size"]),
                efficient_finetuning="lora" if s["efficient_finetuning"] == "lora" else "",
                lora_config={k: v for k, v in lora.items() if v is not None} or None,
                float_precision=s["float_precision"],
                report_to=[],
                **kwargs,
            )
    except (OSError, ValueError, KeyError) as exc:
        if local.is_dir():
            raise GeneratorError(
                f"cannot load the model in {local}: {str(exc).splitlines()[0]} "
                "(it needs config.json, weights and tokenizer files, as written by save_pretrained)"
            ) from None
        cache = os.environ.get("HF_HUB_CACHE") or os.path.join(
            os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub"
        )
        how = (
            f"pre-download it on a machine with internet (`hf download {llm}`) and copy the cache to "
            f"{cache} here (or point HF_HOME at it), or set llm: to a local directory written by "
            "save_pretrained"
        )
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise GeneratorError(
                f"model {llm!r} is not in the Hugging Face cache ({cache}) and offline mode is on: {how}"
            ) from None
        raise GeneratorError(f"cannot load model {llm!r}: {str(exc).splitlines()[0]}; {how}") from None
    if device == "cpu":
        great.model.to("cpu")
    return great


def train_kwargs(s: Mapping[str, Any], n_rows: int, device: str, seed: int) -> dict[str, Any]:
    """be-great's (transformers Trainer) arguments for the plain fine-tuning."""
    kw: dict[str, Any] = dict(
        learning_rate=float(s["learning_rate"]),
        gradient_accumulation_steps=int(s["gradient_accumulation_steps"]),
        save_strategy="no",
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        use_cpu=device == "cpu",
        logging_strategy="steps",
        logging_steps=max(1, plain_steps(s, n_rows) // 20),
    )
    if device == "cuda":
        prec = s["precision"]
        kw["fp16"] = prec == "fp16"
        kw["bf16"] = prec == "bf16"
    elif s["precision"] != "fp32":
        log.warning("precision %s needs a GPU; training in fp32 on the CPU", s["precision"])
    return kw


def plain_steps(s: Mapping[str, Any], n_rows: int) -> int:
    per_step = int(s["batch_size"]) * int(s["gradient_accumulation_steps"])
    return max(1, math.ceil(n_rows / per_step) * int(s["epochs"]))


def check_vocab(great: Any, llm: str) -> None:
    # A tokenizer larger than the model's embedding table gives CUDA "device-side assert".
    tok, model = great.tokenizer, great.model
    n_emb = model.get_input_embeddings().num_embeddings
    if len(tok) > n_emb:
        raise GeneratorError(
            f"tokenizer of {llm} has {len(tok)} tokens but the model only {n_emb} "
            "embeddings (on a GPU this is a 'device-side assert'); use a tokenizer and model saved together"
        )


def rendered_lengths(
    great: Any, frame: pd.DataFrame, float_precision: int | None, seed: int, n: int = 200
) -> list[int]:
    from be_great.great_dataset import GReaTDataset

    ds = GReaTDataset.from_pandas(frame.reset_index(drop=True))
    ds.set_tokenizer(great.tokenizer, float_precision)
    idx = np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False)
    return [len(ds[int(i)]["input_ids"]) for i in idx]


def choose_max_length(great: Any, frame: pd.DataFrame, s: Mapping[str, Any], seed: int) -> tuple[int, int]:
    """Tokens per generated row and the longest training row's tokens."""
    lengths = rendered_lengths(great, frame, s["float_precision"], seed)
    longest = max(lengths)
    limit = model_max_positions(great.model)
    requested = s["max_length"]
    if requested is None:
        # Whole row plus room for the model's own variations (issue: 1.3-2x the row).
        max_length = math.ceil(1.5 * longest) + 4
        if limit:
            max_length = min(max_length, limit)
        log.info("max_length: %d tokens (longest training row: %d tokens)", max_length, longest)
    else:
        max_length = int(requested)
        if max_length < longest:
            log.warning(
                "WARNING: max_length %d is shorter than the longest training row (%d tokens): long rows "
                "are cut off and dropped; raise max_length or set float_precision",
                max_length,
                longest,
            )
    if limit and longest > limit:
        raise GeneratorError(
            f"rows are {longest} tokens long but {s['llm']} handles at most {limit}: "
            "set float_precision (fewer digits) or use a model with a longer context"
        )
    if limit and max_length > limit:
        raise ConfigError(f"max_length: {max_length} exceeds the model's {limit} positions; lower max_length")
    return max_length, longest


# --- Conv1D <-> Linear (opacus has a grad sampler for nn.Linear, not for Conv1D) -------------


def _iter_modules(model: Any, cls: type) -> Iterator[tuple[Any, str, Any]]:
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if type(child) is cls:
                yield parent, name, child


def conv1d_to_linear(model: Any) -> int:
    """Swap transformers' Conv1D (x @ W + b) for nn.Linear with W transposed."""
    import torch
    from transformers.pytorch_utils import Conv1D

    count = 0
    for parent, name, conv in list(_iter_modules(model, Conv1D)):
        lin = torch.nn.Linear(conv.nx, conv.nf, device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            lin.weight.copy_(conv.weight.t())
            lin.bias.copy_(conv.bias)
        lin.weight.requires_grad_(conv.weight.requires_grad)
        lin.bias.requires_grad_(conv.bias.requires_grad)
        lin._privsynth_conv1d = True  # marks layers to turn back into Conv1D
        setattr(parent, name, lin)
        count += 1
    return count


def linear_to_conv1d(model: Any) -> None:
    """Undo ``conv1d_to_linear`` so the model is a stock checkpoint again."""
    import torch
    from transformers.pytorch_utils import Conv1D

    for parent, name, lin in list(_iter_modules(model, torch.nn.Linear)):
        if not getattr(lin, "_privsynth_conv1d", False):
            continue
        conv = Conv1D(lin.out_features, lin.in_features).to(lin.weight.device, lin.weight.dtype)
        with torch.no_grad():
            conv.weight.copy_(lin.weight.t())
            conv.bias.copy_(lin.bias)
        setattr(parent, name, conv)
