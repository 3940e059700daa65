"""Generator settings as the workflow hands them to a generator: validated, the schema's defaults filled.

Generators read their settings directly (``settings["epochs"]``): the defaults live
in ``src/privsynth/generators/schemas/<name>.yaml`` only. Tests and benchmarks that
call a generator without the workflow fill them here, the way ``config.Grid`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from snakemake.utils import validate

from privsynth import generators


def filled(generator: str, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``settings`` validated against ``generator``'s schema, with its defaults filled in."""
    out = copy.deepcopy(dict(settings or {}))
    validate(out, str(generators.settings_schema(generator)))
    return out
