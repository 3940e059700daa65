"""The training-set size axis: one generator setting trained at several numbers of rows.

The MOSTLY AI DP tutorial's own exercise ("the impact of the total size of the
training data on final eps"). A dataset's ``train_sizes`` block names one
configured setting and a list of sizes; the grid then holds that setting once per
size, as the cells ``<setting>.n<rows>`` (``<setting>.nfull`` for ``null``, the
whole training split), in place of the plain setting.  Everything else about a
cell (fidelity, utility, the one-run audit, the summary) is as for any other.

The subsample is seeded.  A generator with a training-row cap of its own
(``audit.one_run.method.SUBSAMPLE_KEYS``: mostlyai's ``max_sample_size``) gets the size
as that cap, so the one-run audit draws its training set at that size (base rows
plus the included canaries, every one trained on) and the engine samples with the
cell's seed otherwise.  Any other generator gets ``train_rows`` in its job slice:
the synthesis job draws that many rows of its training table with the cell's
seed before the fit (``subsample``).  ``privsynth.report.train_sizes`` plots the
accountant epsilon, the one-run epsilon lower bound and the accuracy against rows.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import ConfigError

FULL = "full"


@dataclass(frozen=True)
class Axis:
    dataset: str
    generator: str
    setting: str
    sizes: tuple[int | None, ...]

    @classmethod
    def from_config(cls, dataset: str, dcfg: Mapping[str, Any]) -> Axis | None:
        """The dataset's ``train_sizes`` block (validated by config/schema.yaml), or None."""
        block = dcfg.get("train_sizes")
        if not block:
            return None
        where = f"datasets.{dataset}.train_sizes"
        gen, setting = str(block["generator"]), str(block["setting"])
        if setting not in ((dcfg.get("generators") or {}).get(gen) or {}):
            raise ConfigError(
                f"{where}: no setting {gen}/{setting} in datasets.{dataset}.generators; name a configured setting"
            )
        sizes = tuple(None if s is None else int(s) for s in block["sizes"])
        if len(set(sizes)) != len(sizes):
            raise ConfigError(f"{where}.sizes: each size once, got {list(sizes)}")
        return cls(dataset, gen, setting, sizes)

    def cell_name(self, size: int | None) -> str:
        return f"{self.setting}.n{FULL if size is None else size}"

    def names(self) -> list[str]:
        return [self.cell_name(s) for s in self.sizes]

    def expand(self, generator: str, settings_by_name: Mapping[str, Any]) -> dict[str, Any]:
        """``settings_by_name`` of ``generator`` with the axis's setting replaced by one per size."""
        if generator != self.generator:
            return dict(settings_by_name)
        out: dict[str, Any] = {}
        for name, settings in settings_by_name.items():
            if name != self.setting:
                out[name] = settings
                continue
            for size in self.sizes:
                s = copy.deepcopy(dict(settings or {}))
                key = subsample_key(generator)
                if key is not None:
                    s[key] = size
                out[self.cell_name(size)] = s
        return out

    def size_of(self, base_setting: str) -> tuple[bool, int | None]:
        """(on the axis, configured size) of a cell by its base setting (repeats share it)."""
        for size in self.sizes:
            if base_setting == self.cell_name(size):
                return True, size
        return False, None

    def job_keys(self, generator: str, base_setting: str) -> dict[str, Any]:
        """Keys of the synthesis slice of a cell on the axis that subsamples in privsynth (else none)."""
        if generator != self.generator or subsample_key(generator) is not None:
            return {}
        on, size = self.size_of(base_setting)
        return {"train_rows": size} if on and size is not None else {}

    def slice(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "generator": self.generator,
            "setting": self.setting,
            "sizes": list(self.sizes),
        }


def subsample_key(generator: str) -> str | None:
    """The generator's own training-row cap, if it has one (the one-run audit honours it)."""
    from .audit.one_run.method import SUBSAMPLE_KEYS

    return SUBSAMPLE_KEYS.get(generator)


def subsample(train: pd.DataFrame, rows: int | None, seed: int) -> pd.DataFrame:
    """``rows`` training rows drawn without replacement with ``seed`` (all rows when there are not more)."""
    if rows is None or rows >= len(train):
        return train
    return train.sample(n=int(rows), random_state=int(seed)).sort_index()


def axes(config: Mapping[str, Any]) -> dict[str, Axis]:
    """Every dataset's axis (datasets without one left out)."""
    out = {}
    for ds, dcfg in config["datasets"].items():
        a = Axis.from_config(ds, dcfg)
        if a is not None:
            out[ds] = a
    return out
