"""Which cells get the one-run audit, which of them audit the release itself, and job slices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...config import Cell, Grid
from ...errors import ConfigError
from ..common.cells import NO_REFIT, refittable, select_cells
from .method import SUBSAMPLE_KEYS, OneRunProtocol

Key = tuple[str, str, str]


def _select(entries: Sequence[str], cells: Sequence[Cell], where: str, ds: str) -> set[Key]:
    return {(c.dataset, c.generator, c.setting) for c in select_cells(entries, cells, where, ds)}


class OneRunPlan:
    def __init__(self, config: Mapping[str, Any], grid: Grid) -> None:
        self.grid = grid
        self.protocols: dict[str, OneRunProtocol] = {}
        self.audited: set[Key] = set()
        self.release: set[Key] = set()
        self.no_refit: set[Key] = set()
        for ds, dcfg in config["datasets"].items():
            where = f"datasets.{ds}.audit.one_run"
            p = OneRunProtocol.from_config((dcfg.get("audit") or {}).get("one_run"), where)
            self.protocols[ds] = p
            if not p.enabled:
                continue
            cells = grid.of(dataset=ds)
            chosen = (
                {(c.dataset, c.generator, c.setting) for c in cells}
                if p.generators is None
                else _select(p.generators, cells, f"{where}.generators", ds)
            )
            # Cells without a generator to refit get a one_run_skipped.json saying so.
            self.no_refit |= {k for k in chosen if not refittable(k[1])}
            chosen -= self.no_refit
            self.audited |= chosen
            rel = p.release_is_audit_run
            if rel is True:
                self.release |= chosen
            elif rel:
                picked = _select(rel, cells, f"{where}.release_is_audit_run", ds) - self.no_refit
                if picked - chosen:
                    k = sorted(picked - chosen)[0]
                    raise ConfigError(
                        f"{where}.release_is_audit_run: {k[1]}/{k[2]} is not one-run audited ({where}.generators)"
                    )
                self.release |= picked

    def is_audited(self, dataset: str, generator: str, setting: str) -> bool:
        return (dataset, generator, setting) in self.audited

    def release_is_audit(self, dataset: str, generator: str, setting: str) -> bool:
        return (dataset, generator, setting) in self.release

    def cells(self) -> list[Cell]:
        return [c for c in self.grid.cells.values() if self.is_audited(c.dataset, c.generator, c.setting)]

    def skip_reason(self, dataset: str, generator: str, setting: str) -> str:
        """Why a cell has no one-run audit (for its one_run_skipped.json)."""
        if not refittable(generator):
            return NO_REFIT
        p = self.protocols[dataset]
        return f"{p.where}.generators" if p.enabled else f"{p.where}.enabled"

    def protocol(self, dataset: str) -> OneRunProtocol:
        return self.protocols[dataset]

    def _check(self, dataset: str, generator: str, setting: str) -> None:
        if not self.is_audited(dataset, generator, setting):
            raise ConfigError(
                f"{dataset}/{generator}/{setting} is not one-run audited (datasets.{dataset}.audit.one_run)"
            )

    # --- job slices ------------------------------------------------------------
    def canary_slice(self, dataset: str) -> dict[str, Any]:
        return {"dataset": dataset, **self.protocols[dataset].canary_slice()}

    def cap(self, dataset: str, generator: str, setting: str) -> int | None:
        """Rows the cell trains on: its generator's own cap, or a train_sizes axis's ``train_rows``."""
        key = SUBSAMPLE_KEYS.get(generator)
        if key is None:
            v = self.grid.synth_slice(dataset, generator, setting).get("train_rows")
        else:
            v = self.grid.cell(dataset, generator, setting).settings.get(key)
        return None if v is None else int(v)

    def fit_slice(self, dataset: str, generator: str, setting: str) -> dict[str, Any]:
        """The cell's synthesis slice for its audit fit, without ``train_rows``: the audit
        training set already has that size (``cap``); subsampling it again would drop
        canaries by the coins and break add/remove."""
        job = self.grid.synth_slice(dataset, generator, setting)
        job.pop("train_rows", None)
        return job

    def train_slice(self, dataset: str, generator: str, setting: str) -> dict[str, Any]:
        self._check(dataset, generator, setting)
        p = self.protocols[dataset]
        return {
            "dataset": dataset,
            "generator": generator,
            "setting": setting,
            "cap": self.cap(dataset, generator, setting),
            "seed": p.seed,
            "where": p.where,
            "audit_run": "release" if self.release_is_audit(dataset, generator, setting) else "separate fit",
        }

    def attack_slice(self, dataset: str, generator: str, setting: str) -> dict[str, Any]:
        self._check(dataset, generator, setting)
        return {
            "dataset": dataset,
            "generator": generator,
            "setting": setting,
            "audit_run": "release" if self.release_is_audit(dataset, generator, setting) else "separate fit",
            **self.protocols[dataset].attack_slice(),
        }
