"""DP-SGD fine-tuning with opacus (be-great's Trainer cannot be made private).

One training example is one row with one random column order per draw;
batches are Poisson-sampled, as the accountant assumes; transformers' ``Conv1D``
is swapped for ``nn.Linear`` so opacus has a grad sampler (docs/great.md says why
this loop is ours and not opacus' ``make_private``).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ConfigError
from ...schema import Schema
from .codec import Codec
from .loading import conv1d_to_linear, linear_to_conv1d

log = logging.getLogger(__package__)  # one logger for the package, as before the split


def fit_dp(
    great: Any,
    frame: pd.DataFrame,
    codec: Codec,
    schema: Schema,
    s: Mapping[str, Any],
    device_name: str,
    seed: int,
) -> dict[str, Any]:
    """Fine-tune ``great.model`` with DP-SGD; return the privacy metrics (epsilon, delta, ...)."""
    import torch
    from be_great.great_dataset import GReaTDataset
    from opacus import GradSampleModule
    from opacus.accountants import create_accountant
    from opacus.accountants.utils import get_noise_multiplier
    from opacus.optimizers import DPOptimizer

    dp = s["differential_privacy"]
    df = frame.reset_index(drop=True)
    # be-great's sampling start draws real values of one column, which DP does not
    # cover: start from a categorical column's (public) schema categories, uniformly.
    great._update_column_information(df)
    finite = [codec.to_inner[c] for c in schema.finite()]
    if finite:
        cats = list(codec.cat_out[codec.to_outer[finite[-1]]])
        great.conditional_col = finite[-1]
        great.conditional_col_dist = {c: 1.0 / len(cats) for c in cats}
    else:
        great.conditional_col, great.conditional_col_dist = None, None  # column names only

    n = len(df)
    batch = int(s["batch_size"])
    accum = int(s["gradient_accumulation_steps"])
    logical = batch * accum
    if logical >= n:
        raise ConfigError(
            f"batch_size x gradient_accumulation_steps = {logical} is not below the {n} training rows; "
            "DP-SGD needs a sampling rate below 1: lower batch_size or gradient_accumulation_steps"
        )
    q = logical / n
    epochs = int(s["epochs"])
    steps = max(1, round(epochs / q))
    delta = dp["delta"]
    if delta is None:
        delta = 1.0 / (10 * n)
    delta = float(delta)
    clip = float(dp["max_grad_norm"])
    mechanism = dp["accountant"]
    if dp["noise_multiplier"] is not None:
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

    device = torch.device(device_name)
    model = great.model.to(device)
    swapped = conv1d_to_linear(model)
    if swapped:
        log.info("replaced %d transformers Conv1D layers by nn.Linear for opacus", swapped)
    model.train()  # opacus needs train mode before wrapping
    # Harmless: opacus' hooks on the first layer, whose input (token ids) needs no grad.
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    gsm = GradSampleModule(model, batch_first=True, loss_reduction="mean")
    params = [p for p in gsm.parameters() if p.requires_grad]
    optimizer = DPOptimizer(
        torch.optim.AdamW(params, lr=float(s["learning_rate"])),
        noise_multiplier=sigma,
        max_grad_norm=clip,
        expected_batch_size=logical,
        loss_reduction="mean",
    )
    accountant = create_accountant(mechanism)
    optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=q))

    ds = GReaTDataset.from_pandas(df)
    ds.set_tokenizer(great.tokenizer, s["float_precision"])
    pad_id = great.tokenizer.pad_token_id if great.tokenizer.pad_token_id is not None else 0
    rng = np.random.default_rng(seed)
    log.info(
        "DP fine-tuning: %d rows, %d steps (%d epochs at sampling rate %.4f), noise %.4f, clip %.3g, "
        "delta %.3g, %s accountant, on %s",
        n,
        steps,
        epochs,
        q,
        sigma,
        clip,
        delta,
        mechanism,
        device_name,
    )
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
                step,
                steps,
                loss_val,
                accountant.get_epsilon(delta),
                time.perf_counter() - t0,
            )
    epsilon = float(accountant.get_epsilon(delta))
    model = gsm.to_standard_module()
    for p in model.parameters():
        for attr in ("grad_sample", "summed_grad"):
            if hasattr(p, attr):
                delattr(p, attr)
    linear_to_conv1d(model)
    model.eval()
    great.model = model
    log.info("DP fine-tuning done: epsilon %.4f at delta %.3g", epsilon, delta)
    return dict(
        epsilon=epsilon,
        epsilon_trained=epsilon,  # the last step's weights are the release
        dp_trace=_trace(n, batch, logical, q, steps, epochs, sigma, clip, delta, mechanism, epsilon),
        delta=delta,
        dp_noise_multiplier=round(sigma, 6),
        dp_max_grad_norm=clip,
        dp_sample_rate=round(q, 6),
        dp_steps=steps,
        dp_accountant=mechanism,
        train_loss=round(loss_val, 4),
        train_steps=steps,
    )


def _trace(
    n: int,
    batch: int,
    logical: int,
    q: float,
    steps: int,
    epochs: int,
    sigma: float,
    clip: float,
    delta: float,
    mechanism: str,
    epsilon: float,
) -> dict[str, Any]:
    """What this loop did, for the independent check (privsynth.accounting)."""
    return {
        "generator": "great",
        "mechanism": "DP-SGD",
        "source": "privsynth's own DP-SGD loop (generators/great/dp.py)",
        "noise_multiplier": sigma,
        "max_grad_norm": clip,
        "delta": delta,
        "batch_size_physical": batch,
        "batch_size_logical": logical,
        "rows_given": n,
        "rows_sampled_from": n,  # no internal validation split
        "validation_rows": 0,
        "sample_rate": q,
        "steps": steps,
        "epochs": epochs,
        "steps_trained": steps,
        "epochs_trained": epochs,
        "sampling": "poisson",
        "accountant": mechanism,
        "parts": {"dp_sgd": epsilon},
        "not_covered": [
            "max_length (tokens per generated row) comes from the longest training row, without DP",
            "sampling starts from one column's schema categories; the schema (categories, ranges) is "
            "inferred from the raw data without DP unless declared in schema.overrides",
        ],
    }


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
