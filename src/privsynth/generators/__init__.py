"""Generator registry: each module in this package defines one generator.

A module ``privsynth.generators.<name>`` exposes ``GENERATOR`` (a ``Generator``
subclass) and ships ``schemas/<name>.yaml``, the JSON schema of its settings.
Adding a generator therefore touches no other generator.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from ..errors import ConfigError
from .base import Generator

_NOT_GENERATORS = {"base"}
SCHEMA_DIR = Path(__file__).parent / "schemas"


def available() -> list[str]:
    """Names of all generators, found without importing them."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in _NOT_GENERATORS
    )


def settings_schema(name: str) -> Path:
    check_name(name)
    return SCHEMA_DIR / f"{name}.yaml"


def check_name(name: str, where: str = "generators") -> None:
    names = available()
    if name not in names:
        raise ConfigError(f"{where}: unknown generator {name!r} (available: {', '.join(names)})")


def load(name: str) -> type[Generator]:
    check_name(name)
    module = importlib.import_module(f"{__name__}.{name}")
    cls: type[Generator] = module.GENERATOR
    return cls


__all__ = ["Generator", "available", "check_name", "load", "settings_schema"]
