"""``copy``: returns training rows unchanged.

This is the POSITIVE CONTROL for the privacy audit, not a generator anyone should
use: every membership-inference attack must detect it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..schema import Schema
from .base import Generator


class CopyGenerator(Generator):
    name = "copy"
    positive_control = True
    description = "positive control: releases the training rows themselves"

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        self._train = train.reset_index(drop=True)
        self._rng = np.random.default_rng(seed)

    def sample(self, n: int) -> pd.DataFrame:
        # Every training row once (shuffled), then resampled rows if more are asked for.
        order = self._rng.permutation(len(self._train))
        if n > len(order):
            order = np.concatenate([order, self._rng.integers(0, len(order), n - len(order))])
        return self._train.iloc[order[:n]].reset_index(drop=True)


GENERATOR = CopyGenerator
