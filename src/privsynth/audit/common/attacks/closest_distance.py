"""Closest distance: minus the (scaled L1 + categorical mismatch) distance to the nearest synthetic record."""

from __future__ import annotations

import numpy as np

from .base import Attack, SyntheticSets


def distances(sets: SyntheticSets, t_num: np.ndarray, t_cat: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Distance of every synthetic row to every target, (sets, m, k): L1 on
    normalised numeric columns + number of categorical mismatches."""
    num = sets.num[lo:hi]
    cat = sets.cat[lo:hi]
    d = np.abs(num[:, :, None, :] - t_num[None, None]).sum(-1, dtype=np.float32)
    d += (cat[:, :, None, :] != t_cat[None, None]).sum(-1, dtype=np.float32)
    return d


class ClosestDistance(Attack):
    """Score = minus the distance from the target to its nearest synthetic record.

    Distance: L1 over numeric columns scaled to [0, 1] plus one per categorical
    mismatch (a Gower distance times the number of columns).  TAPAS's version
    uses unscaled numeric values.  Blind to exact reuse of a value: a copied
    number is as close as one off by a rounding step.
    """

    name = "closest_distance"
    label = "Closest distance (L1)"

    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        return -self._per_set(
            sets, "closest", lambda lo, hi: distances(sets, self.t_num, self.t_cat, lo, hi).min(1), idx
        )
