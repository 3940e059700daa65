"""``holdout``: returns rows of a reference file that holds no training record.

This is the NEGATIVE CONTROL for the privacy audit.  Its output does not depend
on the training data at all: ``fit`` only records the seed, ``sample`` draws rows
of ``settings.path`` (by default the dataset's holdout split, which is disjoint
from the training split, so no audit target can ever be in it).  It behaves like
an ideal generator that returns a fresh sample of the population; every
membership-inference attack must fail on it (AUC ~ 0.5, epsilon lower bound 0).

The reference file is given in the settings because ``fit(train, schema,
settings, seed)`` sees only the training set: e.g.
``holdout: {control: {path: results/census/data/holdout.parquet}}``.
A relative path is resolved against the working directory (``snakemake -d``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..schema import Schema, check_columns
from .base import Generator

log = logging.getLogger(__name__)


class HoldoutGenerator(Generator):
    name = "holdout"
    negative_control = True
    description = "negative control: rows of a reference file disjoint from training (ignores its training data)"

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        if not settings.get("path"):
            raise ConfigError(f"{where}.path: required (e.g. results/<dataset>/data/holdout.parquet)")

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        path = Path(settings["path"])
        if not path.is_file():
            raise DataError(f"holdout generator: reference file not found: {path} (settings.path)")
        ref = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        check_columns(ref, schema, f"reference file {path}")
        self._ref = ref[schema.names].reset_index(drop=True)
        self._rng = np.random.default_rng(seed)
        # Identical records of different people are normal (census has many); say how many.
        same = np.isin(
            pd.util.hash_pandas_object(self._ref, index=False).to_numpy(),
            pd.util.hash_pandas_object(train[schema.names], index=False).to_numpy(),
        ).sum()
        log.info("holdout: %d reference rows (%d equal to some training row)", len(self._ref), same)

    def sample(self, n: int) -> pd.DataFrame:
        idx = self._rng.choice(len(self._ref), n, replace=n > len(self._ref))
        return self._ref.iloc[idx].reset_index(drop=True)


GENERATOR = HoldoutGenerator
