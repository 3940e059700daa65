"""Device failures (out of memory, device-side asserts) as errors that name the settings to change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import GeneratorError


def is_oom(exc: BaseException) -> bool:
    text = str(exc).lower()
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text


def translate(exc: BaseException, phase: str, s: Mapping[str, Any], device: str) -> BaseException:
    """A GeneratorError for a known device failure during ``phase``; other errors unchanged."""
    if is_oom(exc):
        if phase == "fine-tuning":
            knobs = (
                f"lower batch_size (now {s['batch_size']}) and raise gradient_accumulation_steps "
                "(same effective batch), set precision: bf16 or fp16, efficient_finetuning: lora, "
                "float_precision (shorter rows), or use a smaller llm"
            )
        else:
            knobs = f"lower sample_batch_size (now {s['sample_batch_size']}) or max_length"
        return GeneratorError(f"out of {device.upper()} memory during {phase} of {s['llm']}: {knobs}")
    if "device-side assert" in str(exc):
        return GeneratorError(
            f"CUDA device-side assert during {phase}: usually token ids outside the model's vocabulary "
            "(tokenizer and model from different checkpoints); rerun with CUDA_LAUNCH_BLOCKING=1 for the op"
        )
    return exc
