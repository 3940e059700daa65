"""The experiment grid and each job's slice of the configuration.

Every job gets exactly its own slice as Snakemake ``params``; Snakemake's
``params`` rerun trigger then reruns a job only when its slice changes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import generators
from .datasets import resolve_source
from .errors import ConfigError

Validator = Callable[[Any, str], None]


@dataclass(frozen=True)
class Cell:
    """One (dataset, generator, setting) of the grid."""

    dataset: str
    generator: str
    setting: str
    settings: Mapping[str, Any]

    @property
    def path(self) -> str:
        return f"results/{self.dataset}/{self.generator}/{self.setting}"


class Grid:
    def __init__(self, config: Mapping[str, Any], validate: Validator | None = None) -> None:
        self.config = config
        self.cells: dict[tuple[str, str, str], Cell] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        for ds, dcfg in config["datasets"].items():
            self.sources[ds] = resolve_source(ds, dcfg["source"])
            for gen, settings_by_name in dcfg.get("generators", {}).items():
                where = f"datasets.{ds}.generators.{gen}"
                generators.check_name(gen, where)
                for name, settings in (settings_by_name or {}).items():
                    settings = copy.deepcopy(dict(settings or {}))
                    if validate is not None:
                        _validate_settings(validate, settings, gen, f"{where}.{name}")
                    cls = generators.load(gen)
                    cls.check_settings(settings, f"{where}.{name}")
                    self.cells[(ds, gen, name)] = Cell(ds, gen, name, settings)

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
        return {"dataset": dataset, "source": self.sources[dataset]}

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
            "seed": self.config["seed"],
        }

    def gpu(self, dataset: str, generator: str, setting: str) -> int:
        return int(self.cell(dataset, generator, setting).settings.get("gpu", 0) or 0)

    def qa_slice(self) -> dict[str, Any]:
        return dict(self.config["qa"])


def _validate_settings(validate: Validator, settings: dict[str, Any], gen: str, where: str) -> None:
    try:
        validate(settings, str(generators.settings_schema(gen)))
    except Exception as exc:  # snakemake raises WorkflowError wrapping the jsonschema error
        raise ConfigError(f"{where}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    # jsonschema errors are long; keep the first meaningful line and the key path.
    # snakemake's validate raises WorkflowError inside the `except` for the jsonschema
    # error, so the error is the implicit __context__, not __cause__.
    cause = exc
    while (getattr(cause, "__cause__", None) or getattr(cause, "__context__", None)) is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    msg = getattr(cause, "message", None) or str(cause)
    path = list(getattr(cause, "absolute_path", []) or [])
    first = str(msg).strip().splitlines()[0] if str(msg).strip() else type(cause).__name__
    return f"{'.'.join(map(str, path))}: {first}" if path else first


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
