"""Which cells the refitting audits can run on, and cells named by config entries (shared by the
shadow-model and one-run plans and the no-box plan)."""

from __future__ import annotations

from collections.abc import Sequence

from ... import generators
from ...config import Cell
from ...errors import ConfigError

# audit_status / one_run_status of cells without a generator to train again (external files);
# their privacy section is the no-box one (privsynth.audit.nobox).
NO_REFIT = "n/a (no generator to refit)"


def refittable(generator: str) -> bool:
    """False for generators the refitting audits cannot run on (``refittable`` in the schema's ``x-privsynth``)."""
    return generators.declared(generator).refittable


def select_cells(entries: Sequence[str], cells: Sequence[Cell], where: str, ds: str) -> list[Cell]:
    """Cells named by config entries "generator" or "generator/setting" (a setting also names its repeats)."""
    out: list[Cell] = []
    for entry in entries:
        gen, _, setting = entry.partition("/")
        hit = [c for c in cells if c.generator == gen and (not setting or setting in (c.setting, c.base_setting))]
        if not hit:
            have = ", ".join(f"{c.generator}/{c.setting}" for c in cells) or "none"
            raise ConfigError(f"{where}: {entry!r} is not in datasets.{ds}.generators ({have})")
        out += hit
    return out
