"""Repeats: one configured setting expands into cells <setting>, <setting>.r2, ..."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from snakemake.utils import validate

from privsynth import paths
from privsynth.config import Grid
from privsynth.errors import ConfigError

SCHEMA = str(Path(__file__).resolve().parents[1] / "config" / "schema.yaml")


def config(**top) -> dict:
    cfg = {
        "seed": 10,
        "datasets": {
            "a": {"source": {"kind": "wdbc"}, "generators": {"marginals": {"default": {}, "other": {}}}},
            "b": {"source": {"kind": "wdbc"}, "repeats": 1, "generators": {"copy": {"default": {}}}},
        },
        **top,
    }
    validate(cfg, SCHEMA)  # fills defaults, rejects bad values
    return cfg


def test_repeats_expand_cells_with_offset_seeds() -> None:
    grid = Grid(config(repeats=3), validate)
    names = sorted(s for (ds, g, s) in grid.cells if ds == "a")
    assert names == ["default", "default.r2", "default.r3", "other", "other.r2", "other.r3"]
    # Dataset-level repeats override the top-level value.
    assert [s for (ds, _, s) in grid.cells if ds == "b"] == ["default"]
    job = grid.synth_slice("a", "marginals", "default.r3")
    assert (job["seed"], job["base_setting"], job["repeat"], job["setting"]) == (12, "default", 3, "default.r3")
    first = grid.synth_slice("a", "marginals", "default")
    assert (first["seed"], first["repeat"]) == (10, 1)
    # Repeats share the settings but not the seed.
    assert first["settings"] == job["settings"]
    assert grid.cell("a", "marginals", "other.r2").base_setting == "other"


def test_default_is_one_run_with_unchanged_paths() -> None:
    grid = Grid(config(), validate)
    assert sorted(grid.cells) == [("a", "marginals", "default"), ("a", "marginals", "other"), ("b", "copy", "default")]
    c = grid.cell("a", "marginals", "default")
    assert paths.cell(paths.CELL, c.dataset, c.generator, c.setting) == "results/a/marginals/default"


def test_reserved_setting_name_and_bad_values() -> None:
    cfg = config()
    cfg["datasets"]["a"]["generators"]["marginals"]["x.r2"] = {}
    with pytest.raises(ConfigError, match=r"datasets\.a\.generators\.marginals\.x\.r2: .*reserved for repeats"):
        Grid(cfg, validate)
    with pytest.raises(Exception, match="repeats"):
        config(repeats=0)
    bad = copy.deepcopy(config())
    bad["datasets"]["a"]["repeats"] = 0
    with pytest.raises(Exception, match="minimum"):
        validate(bad, SCHEMA)


def test_reserved_dataset_names() -> None:
    cfg = config()
    cfg["datasets"]["report"] = cfg["datasets"].pop("b")
    with pytest.raises(ConfigError, match=r"datasets\.report: the name is reserved"):
        Grid(cfg, validate)
