"""Which cells are audited, and each audit job's slice of the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ... import generators, limits
from ...config import Cell, Grid
from ...errors import ConfigError
from ..common.cells import NO_REFIT, refittable, select_cells
from ..common.threat_model import AuditProtocol


class AuditPlan:
    def __init__(self, config: Mapping[str, Any], grid: Grid) -> None:
        self.grid = grid
        self.protocols: dict[str, AuditProtocol] = {}
        self.audited: set[tuple[str, str, str]] = set()
        self.no_refit: set[tuple[str, str, str]] = set()
        for ds, dcfg in config["datasets"].items():
            where = f"datasets.{ds}.audit"
            p = AuditProtocol.from_config(dcfg.get("audit"), where)
            self.protocols[ds] = p
            if p.enabled:
                self._check_memory(config, ds, p, where)
            # Entries are checked even while the audit is off: turning it on must not fail later.
            cells = grid.of(dataset=ds)
            chosen = cells if p.generators is None else select_cells(p.generators, cells, f"{where}.generators", ds)
            # Repeats (<setting>.rN) would rerun the identical audit (same sets, same set
            # seeds): the base setting is audited once and its repeats point to it.
            if p.enabled:
                self.audited |= {(c.dataset, c.generator, c.setting) for c in chosen if c.repeat == 1}
                # Not silently: these cells get an audit_skipped.json saying why.
                self.no_refit |= {k for k in self.audited if not refittable(k[1])}
                self.audited -= self.no_refit
                for gen in {k[1] for k in self.audited if k[0] == ds}:
                    p.attacks_for(generators.declared(gen))  # attack names from a schema, checked before any job

    def _check_memory(self, config: Mapping[str, Any], ds: str, p: AuditProtocol, where: str) -> None:
        """Refuse shadow sets that cannot fit in memory: the attack job holds all of them at once."""
        cols = self.grid._n_columns(ds)
        if not cols:
            return
        sets = f"{p.n_sets} shadow sets: 2 x (n_shadow {p.n_shadow} + n_eval {p.n_eval})"
        limits.check_rows(p.n_sets * p.n, cols, f"{where}.n ({sets}, each of {p.n:,} training rows)", config)
        if p.m is not None:
            limits.check_rows(p.n_sets * p.m, cols, f"{where}.m ({sets}, each sampled to {p.m:,} rows)", config)

    def is_audited(self, dataset: str, generator: str, setting: str) -> bool:
        return (dataset, generator, setting) in self.audited

    def skip_reason(self, dataset: str, generator: str, setting: str) -> str:
        """Why a cell has no audit of its own (for its audit_skipped.json)."""
        if not refittable(generator):
            return NO_REFIT
        p = self.protocols[dataset]
        if not p.enabled:
            return f"datasets.{dataset}.audit.enabled"
        c = self.grid.cell(dataset, generator, setting)
        if c.repeat > 1 and self.is_audited(dataset, generator, c.base_setting):
            return f"repeat {c.repeat} of {c.base_setting}: audited once, see {generator}/{c.base_setting}"
        return f"datasets.{dataset}.audit.generators"

    def attack_slice(self, dataset: str, generator: str, setting: str) -> dict[str, Any]:
        job = self.grid.synth_slice(dataset, generator, setting)
        return {
            "dataset": dataset,
            "generator": generator,
            "setting": setting,
            "settings": job["settings"],
            **self.protocols[dataset].attack_slice(generators.declared(generator)),
        }

    def cells(self) -> list[Cell]:
        return [c for c in self.grid.cells.values() if self.is_audited(c.dataset, c.generator, c.setting)]

    def protocol(self, dataset: str) -> AuditProtocol:
        return self.protocols[dataset]

    def batches(self, dataset: str) -> list[int]:
        return list(range(self.protocols[dataset].n_batches))

    def fit_slice(self, dataset: str, generator: str, setting: str, batch: int) -> dict[str, Any]:
        p = self.protocols[dataset]
        if batch >= p.n_batches:
            raise ConfigError(f"{p.where}: batch {batch} does not exist ({p.n_batches} batches)")
        job = self.grid.synth_slice(dataset, generator, setting)
        # Every shadow set has its own seed (in shadow_sets.parquet); the global seed is not used.
        job.pop("seed", None)
        return {**job, "sets": p.batch_sets(batch), "m": p.sample_size}
