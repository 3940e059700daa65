"""Generator registry: every generator is found through an ``importlib.metadata`` entry point.

A generator is a module or package exposing a ``Generator`` subclass, plus a
JSON schema of its settings, ``<name>.yaml``.  privsynth finds generators in
three places, the first that knows a name wins:

1. **Built in**: ``privsynth.generators.<name>`` (a module or a package), schema in
   ``schemas/<name>.yaml``.  They are registered as entry points in pyproject.toml
   (``[project.entry-points."privsynth.generators"]``); a module or package of this
   package with a schema in ``schemas/`` is a built-in even when the installed
   metadata predates it (an editable install made before it was added).
2. **Installed packages**: any distribution registering an entry point in the group
   ``privsynth.generators``, e.g. ``mygen = "my_package.mygen:MyGenerator"`` (or the
   module alone, ``"my_package.mygen"``, which then defines ``GENERATOR``); the
   schema ``<name>.yaml`` lies next to the code: in the package's directory for a
   package, beside the module for a module.
3. **Plug-in directories**: the directories listed in ``$PRIVSYNTH_PLUGINS``
   (``os.pathsep``-separated), each holding ``<name>.py`` (defining ``GENERATOR``)
   and ``<name>.yaml`` (researchers' own generators, test doubles).

Listing generators and finding their schemas imports none of them.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import pkgutil
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from ..errors import ConfigError
from .base import Generator

ENTRY_POINT_GROUP = "privsynth.generators"
PLUGINS_ENV = "PRIVSYNTH_PLUGINS"
SCHEMA_DIR = Path(__file__).parent / "schemas"


@dataclass(frozen=True)
class Source:
    """Where a generator's code lives: a module to import, or a file in a plug-in directory."""

    name: str
    module: str  # import name; for a plug-in file, the name it is loaded under
    attr: str | None = None  # the Generator class in the module (None: the module's GENERATOR)
    file: Path | None = None  # plug-in directories only: <dir>/<name>.py

    @property
    def builtin(self) -> bool:
        return self.module == f"{__name__}.{self.name}"


def _entry_point_sources() -> dict[str, Source]:
    found: dict[str, Source] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        module, _, attr = ep.value.partition(":")
        found.setdefault(ep.name, Source(ep.name, module.strip(), attr.strip() or None))
    return found


def _bundled() -> list[str]:
    """Modules and packages of this package with a settings schema: the built-ins, without metadata."""
    return [m.name for m in pkgutil.iter_modules(__path__) if (SCHEMA_DIR / f"{m.name}.yaml").is_file()]


@functools.cache
def _installed() -> dict[str, Source]:
    """Built-ins first, then other entry points (installed metadata does not change while running)."""
    eps = _entry_point_sources()
    found: dict[str, Source] = {}
    for n in sorted({*_bundled(), *(n for n, s in eps.items() if s.builtin)}):
        # A built-in's class is its module's GENERATOR (the class its entry point names, which
        # tests/test_generators.py checks): installed metadata older than a rename cannot break it.
        found[n] = Source(n, f"{__name__}.{n}")
    for n, src in eps.items():
        found.setdefault(n, src)
    return found


def _plugins() -> dict[str, Path]:
    """Generators in the $PRIVSYNTH_PLUGINS directories: name -> directory (read on every call)."""
    found: dict[str, Path] = {}
    for d in filter(None, os.environ.get(PLUGINS_ENV, "").split(os.pathsep)):
        for m in pkgutil.iter_modules([d]):
            if not m.name.startswith("_"):
                found.setdefault(m.name, Path(d))
    return found


def _sources() -> dict[str, Source]:
    found = dict(_installed())
    for n, d in _plugins().items():
        found.setdefault(n, Source(n, f"privsynth_plugin_{n}", file=d / f"{n}.py"))
    return found


def _source(name: str) -> Source:
    check_name(name)
    return _sources()[name]


def builtin() -> list[str]:
    """Names of the generators that ship with privsynth."""
    return sorted(n for n, s in _installed().items() if s.builtin)


def available() -> list[str]:
    """Names of all generators, found without importing them."""
    return sorted(_sources())


def check_name(name: str, where: str = "generators") -> None:
    names = available()
    if name not in names:
        raise ConfigError(f"{where}: unknown generator {name!r} (available: {', '.join(names)})")


def code_path(name: str) -> Path:
    """The code of generator ``name``: its module file, or its package directory (not imported)."""
    src = _source(name)
    if src.file is not None:
        return src.file
    spec = importlib.util.find_spec(src.module)
    if spec is None or spec.origin is None:
        raise ConfigError(f"generator {name!r}: module {src.module} (entry point {ENTRY_POINT_GROUP}) not found")
    origin = Path(spec.origin)
    return origin.parent if spec.submodule_search_locations is not None else origin


def settings_schema(name: str) -> Path:
    """The JSON schema of generator ``name``'s settings."""
    src = _source(name)
    if src.builtin:
        return SCHEMA_DIR / f"{name}.yaml"
    code = code_path(name)
    return (code if code.is_dir() else code.parent) / f"{name}.yaml"


def _import(src: Source) -> ModuleType:
    if src.file is None:
        return importlib.import_module(src.module)
    module = sys.modules.get(src.module)
    if module is None:
        spec = importlib.util.spec_from_file_location(src.module, src.file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[src.module] = module
        spec.loader.exec_module(module)
    return module


def load(name: str) -> type[Generator]:
    src = _source(name)
    module = _import(src)
    cls: type[Generator] = (
        functools.reduce(getattr, src.attr.split("."), module) if src.attr else module.GENERATOR  # type: ignore[arg-type]
    )
    return cls


__all__ = ["Generator", "available", "builtin", "check_name", "code_path", "load", "settings_schema"]
