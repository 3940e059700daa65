"""The one-run audit's training set: exactly add/remove per canary, coin-independent training slots.

Two properties the bound needs (issue 21, items 1-2):

* **Add/remove, exactly.** The base rows (every non-canary row, or under a
  generator's subsampling cap a seeded draw of ``cap - m`` of them) are drawn
  once, before and independently of the coins.  The audit training set is those
  base rows plus the included canaries, so flipping one coin adds or removes
  exactly that canary's row and nothing else.
* **Coin-independent training.** MOSTLY AI's engine holds out about 20% of the rows
  it gets as a validation split, by a hash of the row *position*
  (``mostlyai.sdk._data.pull_utils.export_chunk``: a flat table is uploaded without
  its index, and position ``p`` is a validation row iff
  ``xxh32(str(p)) % 10 < round((1 - 0.8) * 10) = 2``).  Sorting rows by id would make
  which canaries land in validation depend on the other canaries' coins.  Instead
  the rows are laid out position by position: a validation position takes the next
  base row, a training position the next included canary (base rows once the
  canaries are placed), so every included canary sits in a training slot whatever
  the other coins are.  Which canaries are trained on is recorded per canary
  (``placement``), and ``trained_fraction`` says what share of the included canaries
  the engine really trained on.

Validation rows are not protected by DP-SGD: they steer early stopping and the
choice of checkpoint.  The base rows' positions, hence their train/validation
split, do move with the coins: that is the engine's own behaviour under any
add/remove of a row (docs/audit.md, "What the DP claim covers").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ConfigError

# The engine's default trn_val_split and the number of its 10 hash buckets that validate.
MOSTLYAI_TRAIN_SHARE = 0.8
MOSTLYAI_VAL_BUCKETS = round((1 - MOSTLYAI_TRAIN_SHARE) * 10)


def mostlyai_validation(positions: np.ndarray) -> np.ndarray:
    """True where the MOSTLY AI engine puts the row at that 0-based position into its validation split."""
    import xxhash

    h = np.fromiter((xxhash.xxh32_intdigest(str(int(p)).encode("utf-8")) for p in positions), np.int64, len(positions))
    return h % 10 < MOSTLYAI_VAL_BUCKETS


# Generators whose engine splits its training rows by position: name -> rule.
VALIDATION_SPLITS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"mostlyai": mostlyai_validation}


def base_rows(train: pd.DataFrame, canaries: pd.DataFrame, cap: int | None, seed: int, where: str) -> np.ndarray:
    """Non-canary row ids the audit trains on whatever the coins: all of them, or ``cap - m`` under a cap."""
    m = len(canaries)
    base = train.index[~train.index.isin(canaries["row_id"].to_numpy())].to_numpy()
    if cap is None or len(base) + m <= cap:
        return base
    if cap < m:
        raise ConfigError(
            f"{where}.m: {m} canaries do not fit in the generator's training cap of {cap} rows; lower m or raise the cap"
        )
    rng = np.random.default_rng([seed, 2])
    return np.sort(rng.choice(base, cap - m, replace=False))


def layout(base: np.ndarray, included: np.ndarray, split: Callable[[np.ndarray], np.ndarray] | None) -> np.ndarray:
    """Row ids in training order: included canaries only in training slots of ``split`` (if any)."""
    if split is None:
        return np.sort(np.concatenate([base, included]))
    n = len(base) + len(included)
    val = split(np.arange(n))
    train_slots = np.flatnonzero(~val)
    if len(train_slots) < len(included):  # cannot happen below ~1/0.8 of the canaries; say so if it does
        raise ConfigError(f"{len(included)} included canaries but only {len(train_slots)} training slots")
    out = np.empty(n, dtype=base.dtype if len(base) else included.dtype)
    can_slots = train_slots[: len(included)]
    mask = np.zeros(n, dtype=bool)
    mask[can_slots] = True
    out[can_slots] = included
    out[~mask] = base
    return out


def placement(rows: np.ndarray, canaries: pd.DataFrame, split: Callable[[np.ndarray], np.ndarray] | None) -> pd.Series:
    """Per canary: ``excluded``, ``training`` or ``validation`` (the engine's split of its position)."""
    pos = pd.Index(rows).get_indexer(canaries["row_id"].to_numpy())
    out = np.where(pos < 0, "excluded", "training").astype(object)
    if split is not None and (pos >= 0).any():
        out[pos >= 0] = np.where(split(pos[pos >= 0]), "validation", "training")
    return pd.Series(out, index=canaries.index, name="placement")


def audit_training_set(
    train: pd.DataFrame,
    canaries: pd.DataFrame,
    cap: int | None,
    seed: int,
    where: str,
    generator: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Base rows (drawn once, coin-independent) + the included canaries, laid out for the generator's split."""
    inc = canaries.loc[canaries["included"] == 1, "row_id"].to_numpy()
    base = base_rows(train, canaries, cap, seed, where)
    split = VALIDATION_SPLITS.get(generator or "")
    rows = layout(base, inc, split)
    place = placement(rows, canaries, split)
    n_inc = int(len(inc))
    trained = int((place == "training").sum())
    info: dict[str, Any] = {
        "included_canaries": n_inc,
        "cap": cap,
        "base_rows": int(len(base)),
        "subsampled_base_rows": bool(len(base) < int((~train.index.isin(canaries["row_id"])).sum())),
        "rows": int(len(rows)),
        "neighbouring": "add/remove: base rows drawn before and independently of the coins",
        "validation_split": None
        if split is None
        else "MOSTLY AI engine: position p validates iff xxh32(str(p)) % 10 < 2 (trn_val_split 0.8)",
        "trained_canaries": trained,
        "validation_canaries": int((place == "validation").sum()),
        "trained_fraction": None if n_inc == 0 else trained / n_inc,
    }
    return train.loc[rows], info


__all__ = ["VALIDATION_SPLITS", "audit_training_set", "base_rows", "layout", "mostlyai_validation", "placement"]
