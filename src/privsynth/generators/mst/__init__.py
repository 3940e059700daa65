"""``mst``: MST (McKenna, Miklau & Sheldon 2021), the DP marginal-based reference generator.

The generalised winner of the 2018 NIST differential-privacy synthetic-data
challenge, built on Private-PGM (``mbi`` 2.0.0): measure all 1-way marginals,
choose a maximum spanning tree of 2-way marginals with the exponential
mechanism, measure those, fit a graphical model and sample from it.
(epsilon, delta)-DP under add/remove-one-record neighbours through zCDP
(accounting.py); numeric columns are binned between the schema's public bounds
(encoding.py).  docs/mst.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...schema import Schema
from ..base import Generator
from . import encoding
from .accounting import Budget


class MSTGenerator(Generator):
    name = "mst"
    description = "MST: DP marginals on a maximum spanning tree + Private-PGM (zCDP, add/remove)"

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        from . import mechanism  # jax

        self.settings = dict(settings)
        self.seed = int(seed)
        self.columns = encoding.columns(schema, int(settings["bins"]))
        codes = encoding.encode(train[[c.name for c in self.columns]], self.columns)
        sizes = {c.name: c.size for c in self.columns}
        self.budget = Budget(float(settings["epsilon"]), float(settings["delta"]), len(self.columns))
        # One generator for all noise and selection draws: a fixed seed gives the same release.
        rng = np.random.default_rng([self.seed, 0])
        self.fitted = mechanism.fit(
            codes,
            sizes,
            self.budget,
            rng,
            iters=int(settings["iters"]),
            select_iters=int(settings["select_iters"]),
            threads=self.threads,
        )

    def sample(self, n: int) -> pd.DataFrame:
        from . import mechanism

        codes = mechanism.sample(self.fitted, n, seed=self.seed)
        df = encoding.decode(codes, self.columns, np.random.default_rng([self.seed, 1]))
        return df[[c.name for c in self.columns]]

    def metrics(self) -> dict[str, Any]:
        return {
            **self.budget.record(),
            "mst_budget_split": "rho/3 1-way marginals, rho/3 tree selection, rho/3 2-way marginals",
            "mst_bins": int(self.settings["bins"]),
            **self.fitted.info,
        }


GENERATOR = MSTGenerator
