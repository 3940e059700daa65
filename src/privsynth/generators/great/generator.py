"""The ``great`` generator class: settings checks, fit (plain or DP), sample, metrics."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ConfigError, GeneratorError
from ...schema import Schema
from ..base import Generator, pick_device
from .codec import Codec
from .dp import fit_dp
from .failures import translate
from .loading import LogWriter, check_vocab, choose_max_length, load_great
from .sampling import sample_rows

log = logging.getLogger(__package__)  # one logger for the package, as before the split


class GReaTGenerator(Generator):
    name = "great"
    # LLM generators write rows as text and copy digit strings: add the string-distance attack.
    description = "GReaT: a causal LLM fine-tuned on rows rendered as text (be-great)"

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        dp = settings["differential_privacy"]
        if dp:
            has_sigma = dp["noise_multiplier"] is not None
            has_eps = dp["target_epsilon"] is not None
            if has_sigma == has_eps:
                raise ConfigError(
                    f"{where}.differential_privacy: set exactly one of noise_multiplier or target_epsilon"
                )
            if settings["efficient_finetuning"] != "none":
                raise ConfigError(
                    f"{where}.efficient_finetuning: LoRA cannot be combined with differential_privacy "
                    "(opacus has no grad sampler for PEFT layers); set efficient_finetuning: none"
                )
            if settings["precision"] != "fp32":
                raise ConfigError(f"{where}.precision: differential_privacy trains in fp32; set precision: fp32")

    # --- fit ---------------------------------------------------------------

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        self.settings = dict(settings)
        self.schema = schema
        self.seed = seed
        self._metrics: dict[str, Any] = {}
        s = self.settings
        offline = s["offline"]
        if offline:
            # Read when huggingface_hub is imported, so set it before importing transformers.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import huggingface_hub.constants
        import torch
        import transformers

        if offline:  # also when huggingface_hub was imported before the variable was set
            huggingface_hub.constants.HF_HUB_OFFLINE = True
        transformers.logging.set_verbosity_error()
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        torch.set_num_threads(max(1, self.threads))

        self.device = pick_device(int(s["gpu"]), "GReaT")
        self.codec = Codec(schema)
        frame = self.codec.encode(train[schema.names])
        self._capture = LogWriter()
        self.great = load_great(s, len(frame), self.workdir, self.device, seed, self._capture)
        check_vocab(self.great, s["llm"])
        self.max_length, self._metrics["row_tokens_max"] = choose_max_length(self.great, frame, s, seed)

        self._metrics.update(
            llm=s["llm"],
            device=self.device,
            gpu_requested=int(s["gpu"]),
            precision=s["precision"] if self.device == "cuda" else "fp32",
            efficient_finetuning=s["efficient_finetuning"],
            max_length=self.max_length,
        )
        t0 = time.perf_counter()
        try:
            if s["differential_privacy"]:
                self._metrics.update(fit_dp(self.great, frame, self.codec, schema, s, self.device, seed))
            else:
                self._fit_plain(frame)
        except GeneratorError:
            raise
        except (RuntimeError, MemoryError) as exc:
            raise self._translate(exc, "fine-tuning") from None
        log.info("fine-tuning took %.1f s", time.perf_counter() - t0)

    def _fit_plain(self, frame: pd.DataFrame) -> None:
        import be_great.great as bg

        s = self.settings
        log.info(
            "fine-tuning %s: %d rows, %d epochs, batch %d x %d accumulation, lr %g, %s on %s",
            s["llm"],
            len(frame),
            int(s["epochs"]),
            int(s["batch_size"]),
            int(s["gradient_accumulation_steps"]),
            float(s["learning_rate"]),
            "LoRA" if s["efficient_finetuning"] == "lora" else "full weights",
            self.device,
        )
        progress = _progress_callback(bg.ChugProgressCallback)
        original = bg.ChugProgressCallback
        bg.ChugProgressCallback = progress  # be-great builds its callbacks inside fit()
        try:
            with contextlib.redirect_stdout(self._capture):
                trainer = self.great.fit(frame.reset_index(drop=True))
        finally:
            bg.ChugProgressCallback = original
        hist = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        if hist:
            self._metrics["train_loss"] = round(float(hist[-1]), 4)
        self._metrics["train_steps"] = int(trainer.state.global_step)

    # --- sample ------------------------------------------------------------

    def sample(self, n: int) -> pd.DataFrame:
        return sample_rows(
            self.great,
            self.codec,
            self.schema,
            self.settings,
            self.device,
            self.max_length,
            self._capture,
            n,
            self._metrics,
        )

    # --- errors and metrics ---------------------------------------------------

    def _translate(self, exc: BaseException, phase: str) -> BaseException:
        return translate(exc, phase, self.settings, self.device)

    def metrics(self) -> dict[str, Any]:
        return dict(self._metrics)


def _progress_callback(base: type) -> type:
    """be-great's progress-bar callback plus progress lines in our log."""

    class LoggedProgress(base):  # type: ignore[misc, valid-type]
        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001
            self._t0 = time.perf_counter()
            log.info("training: %d steps", state.max_steps)
            return super().on_train_begin(args, state, control, **kwargs)

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if logs and "loss" in logs:
                log.info(
                    "step %d/%d (epoch %.1f): loss %.4f (%.1f s)",
                    state.global_step,
                    state.max_steps,
                    logs.get("epoch", 0.0),
                    logs["loss"],
                    time.perf_counter() - self._t0,
                )
            return super().on_log(args, state, control, logs=logs, **kwargs)

    return LoggedProgress
