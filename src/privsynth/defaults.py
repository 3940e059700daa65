"""Defaults of the configuration, read from its JSON schema: the only place they are written.

Validation (Snakemake's ``validate``, ``config.validate_config``) fills them into
the config; code that is handed a config block it has to complete itself (a job's
slice, a test's or benchmark's hand-written dict) asks this module, so no default
is ever spelled in code.  ``with_defaults`` fills missing keys exactly as
validation does (the same jsonschema walk: nested objects, ``$ref``, ``if``/``then``)
and rejects nothing: checking values stays with the caller.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONFIG_SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


_URI = "urn:privsynth:schema"


@functools.cache
def _load(path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _at(root: Mapping[str, Any], pointer: str) -> Mapping[str, Any]:
    node: Any = root
    for part in filter(None, pointer.strip("#/").split("/")):
        node = node[part]
    return node


def _set_defaults(properties_validator: Any) -> Any:
    # As Snakemake's validate (the jsonschema FAQ's extend_with_default), on objects only.
    def properties(validator: Any, props: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]) -> Any:
        if validator.is_type(instance, "object"):
            for key, sub in props.items():
                if "default" in sub:
                    instance.setdefault(key, copy.deepcopy(sub["default"]))
        yield from properties_validator(validator, props, instance, schema)

    return properties


@functools.cache
def _filler(path: str) -> tuple[Any, Any]:
    root = _load(path)
    base = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
    cls = jsonschema.validators.extend(base, {"properties": _set_defaults(base.VALIDATORS["properties"])})
    # Without "$schema": jsonschema would descend into it with the plain validator of that dialect.
    contents = {k: v for k, v in root.items() if k != "$schema"}
    registry = Registry().with_resource(_URI, Resource.from_contents(contents, default_specification=DRAFT202012))
    return cls, registry


def with_defaults(
    instance: Mapping[str, Any] | None, pointer: str = "", schema: str | Path = CONFIG_SCHEMA
) -> dict[str, Any]:
    """A deep copy of ``instance`` with the defaults of the schema node at ``pointer``
    (e.g. ``"definitions/audit"``) filled in, as validation fills them."""
    cls, registry = _filler(str(schema))
    out = copy.deepcopy(dict(instance or {}))
    node = pointer.strip("#/")
    # Walking the schema fills the defaults; its verdict is not asked for (callers check values themselves).
    for _ in cls({"$ref": f"{_URI}#/{node}" if node else _URI}, registry=registry).iter_errors(out):
        pass
    return out


def defaults_for(pointer: str = "", schema: str | Path = CONFIG_SCHEMA) -> dict[str, Any]:
    """What validation fills into an empty object at ``pointer``."""
    return with_defaults({}, pointer, schema)


def properties_of(pointer: str, schema: str | Path = CONFIG_SCHEMA) -> list[str]:
    """The keys the schema node at ``pointer`` allows."""
    return list(_at(_load(str(schema)), pointer).get("properties", {}))
