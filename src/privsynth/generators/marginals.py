"""``marginals``: samples every column independently from its training distribution.

Keeps univariate distributions, destroys all dependence between columns: a
utility floor and a (weak) privacy baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..schema import Schema
from .base import Generator


class MarginalsGenerator(Generator):
    name = "marginals"
    description = "independent per-column resampling of training values"

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        self._train = train.reset_index(drop=True)
        self._rng = np.random.default_rng(seed)

    def sample(self, n: int) -> pd.DataFrame:
        m = len(self._train)
        return pd.DataFrame({c: self._train[c].to_numpy()[self._rng.integers(0, m, n)] for c in self._train.columns})


GENERATOR = MarginalsGenerator
