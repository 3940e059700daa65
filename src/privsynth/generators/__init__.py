"""Generator registry: each module in this package defines one generator.

A module ``privsynth.generators.<name>`` exposes ``GENERATOR`` (a ``Generator``
subclass) and ships ``schemas/<name>.yaml``, the JSON schema of its settings.
Adding a generator therefore touches no other generator.

Generators outside the package (a researcher's own, or test doubles) are found in
the directories listed in ``$PRIVSYNTH_PLUGINS`` (``os.pathsep``-separated), each
holding ``<name>.py`` and ``<name>.yaml``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path

from ..errors import ConfigError
from .base import Generator

_NOT_GENERATORS = {"base"}
SCHEMA_DIR = Path(__file__).parent / "schemas"


PLUGINS_ENV = "PRIVSYNTH_PLUGINS"


def _plugins() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in filter(None, os.environ.get(PLUGINS_ENV, "").split(os.pathsep)):
        for m in pkgutil.iter_modules([d]):
            if not m.name.startswith("_"):
                found.setdefault(m.name, Path(d))
    return found


def builtin() -> list[str]:
    return [
        m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name not in _NOT_GENERATORS
    ]


def available() -> list[str]:
    """Names of all generators, found without importing them."""
    return sorted({*builtin(), *_plugins()})


def settings_schema(name: str) -> Path:
    check_name(name)
    if name in builtin():
        return SCHEMA_DIR / f"{name}.yaml"
    return _plugins()[name] / f"{name}.yaml"


def check_name(name: str, where: str = "generators") -> None:
    names = available()
    if name not in names:
        raise ConfigError(f"{where}: unknown generator {name!r} (available: {', '.join(names)})")


def load(name: str) -> type[Generator]:
    check_name(name)
    if name in builtin():
        module = importlib.import_module(f"{__name__}.{name}")
    else:
        modname = f"privsynth_plugin_{name}"
        module = sys.modules.get(modname)  # type: ignore[assignment]
        if module is None:
            spec = importlib.util.spec_from_file_location(modname, _plugins()[name] / f"{name}.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            spec.loader.exec_module(module)
    cls: type[Generator] = module.GENERATOR
    return cls


__all__ = ["Generator", "available", "check_name", "load", "settings_schema"]
