"""Defaults of the configuration, read from its JSON schema: the only place they are written.

Validation (Snakemake's ``validate``, ``config.validate_config``) fills them into
the config; code that is handed a config block it has to complete itself (a job's
slice, a test's or benchmark's hand-written dict) asks this module, so no default
is ever spelled in code.  ``with_defaults`` fills missing keys the way validation
does (nested objects too, ``$ref`` followed) and checks nothing else.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

CONFIG_SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


@functools.cache
def _load(path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _at(root: Mapping[str, Any], pointer: str) -> Mapping[str, Any]:
    node: Any = root
    for part in filter(None, pointer.lstrip("#").split("/")):
        node = node[part]
    return node


def _resolved(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#"):
            raise ValueError(f"only local $refs are supported, got {ref!r}")
        node = {**_at(root, ref), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _fill(instance: Any, node: Mapping[str, Any], root: Mapping[str, Any]) -> None:
    node = _resolved(node, root)
    if not isinstance(instance, dict):
        return
    props = node.get("properties", {})
    for key, sub in props.items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill(instance[key], sub, root)
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        for key in instance:
            if key not in props:
                _fill(instance[key], extra, root)


def with_defaults(
    instance: Mapping[str, Any] | None, pointer: str = "", schema: str | Path = CONFIG_SCHEMA
) -> dict[str, Any]:
    """A deep copy of ``instance`` with the defaults of the schema node at ``pointer``
    (e.g. ``"definitions/audit"``) filled in, as validation fills them."""
    root = _load(str(schema))
    out = copy.deepcopy(dict(instance or {}))
    _fill(out, _at(root, pointer), root)
    return out


def defaults_for(pointer: str = "", schema: str | Path = CONFIG_SCHEMA) -> dict[str, Any]:
    """What validation fills into an empty object at ``pointer``."""
    return with_defaults({}, pointer, schema)


def properties_of(pointer: str, schema: str | Path = CONFIG_SCHEMA) -> list[str]:
    """The keys the schema node at ``pointer`` allows."""
    root = _load(str(schema))
    return list(_resolved(_at(root, pointer), root).get("properties", {}))
