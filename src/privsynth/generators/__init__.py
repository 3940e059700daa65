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

Listing generators, finding their schemas and planning imports none of them
but the built-ins: what the planner needs (refittable, the audit's attacks, the
files a generator reads) is declared in the ``x-privsynth`` block of the schema
(``privsynth.generators.declared``). A plug-in's module is imported only in its
job, where its ``check_settings`` runs too.
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
from .declared import Declared, parse

ENTRY_POINT_GROUP = "privsynth.generators"
PLUGINS_ENV = "PRIVSYNTH_PLUGINS"
SCHEMA_DIR = Path(__file__).parent / "schemas"
# Folders privsynth writes beside the generators' folders (results/<dataset>/<name>): a plug-in
# of that name would make Snakemake fail with a ChildIOException.
RESERVED_NAMES = {"data": "the prepared data folder", "audit": "the dataset's audit folder"}


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
    """Generators in the $PRIVSYNTH_PLUGINS directories: name -> directory (read on every call).

    A missing directory, or a plug-in named like a built-in or a reserved folder, is a
    one-line ConfigError: silently ignoring it would run something else than asked for.
    """
    found: dict[str, Path] = {}
    installed = _installed()
    for d in filter(None, os.environ.get(PLUGINS_ENV, "").split(os.pathsep)):
        if not Path(d).is_dir():
            raise ConfigError(f"${PLUGINS_ENV}: plug-in directory {d} not found; fix or unset the variable")
        for m in pkgutil.iter_modules([d]):
            if m.name.startswith("_"):
                continue
            file = Path(d) / (m.name if m.ispkg else f"{m.name}.py")
            if m.name in installed:
                raise ConfigError(
                    f"{file}: plug-in generator {m.name!r} has the name of a built-in or installed generator; "
                    "rename the plug-in (its .py and .yaml)"
                )
            if m.name in RESERVED_NAMES:
                raise ConfigError(
                    f"{file}: plug-in generator name {m.name!r} is reserved (results/<dataset>/{m.name} is "
                    f"{RESERVED_NAMES[m.name]}); rename the plug-in (its .py and .yaml)"
                )
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


def code_entry(name: str) -> tuple[str, str, Path | None]:
    """Where generator ``name``'s class is, not imported: (module, attribute, plug-in file or None)."""
    src = _source(name)
    return src.module, src.attr or "GENERATOR", src.file


def settings_schema(name: str) -> Path:
    """The JSON schema of generator ``name``'s settings (checked to exist)."""
    src = _source(name)
    if src.builtin:
        path = SCHEMA_DIR / f"{name}.yaml"
    else:
        code = code_path(name)
        path = (code if code.is_dir() else code.parent) / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"{path}: not found; generator {name!r} needs its settings schema there (a JSON schema in YAML, e.g. "
            "'$schema: https://json-schema.org/draft/2020-12/schema' and 'type: object')"
        )
    return path


def read_settings_schema(name: str) -> dict:
    """Generator ``name``'s settings schema, parsed; one-line ConfigError naming the file when it is not valid."""
    import yaml

    path = settings_schema(name)
    try:
        schema = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ConfigError(f"{where}: YAML syntax error in generator {name!r}'s settings schema: {problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a YAML file ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(schema, dict) or "$schema" not in schema:
        raise ConfigError(
            f"{path}: generator {name!r}'s settings schema must be a mapping with a $schema key (e.g. "
            "'$schema: https://json-schema.org/draft/2020-12/schema' and 'type: object')"
        )
    return schema


def is_builtin(name: str) -> bool:
    """True for the generators that ship with privsynth (their code may be imported while planning)."""
    return _source(name).builtin


def declared(name: str) -> Declared:
    """What planning needs from generator ``name``: its schema's ``x-privsynth`` block (its code is not imported)."""
    path = settings_schema(name)
    return _declared(path, path.stat().st_mtime_ns, name)


@functools.lru_cache(maxsize=64)
def _declared(path: Path, _mtime: int, name: str) -> Declared:
    return parse(read_settings_schema(name), path)


def _import(src: Source) -> ModuleType:
    if src.file is None:
        return importlib.import_module(src.module)
    module = sys.modules.get(src.module)
    if module is None:
        spec = importlib.util.spec_from_file_location(src.module, src.file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[src.module] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            del sys.modules[src.module]
            raise ConfigError(
                f"{src.file}:{exc.lineno}: syntax error in plug-in generator {src.name!r}: {exc.msg}"
            ) from None
        except Exception as exc:
            del sys.modules[src.module]
            reason = " ".join(str(exc).split())[:200]
            raise ConfigError(
                f"{src.file}: importing plug-in generator {src.name!r} failed: {type(exc).__name__}: {reason}"
            ) from None
    return module


def load(name: str) -> type[Generator]:
    src = _source(name)
    module = _import(src)
    try:
        cls: type[Generator] = (
            functools.reduce(getattr, src.attr.split("."), module) if src.attr else module.GENERATOR  # type: ignore[arg-type]
        )
    except AttributeError:
        raise ConfigError(
            f"{src.file or src.module}: generator {name!r} defines no {src.attr or 'GENERATOR'} (its Generator class)"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise ConfigError(f"{src.file or src.module}: {src.attr or 'GENERATOR'} is not a privsynth Generator subclass")
    return cls


__all__ = [
    "Generator",
    "available",
    "builtin",
    "check_name",
    "code_entry",
    "code_path",
    "declared",
    "is_builtin",
    "load",
    "read_settings_schema",
    "settings_schema",
]
