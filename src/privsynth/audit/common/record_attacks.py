"""Record attacks: one score per record (a canary, a member) from one synthetic output, higher = "in".

The one-run audit's attacks, also the no-box section's (``audit.nobox.measures``).  No shadow
model and no coin is used here (``audit.one_run.method.evaluate`` reads the coins only to
count correct guesses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...schema import Schema
from .encoding import Encoder

BANDWIDTH_CANARIES = 200


@dataclass
class _Coded:
    num: np.ndarray  # scaled numerics (float32; -1 = missing)
    cat: np.ndarray  # categorical codes
    raw: np.ndarray  # exact-value codes of every column (int64; equal value <=> equal code)


def _encode_pair(enc: Encoder, schema: Schema, frames: Sequence[pd.DataFrame]) -> list[_Coded]:
    """Encode frames consistently; ``raw`` codes are shared across frames for exact-value matching."""
    parts = [enc.encode(f) for f in frames]
    sizes = [len(f) for f in frames]
    both = pd.concat([f[schema.names] for f in frames], ignore_index=True)
    raw = np.empty((len(both), len(schema.names)), dtype=np.int64)
    for j, name in enumerate(schema.names):
        raw[:, j] = pd.factorize(both[name].astype("string").fillna("\x00<NA>"))[0]
    splits = np.cumsum(sizes)[:-1]
    return [_Coded(p.num, p.cat, r) for p, r in zip(parts, np.split(raw, splits), strict=True)]


def _scan(canary: _Coded, syn: _Coded, chunk: int, bandwidth: float | None) -> dict[str, np.ndarray]:
    """Per canary: min mixed distance, max exact-value matches, log mean Laplace kernel.

    Column by column over blocks of canaries, so memory stays ~``chunk`` pairs x 8 bytes.
    """
    n, n_syn = len(canary.num), len(syn.num)
    dmin = np.full(n, np.inf)
    matches = np.zeros(n, dtype=np.int64)
    lse = np.full(n, -np.inf)
    step = max(1, chunk // max(n_syn, 1))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        d = np.zeros((hi - lo, n_syn))
        for j in range(canary.num.shape[1]):
            d += np.abs(canary.num[lo:hi, j, None] - syn.num[None, :, j])
        for j in range(canary.cat.shape[1]):
            d += canary.cat[lo:hi, j, None] != syn.cat[None, :, j]
        eq = np.zeros((hi - lo, n_syn), dtype=np.int16)
        for j in range(canary.raw.shape[1]):
            eq += canary.raw[lo:hi, j, None] == syn.raw[None, :, j]
        dmin[lo:hi] = d.min(1)
        matches[lo:hi] = eq.max(1)
        if bandwidth is not None:
            x = d / -bandwidth
            mx = x.max(1)
            lse[lo:hi] = mx + np.log(np.exp(x - mx[:, None]).sum(1)) - math.log(n_syn)
    return {"dmin": dmin, "matches": matches, "log_kde": lse}


def attack_scores(
    canaries: pd.DataFrame,
    synthetic: pd.DataFrame,
    reference: pd.DataFrame,
    schema: Schema,
    attacks: Sequence[str],
    chunk: int = 2_000_000,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Scores per attack (higher = more likely included), from the synthetic output alone.

    * ``closest_distance``: minus the distance to the nearest synthetic record (numeric
      columns scaled to [0, 1] by the schema, L1; 1 per categorical mismatch);
    * ``exact_match``: number of columns whose value in the best-matching synthetic
      record equals the canary's exactly (catches generators that reuse training values);
    * ``density``: log of a Laplace-kernel density of the synthetic data at the canary
      minus that of the reference population (the holdout split, which holds no canary).
    """
    enc = Encoder(schema)
    c, s, r = _encode_pair(enc, schema, [canaries, synthetic, reference])
    ref_scan, bandwidth = None, None
    if "density" in attacks:
        # Bandwidth: median distance from a canary to its nearest reference record, on an
        # evenly spaced subset of about BANDWIDTH_CANARIES canaries (no coin is used).
        sl = slice(None, None, max(1, len(c.num) // BANDWIDTH_CANARIES))
        head = _Coded(c.num[sl], c.cat[sl], c.raw[sl])
        bandwidth = max(float(np.median(_scan(head, r, chunk, None)["dmin"])), 0.05)
        ref_scan = _scan(c, r, chunk, bandwidth)
    syn_scan = _scan(c, s, chunk, bandwidth)
    out: dict[str, np.ndarray] = {}
    for a in attacks:
        if a == "closest_distance":
            out[a] = -syn_scan["dmin"]
        elif a == "exact_match":
            out[a] = syn_scan["matches"].astype(float)
        elif a == "density":
            assert ref_scan is not None
            out[a] = syn_scan["log_kde"] - ref_scan["log_kde"]
    info = {"synthetic_rows": len(synthetic), "reference_rows": len(reference), "density_bandwidth": bandwidth}
    return out, info


__all__ = ["BANDWIDTH_CANARIES", "attack_scores"]
