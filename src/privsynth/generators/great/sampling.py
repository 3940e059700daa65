"""Bounded sampling: one generation batch per attempt, every candidate row checked against the schema.

be-great's own ``sample()`` loops until it has parsed ``n`` rows and only gives
up after 14 consecutive empty batches, so a weak model can run for hours.
Here each attempt is one generation batch built from be-great's start samplers
and text parser, and the loop stops at ``sample_time_budget_s`` or
``sample_max_attempts``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ...errors import GeneratorError
from ...schema import Schema, coerce_frame, validate_frame
from .codec import PLACEHOLDER, Codec
from .failures import translate
from .loading import LogWriter

log = logging.getLogger(__package__)  # one logger for the package, as before the split


def sample_rows(
    great: Any,
    codec: Codec,
    schema: Schema,
    s: Mapping[str, Any],
    device: str,
    max_length: int,
    capture: LogWriter,
    n: int,
    metrics: dict[str, Any],
) -> pd.DataFrame:
    """``n`` valid rows, or a GeneratorError that says why not and what to change.

    The sampling counts are added to ``metrics`` either way.
    """
    import torch

    budget = float(s["sample_time_budget_s"])
    max_attempts = int(s["sample_max_attempts"])
    k = int(s["sample_batch_size"])
    guided = bool(s["guided_sampling"])
    temperature = float(s["temperature"])
    great._resolve_device(device)
    great.model.eval()
    log.info(
        "sampling %d rows: %s sampling, batches of %d, temperature %g, max_length %d, " "budget %.0f s / %d attempts",
        n,
        "guided" if guided else "standard",
        k,
        temperature,
        max_length,
        budget,
        max_attempts,
    )
    kept: list[pd.DataFrame] = []
    have = generated = incomplete = invalid = attempts = errors = 0
    reasons: Counter[str] = Counter()
    t0 = time.perf_counter()
    deadline = t0 + budget
    # The first batch always runs; the budget is checked between batches.
    while have < n and attempts < max_attempts and (attempts == 0 or time.perf_counter() < deadline):
        attempts += 1
        try:
            with torch.no_grad(), contextlib.redirect_stdout(capture):
                raw, n_err = _attempt(great, k, guided, temperature, max_length, device, capture, deadline)
        except (RuntimeError, MemoryError) as exc:
            raise translate(exc, "sampling", s, device) from None
        errors += n_err
        generated += len(raw)
        # A row is complete when the model produced every column.
        complete = raw[~raw.isin([PLACEHOLDER, ""]).any(axis=1)]
        incomplete += len(raw) - len(complete)
        if len(complete):
            rows = coerce_frame(codec.decode(complete), schema)
            check = validate_frame(rows, schema)
            invalid += check.n_invalid
            reasons.update(check.reasons)
            good = rows[check.valid]
            kept.append(good)
            have += len(good)
        log.info(
            "attempt %d: %d candidates, %d complete, %d valid so far of %d (%.1f s)",
            attempts,
            len(raw),
            len(complete),
            have,
            n,
            time.perf_counter() - t0,
        )
    elapsed = time.perf_counter() - t0
    metrics.update(
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
        improve = f"raise epochs (now {s['epochs']}), {hint}, or set guided_sampling: true"
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
        n,
        attempts,
        elapsed,
        incomplete,
        invalid,
    )
    if reasons:
        log.info("schema violations: %s", dict(reasons.most_common()))
    return pd.concat(kept).head(n).reset_index(drop=True)


def _attempt(
    great: Any,
    k: int,
    guided: bool,
    temperature: float,
    max_length: int,
    device: str,
    capture: LogWriter,
    deadline: float,
) -> tuple[pd.DataFrame, int]:
    """One batch of ``k`` candidate rows, as be-great's text (internal column names)."""
    import torch
    from be_great.great_utils import _convert_text_to_tabular_data, _convert_tokens_to_text

    if guided:
        # be-great's guided sampler prints and skips rows that raise: count them.
        frames, errors = [], 0
        for i in range(k):
            if i and time.perf_counter() >= deadline:
                break
            before = len(capture.lines)
            df = great._guided_sample(n_samples=1, temperature=temperature, max_length=max_length, device=device)
            new = capture.lines[before:]
            if any("out of memory" in line.lower() for line in new):
                raise RuntimeError("CUDA out of memory (inside be-great's guided sampling)")
            if len(df):
                frames.append(df.astype(object))
            else:
                errors += 1
        raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=great.columns)
        return raw.reindex(columns=great.columns).fillna(PLACEHOLDER), errors
    start = great._get_start_sampler("", None)
    tokens = torch.tensor(start.get_start_tokens(k)).to(great.device)
    out = great.model.generate(
        input_ids=tokens,
        attention_mask=(tokens != great.tokenizer.pad_token_id).long(),
        max_length=max_length,
        do_sample=True,
        temperature=temperature,
        pad_token_id=great.tokenizer.pad_token_id,
    )
    text = _convert_tokens_to_text(out, great.tokenizer)
    return _convert_text_to_tabular_data(text, great.columns), 0
