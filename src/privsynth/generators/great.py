"""``great``: GReaT (be-great 0.0.14) - rows as text, a causal LLM fine-tuned on them.

be-great's own ``sample()`` loops until it has parsed ``n`` rows and only gives
up after 14 consecutive empty batches, so a weak model can run for hours.
Here each attempt is one generation batch built from be-great's start samplers
and text parser, every candidate row is checked against the schema, and the
loop stops at ``sample_time_budget_s`` or ``sample_max_attempts``.

With a ``differential_privacy`` block the fine-tuning is an opacus DP-SGD loop of
our own (be-great's Trainer cannot be made private): one training example is one
row with one random column order per draw, Poisson-sampled batches, and
transformers' ``Conv1D`` swapped for ``nn.Linear`` so opacus has a grad sampler.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import random
import re
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, GeneratorError
from ..schema import FINITE_TYPES, Schema, _value_str, coerce_frame, validate_frame
from .base import Generator

log = logging.getLogger(__name__)

# be-great renders a row as "col is value, col is value" and parses it back by
# splitting on "," and " is "; names or values containing these must be renamed.
_UNSAFE = re.compile(r",| is |\n|\r|<\|endoftext\|>")
_PLACEHOLDER = "placeholder"  # be-great's marker for a column the model did not produce


def _safe_text(text: str) -> str:
    out = _UNSAFE.sub(lambda m: ";" if m.group(0) == "," else " ", str(text)).strip()
    return re.sub(r"\s+", " ", out) or "_"


def _unique(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for n in names:
        seen[n] += 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


class _Codec:
    """Reversible renaming of columns and category labels that be-great cannot parse."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        inner = _unique([_safe_text(n) for n in schema.names])
        self.to_inner = dict(zip(schema.names, inner, strict=True))
        self.to_outer = {v: k for k, v in self.to_inner.items()}
        self.cat_in: dict[str, dict[str, str]] = {}
        self.cat_out: dict[str, dict[str, str]] = {}
        for col in schema:
            if col["type"] in FINITE_TYPES:
                labels = [str(v) for v in col["representation"]]
                safe = _unique([_safe_text(v) for v in labels])
                self.cat_in[col["name"]] = dict(zip(labels, safe, strict=True))
                self.cat_out[col["name"]] = dict(zip(safe, labels, strict=True))
        renamed = [n for n in schema.names if self.to_inner[n] != n]
        if renamed:
            log.info("columns renamed for be-great's text format: %s", {n: self.to_inner[n] for n in renamed})

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for col in self.schema:
            name = col["name"]
            s = df[name]
            if name in self.cat_in:
                # Categories as text so be-great treats them as categorical (not numeric).
                s = s.map(lambda v, m=self.cat_in[name]: None if pd.isna(v) else m.get(_value_str(v), str(v)))
                s = s.astype(object)
            out[self.to_inner[name]] = s
        return pd.DataFrame(out, index=df.index)

    def decode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for col in self.schema:
            name = col["name"]
            s = df[self.to_inner[name]]
            if name in self.cat_out:
                m = self.cat_out[name]
                s = s.map(lambda v, m=m: v if pd.isna(v) else m.get(str(v).strip(), str(v).strip()))
            out[name] = s
        return pd.DataFrame(out, index=df.index)


class _LogWriter(io.TextIOBase):
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


def _is_oom(exc: BaseException) -> bool:
    text = str(exc).lower()
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text


def _model_max_positions(model: Any) -> int | None:
    cfg = model.config
    for key in ("n_positions", "max_position_embeddings", "n_ctx"):
        v = getattr(cfg, key, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


class GReaTGenerator(Generator):
    name = "great"
    # LLM generators write rows as text and copy digit strings: add the string-distance attack.
    audit_attacks = (*Generator.audit_attacks, "levenshtein")
    description = "GReaT: a causal LLM fine-tuned on rows rendered as text (be-great)"
    uses_gpu = True

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        dp = settings.get("differential_privacy")
        if dp:
            has_sigma = dp.get("noise_multiplier") is not None
            has_eps = dp.get("target_epsilon") is not None
            if has_sigma == has_eps:
                raise ConfigError(
                    f"{where}.differential_privacy: set exactly one of noise_multiplier or target_epsilon"
                )
            if settings.get("efficient_finetuning", "none") != "none":
                raise ConfigError(
                    f"{where}.efficient_finetuning: LoRA cannot be combined with differential_privacy "
                    "(opacus has no grad sampler for PEFT layers); set efficient_finetuning: none"
                )
            if settings.get("precision", "fp32") != "fp32":
                raise ConfigError(f"{where}.precision: differential_privacy trains in fp32; set precision: fp32")

    # --- fit ---------------------------------------------------------------

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        self.settings = dict(settings)
        self.schema = schema
        self.seed = seed
        self._metrics: dict[str, Any] = {}
        s = self.settings
        offline = s.get("offline", True)
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

        self.device = self._pick_device(torch, int(s.get("gpu", 1) or 0))
        self.codec = _Codec(schema)
        frame = self.codec.encode(train[schema.names])
        self.great = self._load(frame)
        self._check_vocab(frame)
        self.max_length = self._choose_max_length(frame)

        self._metrics.update(
            llm=s.get("llm", "distilgpt2"),
            device=self.device,
            gpu_requested=int(s.get("gpu", 1) or 0),
            precision=s.get("precision", "fp32") if self.device == "cuda" else "fp32",
            efficient_finetuning=s.get("efficient_finetuning", "none"),
            max_length=self.max_length,
        )
        t0 = time.perf_counter()
        try:
            if s.get("differential_privacy"):
                self._fit_dp(frame, dict(s["differential_privacy"]))
            else:
                self._fit_plain(frame)
        except GeneratorError:
            raise
        except (RuntimeError, MemoryError) as exc:
            raise self._translate(exc, "fine-tuning") from None
        log.info("fine-tuning took %.1f s", time.perf_counter() - t0)

    def _pick_device(self, torch: Any, gpu: int) -> str:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if gpu <= 0:
            log.info("gpu: 0 - running on the CPU")
            return "cpu"
        if torch.cuda.is_available():
            log.info("running on %s (CUDA_VISIBLE_DEVICES=%s)", torch.cuda.get_device_name(0), visible)
            return "cuda"
        log.warning(
            "WARNING: gpu: %d requested but no CUDA device is usable (CUDA_VISIBLE_DEVICES=%s, "
            "torch %s, CUDA build %s) - GReaT runs on the CPU, which is much slower; metrics.json records "
            "device: cpu",
            gpu,
            visible,
            torch.__version__,
            torch.version.cuda,
        )
        return "cpu"

    def _load(self, frame: pd.DataFrame) -> Any:
        s = self.settings
        llm = str(s.get("llm", "distilgpt2"))
        local = Path(llm).expanduser()
        if local.exists() and not local.is_dir():
            raise ConfigError(f"llm: {llm} is a file; give a model directory or a Hugging Face model name")
        lora = s.get("lora") or {}
        train_kwargs = self._train_kwargs(len(frame))
        from be_great import GReaT

        self._capture = _LogWriter()
        log.info("loading %s (%s)", llm, "local directory" if local.is_dir() else "Hugging Face name")
        try:
            with contextlib.redirect_stdout(self._capture):
                great = GReaT(
                    str(local) if local.is_dir() else llm,
                    experiment_dir=str(Path(self.workdir or ".") / "great_trainer"),
                    epochs=int(s.get("epochs", 100)),
                    batch_size=int(s.get("batch_size", 8)),
                    efficient_finetuning="lora" if s.get("efficient_finetuning", "none") == "lora" else "",
                    lora_config={k: v for k, v in lora.items() if v is not None} or None,
                    float_precision=s.get("float_precision"),
                    report_to=[],
                    **train_kwargs,
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
        if self.device == "cpu":
            great.model.to("cpu")
        return great

    def _train_kwargs(self, n_rows: int) -> dict[str, Any]:
        s = self.settings
        kw: dict[str, Any] = dict(
            learning_rate=float(s.get("learning_rate", 5e-5)),
            gradient_accumulation_steps=int(s.get("gradient_accumulation_steps", 1)),
            save_strategy="no",
            seed=self.seed,
            data_seed=self.seed,
            dataloader_num_workers=0,
            use_cpu=self.device == "cpu",
            logging_strategy="steps",
            logging_steps=max(1, self._plain_steps(n_rows) // 20),
        )
        if self.device == "cuda":
            prec = s.get("precision", "fp32")
            kw["fp16"] = prec == "fp16"
            kw["bf16"] = prec == "bf16"
        elif s.get("precision", "fp32") != "fp32":
            log.warning("precision %s needs a GPU; training in fp32 on the CPU", s.get("precision"))
        return kw

    def _plain_steps(self, n_rows: int) -> int:
        s = self.settings
        per_step = int(s.get("batch_size", 8)) * int(s.get("gradient_accumulation_steps", 1))
        return max(1, math.ceil(n_rows / per_step) * int(s.get("epochs", 100)))

    def _check_vocab(self, frame: pd.DataFrame) -> None:
        # A tokenizer larger than the model's embedding table gives CUDA "device-side assert".
        tok, model = self.great.tokenizer, self.great.model
        n_emb = model.get_input_embeddings().num_embeddings
        if len(tok) > n_emb:
            raise GeneratorError(
                f"tokenizer of {self.settings.get('llm')} has {len(tok)} tokens but the model only {n_emb} "
                "embeddings (on a GPU this is a 'device-side assert'); use a tokenizer and model saved together"
            )

    def _rendered_lengths(self, frame: pd.DataFrame, n: int = 200) -> list[int]:
        from be_great.great_dataset import GReaTDataset

        ds = GReaTDataset.from_pandas(frame.reset_index(drop=True))
        ds.set_tokenizer(self.great.tokenizer, self.settings.get("float_precision"))
        idx = np.random.default_rng(self.seed).choice(len(ds), size=min(n, len(ds)), replace=False)
        return [len(ds[int(i)]["input_ids"]) for i in idx]

    def _choose_max_length(self, frame: pd.DataFrame) -> int:
        lengths = self._rendered_lengths(frame)
        longest = max(lengths)
        self._metrics["row_tokens_max"] = longest
        limit = _model_max_positions(self.great.model)
        requested = self.settings.get("max_length")
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
                f"rows are {longest} tokens long but {self.settings.get('llm')} handles at most {limit}: "
                "set float_precision (fewer digits) or use a model with a longer context"
            )
        if limit and max_length > limit:
            raise ConfigError(f"max_length: {max_length} exceeds the model's {limit} positions; lower max_length")
        return max_length

    def _fit_plain(self, frame: pd.DataFrame) -> None:
        import be_great.great as bg

        s = self.settings
        log.info(
            "fine-tuning %s: %d rows, %d epochs, batch %d x %d accumulation, lr %g, %s on %s",
            s.get("llm"),
            len(frame),
            int(s.get("epochs", 100)),
            int(s.get("batch_size", 8)),
            int(s.get("gradient_accumulation_steps", 1)),
            float(s.get("learning_rate", 5e-5)),
            "LoRA" if s.get("efficient_finetuning") == "lora" else "full weights",
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

    def _fit_dp(self, frame: pd.DataFrame, dp: dict[str, Any]) -> None:
        import torch
        from be_great.great_dataset import GReaTDataset
        from opacus import GradSampleModule
        from opacus.accountants import create_accountant
        from opacus.accountants.utils import get_noise_multiplier
        from opacus.optimizers import DPOptimizer

        s = self.settings
        great = self.great
        df = frame.reset_index(drop=True)
        # be-great's sampling start draws real values of one column, which DP does not
        # cover: start from a categorical column's (public) schema categories, uniformly.
        great._update_column_information(df)
        finite = [self.codec.to_inner[c] for c in self.schema.finite()]
        if finite:
            cats = list(self.codec.cat_out[self.codec.to_outer[finite[-1]]])
            great.conditional_col = finite[-1]
            great.conditional_col_dist = {c: 1.0 / len(cats) for c in cats}
        else:
            great.conditional_col, great.conditional_col_dist = None, None  # column names only

        n = len(df)
        batch = int(s.get("batch_size", 8))
        accum = int(s.get("gradient_accumulation_steps", 1))
        logical = batch * accum
        if logical >= n:
            raise ConfigError(
                f"batch_size x gradient_accumulation_steps = {logical} is not below the {n} training rows; "
                "DP-SGD needs a sampling rate below 1: lower batch_size or gradient_accumulation_steps"
            )
        q = logical / n
        epochs = int(s.get("epochs", 100))
        steps = max(1, round(epochs / q))
        delta = dp.get("delta")
        if delta is None:
            delta = 1.0 / (10 * n)
        delta = float(delta)
        clip = float(dp.get("max_grad_norm", 1.0))
        mechanism = dp.get("accountant", "rdp")
        if dp.get("noise_multiplier") is not None:
            sigma = float(dp["noise_multiplier"])
        else:
            sigma = float(
                get_noise_multiplier(
                    target_epsilon=float(dp["target_epsilon"]),
                    target_delta=delta,
                    sample_rate=q,
                    steps=steps,
                    accountant=mechanism,
                )
            )
            log.info("noise multiplier %.4f reaches epsilon %s at delta %.3g", sigma, dp["target_epsilon"], delta)

        device = torch.device(self.device)
        model = great.model.to(device)
        swapped = _conv1d_to_linear(model)
        if swapped:
            log.info("replaced %d transformers Conv1D layers by nn.Linear for opacus", swapped)
        model.train()  # opacus needs train mode before wrapping
        # Harmless: opacus' hooks on the first layer, whose input (token ids) needs no grad.
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        gsm = GradSampleModule(model, batch_first=True, loss_reduction="mean")
        params = [p for p in gsm.parameters() if p.requires_grad]
        optimizer = DPOptimizer(
            torch.optim.AdamW(params, lr=float(s.get("learning_rate", 5e-5))),
            noise_multiplier=sigma,
            max_grad_norm=clip,
            expected_batch_size=logical,
            loss_reduction="mean",
        )
        accountant = create_accountant(mechanism)
        optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=q))

        ds = GReaTDataset.from_pandas(df)
        ds.set_tokenizer(great.tokenizer, s.get("float_precision"))
        pad_id = great.tokenizer.pad_token_id if great.tokenizer.pad_token_id is not None else 0
        rng = np.random.default_rng(self.seed)
        log.info(
            "DP fine-tuning: %d rows, %d steps (%d epochs at sampling rate %.4f), noise %.4f, clip %.3g, "
            "delta %.3g, %s accountant, on %s",
            n, steps, epochs, q, sigma, clip, delta, mechanism, self.device,
        )  # fmt: skip
        every = max(1, steps // 20)
        loss_val = float("nan")
        t0 = time.perf_counter()
        for step in range(1, steps + 1):
            # Poisson sampling: each row independently with probability q (what the accountant assumes).
            idx = np.flatnonzero(rng.random(n) < q)
            if len(idx) == 0:
                for p in params:  # empty batch: still a noise-only step, as the analysis assumes
                    p.grad_sample = torch.zeros((0, *p.shape), device=p.device, dtype=p.dtype)
                optimizer.step()
                optimizer.zero_grad()
                continue
            chunks = [idx[i : i + batch] for i in range(0, len(idx), batch)]
            losses = []
            for j, chunk in enumerate(chunks):
                ids, mask = _collate([ds[int(i)]["input_ids"] for i in chunk], pad_id, device)
                loss = _per_row_loss(gsm, ids, mask).mean()
                loss.backward()
                losses.append(float(loss.detach()))
                if j < len(chunks) - 1:
                    optimizer.signal_skip_step(do_skip=True)  # accumulate clipped grads, no noise yet
                    optimizer.step()
                    optimizer.zero_grad()
            optimizer.step()
            optimizer.zero_grad()
            loss_val = float(np.mean(losses))
            if step % every == 0 or step == steps:
                log.info(
                    "DP step %d/%d: loss %.4f, epsilon so far %.3f (%.1f s)",
                    step, steps, loss_val, accountant.get_epsilon(delta), time.perf_counter() - t0,
                )  # fmt: skip
        epsilon = float(accountant.get_epsilon(delta))
        model = gsm.to_standard_module()
        for p in model.parameters():
            for attr in ("grad_sample", "summed_grad"):
                if hasattr(p, attr):
                    delattr(p, attr)
        _linear_to_conv1d(model)
        model.eval()
        great.model = model
        log.info("DP fine-tuning done: epsilon %.4f at delta %.3g", epsilon, delta)
        self._metrics.update(
            epsilon=epsilon,
            delta=delta,
            dp_noise_multiplier=round(sigma, 6),
            dp_max_grad_norm=clip,
            dp_sample_rate=round(q, 6),
            dp_steps=steps,
            dp_accountant=mechanism,
            train_loss=round(loss_val, 4),
            train_steps=steps,
        )

    # --- sample ------------------------------------------------------------

    def sample(self, n: int) -> pd.DataFrame:
        import torch

        s = self.settings
        budget = float(s.get("sample_time_budget_s", 1800))
        max_attempts = int(s.get("sample_max_attempts", 100))
        k = int(s.get("sample_batch_size", 100))
        guided = bool(s.get("guided_sampling", False))
        temperature = float(s.get("temperature", 0.7))
        great = self.great
        great._resolve_device(self.device)
        great.model.eval()
        log.info(
            "sampling %d rows: %s sampling, batches of %d, temperature %g, max_length %d, "
            "budget %.0f s / %d attempts",
            n, "guided" if guided else "standard", k, temperature, self.max_length, budget, max_attempts,
        )  # fmt: skip
        kept: list[pd.DataFrame] = []
        have = generated = incomplete = invalid = attempts = errors = 0
        reasons: Counter[str] = Counter()
        t0 = time.perf_counter()
        deadline = t0 + budget
        # The first batch always runs; the budget is checked between batches.
        while have < n and attempts < max_attempts and (attempts == 0 or time.perf_counter() < deadline):  # noqa: E501
            attempts += 1
            try:
                with torch.no_grad(), contextlib.redirect_stdout(self._capture):
                    raw, n_err = self._attempt(k, guided, temperature, deadline)
            except (RuntimeError, MemoryError) as exc:
                raise self._translate(exc, "sampling") from None
            errors += n_err
            generated += len(raw)
            # A row is complete when the model produced every column.
            complete = raw[~raw.isin([_PLACEHOLDER, ""]).any(axis=1)]
            incomplete += len(raw) - len(complete)
            if len(complete):
                rows = coerce_frame(self.codec.decode(complete), self.schema)
                check = validate_frame(rows, self.schema)
                invalid += check.n_invalid
                reasons.update(check.reasons)
                good = rows[check.valid]
                kept.append(good)
                have += len(good)
            log.info(
                "attempt %d: %d candidates, %d complete, %d valid so far of %d (%.1f s)",
                attempts, len(raw), len(complete), have, n, time.perf_counter() - t0,
            )  # fmt: skip
        elapsed = time.perf_counter() - t0
        self._metrics.update(
            sample_attempts=attempts,
            sample_candidates=generated,
            sample_valid_rows=have,
            dropped_incomplete=incomplete,
            dropped_invalid=invalid,
            dropped_generation_errors=errors,
            dropped_reasons="; ".join(f"{r} ({c})" for r, c in reasons.most_common()) or None,
        )
        if have < n:
            why = "time budget" if time.perf_counter() >= deadline else "attempt limit"
            top = ", ".join(f"{r} ({c})" for r, c in reasons.most_common(3))
            hint = (
                "raise max_length or set float_precision (rows are cut off)"
                if incomplete > invalid
                else "lower temperature"
            )
            improve = f"raise epochs (now {s.get('epochs', 100)}), {hint}, or set guided_sampling: true"
            if have:
                # The model works, only slowly: say how much room sampling would need.
                per_attempt = have / attempts
                need = math.ceil(n / per_attempt)
                secs = elapsed / attempts * need
                outlook = (
                    f"at {100 * have / generated:.1f}% valid candidates about {need} attempts (~{secs:.0f} s) "
                    f"would be needed: raise sample_max_attempts / sample_time_budget_s, or improve the model: "
                    f"{improve}"
                )
            else:
                outlook = f"the model is undertrained: {improve}"
            raise GeneratorError(
                f"great sampling stopped by its {why} ({attempts} attempts, {elapsed:.0f} s) with only "
                f"{have} valid rows of {n} asked: of {generated} candidate rows {incomplete} were incomplete"
                f" and {invalid} outside the schema{f' ({top})' if top else ''}; {outlook}; "
                "no synthetic data written"
            )
        log.info(
            "sampled %d valid rows in %d attempts (%.1f s); dropped %d incomplete, %d outside the schema",
            n, attempts, elapsed, incomplete, invalid,
        )  # fmt: skip
        if reasons:
            log.info("schema violations: %s", dict(reasons.most_common()))
        return pd.concat(kept).head(n).reset_index(drop=True)

    def _attempt(self, k: int, guided: bool, temperature: float, deadline: float) -> tuple[pd.DataFrame, int]:
        """One batch of ``k`` candidate rows, as be-great's text (internal column names)."""
        import torch
        from be_great.great_utils import _convert_text_to_tabular_data, _convert_tokens_to_text

        great = self.great
        if guided:
            # be-great's guided sampler prints and skips rows that raise: count them.
            frames, errors = [], 0
            for i in range(k):
                if i and time.perf_counter() >= deadline:
                    break
                before = len(self._capture.lines)
                df = great._guided_sample(
                    n_samples=1, temperature=temperature, max_length=self.max_length, device=self.device
                )
                new = self._capture.lines[before:]
                if any("out of memory" in line.lower() for line in new):
                    raise RuntimeError("CUDA out of memory (inside be-great's guided sampling)")
                if len(df):
                    frames.append(df.astype(object))
                else:
                    errors += 1
            raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=great.columns)
            return raw.reindex(columns=great.columns).fillna(_PLACEHOLDER), errors
        start = great._get_start_sampler("", None)
        tokens = torch.tensor(start.get_start_tokens(k)).to(great.device)
        out = great.model.generate(
            input_ids=tokens,
            attention_mask=(tokens != great.tokenizer.pad_token_id).long(),
            max_length=self.max_length,
            do_sample=True,
            temperature=temperature,
            pad_token_id=great.tokenizer.pad_token_id,
        )
        text = _convert_tokens_to_text(out, great.tokenizer)
        return _convert_text_to_tabular_data(text, great.columns), 0

    # --- errors and metrics ---------------------------------------------------

    def _translate(self, exc: BaseException, phase: str) -> BaseException:
        s = self.settings
        if _is_oom(exc):
            if phase == "fine-tuning":
                knobs = (
                    f"lower batch_size (now {s.get('batch_size', 8)}) and raise gradient_accumulation_steps "
                    "(same effective batch), set precision: bf16 or fp16, efficient_finetuning: lora, "
                    "float_precision (shorter rows), or use a smaller llm"
                )
            else:
                knobs = f"lower sample_batch_size (now {s.get('sample_batch_size', 100)}) or max_length"
            return GeneratorError(f"out of {self.device.upper()} memory during {phase} of {s.get('llm')}: {knobs}")
        if "device-side assert" in str(exc):
            return GeneratorError(
                f"CUDA device-side assert during {phase}: usually token ids outside the model's vocabulary "
                "(tokenizer and model from different checkpoints); rerun with CUDA_LAUNCH_BLOCKING=1 for the op"
            )
        return exc

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
                    state.global_step, state.max_steps, logs.get("epoch", 0.0), logs["loss"],
                    time.perf_counter() - self._t0,
                )  # fmt: skip
            return super().on_log(args, state, control, logs=logs, **kwargs)

    return LoggedProgress


def _collate(rows: list[list[int]], pad_id: int, device: Any) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):  # right padding: real tokens keep positions 0..len-1
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids.to(device), mask.to(device)


def _per_row_loss(model: Any, ids: Any, mask: Any) -> Any:
    """Mean next-token loss of each row: each row's gradient depends on that row only."""
    import torch
    import torch.nn.functional as F

    b, width = ids.shape
    # Opacus needs per-example activations everywhere: position ids (1, L) would be broadcast.
    positions = torch.arange(width, device=ids.device).unsqueeze(0).expand(b, width)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    tok = F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1), reduction="none"
    ).view(b, width - 1)
    m = mask[:, 1:].float()
    return (tok * m).sum(1) / m.sum(1).clamp(min=1.0)


def _iter_modules(model: Any, cls: type) -> Iterator[tuple[Any, str, Any]]:
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if type(child) is cls:
                yield parent, name, child


def _conv1d_to_linear(model: Any) -> int:
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


def _linear_to_conv1d(model: Any) -> None:
    """Undo ``_conv1d_to_linear`` so the model is a stock checkpoint again."""
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


GENERATOR = GReaTGenerator
