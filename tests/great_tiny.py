"""A tiny GPT-2 and byte-level BPE tokenizer built offline, for GReaT tests and benchmarks.

``build_tiny_model`` stands in for a pretrained checkpoint such as distilgpt2: it
is pretrained on *public* rows (values drawn uniformly within each column's
range, never the training rows) so it already knows GReaT's "col is value" text
format; the pipeline then fine-tunes it on the real rows.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd

EOS = "<|endoftext|>"  # be-great strips exactly this string from generated text


def row_texts(df: pd.DataFrame, shuffle: bool = False, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for r in df.astype(object).to_dict("records"):
        items = list(r.items())
        if shuffle:
            rng.shuffle(items)
        out.append(", ".join(f"{c} is {v}" for c, v in items))
    return out


def public_rows(df: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """Rows in the shape of ``df`` with values drawn uniformly per column (no real row)."""
    rng = np.random.default_rng(seed)
    cols = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_float_dtype(s):
            decimals = int(s.map(lambda v: len(repr(float(v)).split(".")[1])).max())
            cols[c] = np.round(rng.uniform(s.min(), s.max(), n), min(decimals, 4))
        elif pd.api.types.is_integer_dtype(s) and s.nunique() > 2:
            cols[c] = rng.integers(s.min(), s.max() + 1, n)
        else:
            cols[c] = rng.choice(sorted(s.unique()), n)
    return pd.DataFrame(cols)


def build_tiny_model(
    df: pd.DataFrame, out: Path, seed: int = 0, pretrain_steps: int = 150, n_positions: int = 128
) -> Path:
    """Tokenizer + GPT-2 (n_embd 64, 2 layers, 2 heads) saved to ``out``, pretrained on public rows."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    # One thread: on a shared, loaded CPU two OpenMP threads were ~20x slower per step.
    torch.set_num_threads(1)
    public = public_rows(df, 2000, seed)
    texts = row_texts(public, shuffle=True, seed=seed)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=400, min_frequency=2, special_tokens=[EOS], show_progress=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=EOS, eos_token=EOS, unk_token=EOS)
    cfg = GPT2Config(
        vocab_size=len(tok),
        n_positions=n_positions,
        n_embd=64,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = GPT2LMHeadModel(cfg)
    if pretrain_steps:
        enc = [tok(t)["input_ids"] for t in texts]
        width = max(map(len, enc))
        ids = torch.full((len(enc), width), tok.eos_token_id)
        mask = torch.zeros((len(enc), width), dtype=torch.long)
        for i, e in enumerate(enc):
            ids[i, : len(e)] = torch.tensor(e)
            mask[i, : len(e)] = 1
        labels = ids.masked_fill(mask == 0, -100)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(pretrain_steps):
            b = torch.randint(0, len(enc), (32,), generator=gen)
            loss = model(input_ids=ids[b], attention_mask=mask[b], labels=labels[b]).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(out)
    model.save_pretrained(out)
    return out
