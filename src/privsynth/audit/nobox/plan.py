"""Which cells get the no-box section (those without a generator to refit), and its job slice."""

from __future__ import annotations

from typing import Any

from ... import generators, paths
from ...config import Cell, Grid
from ...defaults import defaults_for
from ...generators.external import trained_on_file
from ..common.cells import refittable

# nobox_status of the other cells: their privacy is measured by refitting the generator.
REFITTED = "n/a (a generator privsynth refits: see the audit_ and one_run_ columns)"


def cells(grid: Grid) -> list[Cell]:
    return [c for c in grid.cells.values() if not refittable(c.generator)]


def is_nobox(grid: Grid, dataset: str, generator: str, setting: str) -> bool:
    return not refittable(grid.cell(dataset, generator, setting).generator)


def members_path(grid: Grid, dataset: str, generator: str, setting: str) -> str:
    """The rows the file's maker saw: the uploaded file ``trained_on`` names, else the training split."""
    return trained_on_file(grid.cell(dataset, generator, setting).settings) or paths.fill(paths.TRAIN, dataset=dataset)


def job_slice(grid: Grid, dataset: str, generator: str, setting: str) -> dict[str, Any]:
    c = grid.cell(dataset, generator, setting)
    s = c.settings
    t, f = s.get("trained_on"), trained_on_file(s)
    # A plug-in that declares refittable: false need not define the no-box settings: external's defaults.
    d = defaults_for(schema=generators.settings_schema("external"))
    return {
        "dataset": dataset,
        "generator": generator,
        "setting": setting,
        "confirmed": t is not None,
        "trained_on_file": f,
        "trained_on_label": f if f is not None else ("training split" if t is not None else "not confirmed"),
        "confidence": s.get("nobox_confidence", d["nobox_confidence"]),
        "max_rows": s.get("nobox_max_rows", d["nobox_max_rows"]),
        "seed": int(grid.config["seed"]) + c.repeat - 1,
    }


def summary_path(grid: Grid, c: Cell) -> str:
    """The cell's file of nobox_ summary columns: its no-box summary, or why it has none."""
    return paths.of(
        paths.NOBOX_SUMMARY if is_nobox(grid, c.dataset, c.generator, c.setting) else paths.NOBOX_SKIPPED, c
    )


def benchmarks(grid: Grid, c: Cell) -> list[str]:
    if is_nobox(grid, c.dataset, c.generator, c.setting):
        return [paths.of(paths.benchmark("audit_nobox", paths.PER_CELL), c)]
    return []
