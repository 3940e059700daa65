"""What planning needs from a generator, declared in its settings schema (``<name>.yaml``), not in its code.

The workflow is planned (``snakemake -n``, ``python -m privsynth check``) without
importing any generator that is not built in: a plug-in's module is imported only
inside its job.  What the planner needs from a generator is therefore read from
the ``x-privsynth`` block of its settings schema (JSON Schema ignores ``x-``
keys).  Built-ins declare the same block; it is the one source of truth::

    x-privsynth:
      refittable: true            # false: no model to train again (the shadow and one-run audits are n/a)
      audit_attacks: [groundhog, closest_distance, exact_match, density]   # the audit's default attacks
      input_files:                # settings naming files the generator reads besides its training split
        - path                    # the value of settings.path is a job input
        - {setting: trained_on, except: [train]}   # ... unless it is one of these (not a file)

Every key is optional (the defaults above, and no input files).  A block that is
not of this form is a one-line ConfigError naming the schema file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

KEY = "x-privsynth"
DEFAULT_ATTACKS: tuple[str, ...] = ("groundhog", "closest_distance", "exact_match", "density")


@dataclass(frozen=True)
class InputFile:
    setting: str
    not_files: tuple[str, ...] = ()  # values of the setting that name no file (e.g. external's "train")


@dataclass(frozen=True)
class Declared:
    refittable: bool = True
    audit_attacks: tuple[str, ...] = DEFAULT_ATTACKS
    input_files: tuple[InputFile, ...] = ()
    source: str | None = None  # the schema file (attack names are checked against the registry by the audit plan)

    def files(self, settings: Mapping[str, Any]) -> list[str]:
        """Files the generator reads besides its training split, for these settings (job inputs)."""
        out = []
        for f in self.input_files:
            value = settings.get(f.setting)
            if value is not None and str(value) not in f.not_files:
                out.append(str(value))
        return out


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _input_file(entry: Any, settings: Mapping[str, Any], where: str) -> InputFile:
    if isinstance(entry, str):
        entry = {"setting": entry}
    if not isinstance(entry, dict) or set(entry) - {"setting", "except"} or not isinstance(entry.get("setting"), str):
        raise ConfigError(
            f"{where}.input_files: each entry is a setting name or {{setting: <name>, except: [<values>]}}, "
            f"got {entry!r}"
        )
    if entry["setting"] not in settings:
        raise ConfigError(
            f"{where}.input_files: {entry['setting']!r} is not a setting of this schema (its properties: "
            f"{', '.join(sorted(settings)) or 'none'})"
        )
    if "except" in entry and not _strings(entry["except"]):
        raise ConfigError(f"{where}.input_files.{entry['setting']}.except: must be a list of strings")
    return InputFile(entry["setting"], tuple(entry.get("except", ())))


def parse(schema: Mapping[str, Any], path: Path) -> Declared:
    """The ``x-privsynth`` block of a settings schema read from ``path``; ConfigError naming the file."""
    block = schema.get(KEY)
    where = f"{path}: {KEY}"
    if block is None:
        return Declared()
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: must be a mapping (refittable, audit_attacks, input_files), got {block!r}")
    unknown = set(block) - {"refittable", "audit_attacks", "input_files"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (known: refittable, audit_attacks, input_files)"
        )
    refittable = block.get("refittable", True)
    if not isinstance(refittable, bool):
        raise ConfigError(f"{where}.refittable: must be true or false, got {refittable!r}")
    attacks = block.get("audit_attacks", list(DEFAULT_ATTACKS))
    if not _strings(attacks) or not attacks:
        raise ConfigError(f"{where}.audit_attacks: must be a non-empty list of attack names, got {attacks!r}")
    entries = block.get("input_files", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}.input_files: must be a list of setting names, got {entries!r}")
    properties = schema.get("properties") or {}
    files = tuple(_input_file(e, properties, where) for e in entries)
    return Declared(refittable, tuple(attacks), files, str(path))
