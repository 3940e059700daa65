"""Exact-match (Hamming) closest distance: how many columns the nearest synthetic record gets exactly right."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ....errors import ConfigError
from .base import Attack, SyntheticSets


class ExactMatch(Attack):
    """Score = minus the Hamming distance from the target to its nearest synthetic record.

    Hamming distance: the number of columns whose value differs (numeric values
    compared exactly, on the values themselves, not on a scaled copy; missing
    equals missing).  Generators that reuse training values (``marginals``, LLM
    generators that copy number strings) leak through exact matches that a
    scaled L1 distance does not single out.  With ``tie_break`` (default) the
    fraction of synthetic rows at that minimum distance is added (< 1, so it only
    orders sets with the same minimum): more near-copies, more likely a member.
    """

    name = "exact_match"
    label = "Exact match (Hamming)"
    options = {"tie_break": True}

    @classmethod
    def check_options(cls, options: Mapping[str, Any], where: str) -> None:
        super().check_options(options, where)
        if not isinstance({**cls.options, **options}["tie_break"], bool):
            raise ConfigError(f"{where}.attack_options.exact_match.tie_break: true or false")

    def _block(self, sets: SyntheticSets, lo: int, hi: int) -> np.ndarray:
        if sets.raw is None:
            raise ValueError("exact_match needs the raw numeric values (SyntheticSets.raw)")
        raw, cat = sets.raw[lo:hi], sets.cat[lo:hi]
        t = self.t_raw[None, None]
        same = (raw[:, :, None, :] == t) | (np.isnan(raw[:, :, None, :]) & np.isnan(t))
        d = (~same).sum(-1) + (cat[:, :, None, :] != self.t_cat[None, None]).sum(-1)  # (sets, m, k)
        dmin = d.min(1)
        score = -dmin.astype(np.float64)
        if self.opts["tie_break"]:
            score += (d == dmin[:, None, :]).sum(1) / (d.shape[1] + 1)
        return score

    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        return self._per_set(sets, f"exact:{self.opts['tie_break']}", lambda lo, hi: self._block(sets, lo, hi), idx)
