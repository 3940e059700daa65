"""The experiment grid and each job's slice of the configuration.

Every job gets exactly its own slice as Snakemake ``params``; Snakemake's
``params`` rerun trigger then reruns a job only when its slice changes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import generators
from .datasets import resolve_source, source_identity
from .errors import ConfigError

Validator = Callable[[Any, str], None]


@dataclass(frozen=True)
class Cell:
    """One (dataset, generator, setting) of the grid."""

    dataset: str
    generator: str
    setting: str
    settings: Mapping[str, Any]
    # Repeats of one configured setting: ``<setting>`` is repeat 1, then
    # ``<setting>.r2``, ``<setting>.r3``, ... with the seed offset by repeat - 1.
    base_setting: str = ""
    repeat: int = 1

    def __post_init__(self) -> None:
        if not self.base_setting:
            object.__setattr__(self, "base_setting", self.setting)

    @property
    def path(self) -> str:
        return f"results/{self.dataset}/{self.generator}/{self.setting}"


class Grid:
    def __init__(self, config: Mapping[str, Any], validate: Validator | None = None) -> None:
        self.config = config
        self.cells: dict[tuple[str, str, str], Cell] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        for ds, dcfg in config["datasets"].items():
            if ds in RESERVED_DATASETS:
                raise ConfigError(f"datasets.{ds}: the name is reserved (results/{ds}/ holds the run's {ds}); rename it")
            self.sources[ds] = resolve_source(ds, dcfg["source"])
            for gen, settings_by_name in dcfg.get("generators", {}).items():
                where = f"datasets.{ds}.generators.{gen}"
                generators.check_name(gen, where)
                for name, settings in (settings_by_name or {}).items():
                    if REPEAT_SUFFIX.search(name):
                        raise ConfigError(
                            f"{where}.{name}: setting names ending in .r<N> are reserved for repeats "
                            f"(see datasets.{ds}.repeats); rename the setting"
                        )
                    settings = copy.deepcopy(dict(settings or {}))
                    if validate is not None:
                        _validate_settings(validate, settings, gen, f"{where}.{name}")
                    cls = generators.load(gen)
                    cls.check_settings(settings, f"{where}.{name}")
                    for r in range(1, self.repeats(ds) + 1):
                        cell_name = repeat_name(name, r)
                        self.cells[(ds, gen, cell_name)] = Cell(ds, gen, cell_name, settings, name, r)

    def repeats(self, dataset: str) -> int:
        """Runs per setting: ``datasets.<name>.repeats``, else the top-level ``repeats``."""
        d = self.config["datasets"][dataset].get("repeats")
        n = d if d is not None else self.config.get("repeats", 1)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"datasets.{dataset}.repeats (or top-level repeats) must be an integer >= 1, got {n!r}")
        return n

    @property
    def datasets(self) -> list[str]:
        return list(self.config["datasets"])

    def cell(self, dataset: str, generator: str, setting: str) -> Cell:
        try:
            return self.cells[(dataset, generator, setting)]
        except KeyError:
            raise ConfigError(f"no setting {dataset}/{generator}/{setting} in the config") from None

    def of(self, generator: str | None = None, dataset: str | None = None) -> list[Cell]:
        return [
            c
            for c in self.cells.values()
            if (generator is None or c.generator == generator) and (dataset is None or c.dataset == dataset)
        ]

    def generators_of(self, dataset: str) -> list[str]:
        return sorted({c.generator for c in self.of(dataset=dataset)})

    # --- per-job config slices (these become Snakemake params) -------------
    def fetch_slice(self, dataset: str) -> dict[str, Any]:
        # The data's identity (checksum), not its location: see fetch_source.
        return {"dataset": dataset, "source": source_identity(dataset, self.sources[dataset])}

    def fetch_source(self, dataset: str) -> dict[str, Any]:
        """Where fetch_data reads the data from (URL, path, $PRIVSYNTH_CENSUS resolved)."""
        return self.sources[dataset]

    def prepare_slice(self, dataset: str) -> dict[str, Any]:
        d = self.config["datasets"][dataset]
        return {
            "dataset": dataset,
            "split": dict(d["split"]),
            "max_rows": d.get("max_rows"),
            "schema": copy.deepcopy(d.get("schema", {})),
        }

    def synth_slice(self, dataset: str, generator: str, setting: str) -> dict[str, Any]:
        c = self.cell(dataset, generator, setting)
        return {
            "dataset": dataset,
            "generator": generator,
            "setting": setting,
            "settings": copy.deepcopy(dict(c.settings)),
            "seed": self.config["seed"] + c.repeat - 1,
            "base_setting": c.base_setting,
            "repeat": c.repeat,
        }

    def gpu(self, dataset: str, generator: str, setting: str) -> int:
        return int(self.cell(dataset, generator, setting).settings.get("gpu", 0) or 0)

    def qa_slice(self) -> dict[str, Any]:
        return dict(self.config["qa"])

    def utility_slice(self, dataset: str) -> dict[str, Any]:
        return {"dataset": dataset, "target": self.config["datasets"][dataset].get("target")}


RESERVED_DATASETS = {"report", "logs"}
REPEAT_SUFFIX = re.compile(r"\.r[0-9]+$")


def repeat_name(setting: str, repeat: int) -> str:
    """Cell name of one repeat: repeat 1 keeps the plain name, so paths do not change."""
    return setting if repeat == 1 else f"{setting}.r{repeat}"


def _validate_settings(validate: Validator, settings: dict[str, Any], gen: str, where: str) -> None:
    schema_path = generators.settings_schema(gen)
    try:
        validate(settings, str(schema_path))  # snakemake's validate also fills defaults
    except Exception:
        raise ConfigError(f"{where}: {_first_error(settings, schema_path)}") from None


def _first_error(instance: Any, schema_path: Path) -> str:
    """The most relevant schema violation as ``key.path: message`` (one line)."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(schema_path.read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(instance))
    if error is None:
        return "invalid settings"
    path = ".".join(map(str, error.absolute_path))
    return f"{path}: {error.message}" if path else error.message


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
