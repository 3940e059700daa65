"""JSON-schema validation that fills in defaults, with each schema file read and compiled once.

``Validation()(data, schema_path)`` does what Snakemake's
``snakemake.utils.validate(data, schema_path)`` does: Draft 2020-12, the
defaults of ``properties`` filled into ``data``, ``$ref`` resolved against the
schema file.  Snakemake's re-reads, re-parses and re-compiles the YAML schema on
every call: one call per generator setting made that a quarter of the time
``snakemake -n`` took to plan a 10,000-job grid.  One ``Validation`` object
(the plan builds one per workflow start) parses each file once; a default is
deep-copied into each instance, so no two settings share a mutable default.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def load_yaml(path: str | Path) -> Any:
    """A YAML (or JSON) file, parsed with libyaml where installed."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader


def _with_defaults(properties_validator: Any) -> Any:
    # As Snakemake's validate (the jsonschema FAQ's extend_with_default).
    def properties(validator: Any, props: Mapping[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
        for key, sub in props.items():
            if "default" in sub:
                instance.setdefault(key, copy.deepcopy(sub["default"]))
        yield from properties_validator(validator, props, instance, schema)

    return properties


class Validation:
    """``validate(data, schema_path)`` with a cache of compiled schemas (see the module docstring)."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}

    def __call__(self, data: Any, schema_path: str | Path) -> None:
        """Fill ``data``'s defaults; a ``jsonschema.ValidationError`` if it does not match."""
        key = str(schema_path)
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = _compile(Path(schema_path))
        validator.validate(data)


def _compile(path: Path) -> Any:
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from jsonschema import Draft202012Validator, validators
    from referencing import Registry, Resource

    schema = load_yaml(path)
    # As Snakemake: relative $refs resolve against this file.
    schema["$id"] = path.resolve().as_uri()

    def retrieve(uri: str) -> Any:
        return Resource.from_contents(contents=load_yaml(url2pathname(urlparse(uri).path)))

    registry = Registry(retrieve=retrieve).with_resource(uri=str(path), resource=Resource.from_contents(schema))
    base = Draft202012Validator
    cls = validators.extend(base, {"properties": _with_defaults(base.VALIDATORS["properties"])})
    return cls(schema, registry=registry)
