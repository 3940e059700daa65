"""Attacks: one class per file, registered in ``ATTACKS``.

An attack sees the attacker's knowledge (``prepare``), learns from shadow sets
with known membership (``fit``) and scores sets: higher = "target was in the
training set".  Every method works on all sets and all targets at once
(``SyntheticSets`` holds the encoded sets as 3-d arrays); nothing loops over
records in Python.  To add an attack: subclass ``Attack`` in a new module, give
it a ``name``, put it in ``ATTACKS``, and list the name in
``datasets.<d>.audit.attacks`` (or in a generator's ``audit_attacks``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ....errors import ConfigError
from .base import Attack, SyntheticSets
from .closest_distance import ClosestDistance
from .density import Density
from .exact_match import ExactMatch
from .groundhog import Groundhog
from .levenshtein import Levenshtein

ATTACKS: dict[str, type[Attack]] = {a.name: a for a in (Groundhog, ClosestDistance, ExactMatch, Density, Levenshtein)}

__all__ = [
    "ATTACKS",
    "Attack",
    "ClosestDistance",
    "Density",
    "ExactMatch",
    "Groundhog",
    "Levenshtein",
    "SyntheticSets",
    "make_attacks",
]


def make_attacks(
    names: Sequence[str], options: Mapping[str, Mapping[str, Any]], where: str, seed: int = 0, threads: int = 1
) -> list[Attack]:
    """Instantiate the configured attacks; unknown names or options are ConfigErrors.

    Options for attacks not in ``names`` are accepted only when the attack exists
    (a dataset's options may serve the generators whose defaults include it)."""
    unknown = [n for n in list(names) + list(options) if n not in ATTACKS]
    if unknown:
        where_key = "attacks" if unknown[0] in names else "attack_options"
        raise ConfigError(
            f"{where}.{where_key}: unknown attack(s) {', '.join(dict.fromkeys(unknown))} "
            f"(available: {', '.join(ATTACKS)})"
        )
    for n, o in options.items():
        ATTACKS[n].check_options(dict(o), where)
    return [ATTACKS[n](seed=seed, threads=threads, **dict(options.get(n, {}))) for n in names]
