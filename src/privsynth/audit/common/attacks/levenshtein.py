"""String distance on rows serialised as text (attacks on LLM tabular generators)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ....errors import ConfigError
from ....schema import Schema, _value_str
from .base import Attack, SyntheticSets


def serialise(df: pd.DataFrame, schema: Schema) -> list[str]:
    """Rows as text: the values in schema order, joined by ", ", as the schema writes
    them (3.0 -> "3"; missing -> "None").  GReaT writes "col is value, ..."; the
    "col is " prefixes are the same in every row, so they are left out: they would
    only lengthen the strings (edit distance costs grow with length)."""
    cols = []
    for c in schema:
        codes, uniq = pd.factorize(df[c["name"]], use_na_sentinel=True)
        text = np.array([_value_str(u) for u in uniq] + ["None"], dtype=object)
        cols.append(text[codes])
    return [", ".join(parts) for parts in zip(*cols, strict=True)] if cols else [""] * len(df)


class Levenshtein(Attack):
    """Score = minus the Levenshtein distance between the target's text and the
    nearest synthetic row's text (both serialised by ``serialise``).

    LLM generators (GReaT, prompting GPT-4 with real rows) write rows as text and
    copy digit strings; an edit distance sees a copied "0.1184" where a distance
    on scaled values sees a number close to many others.  Uses ``rapidfuzz``
    (``cdist``, multithreaded by ``threads``).
    """

    name = "levenshtein"
    label = "Levenshtein (rows as text)"

    def _targets_text(self) -> list[str]:
        return serialise(self.knowledge.targets, self.knowledge.schema)

    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        try:
            from rapidfuzz.distance import Levenshtein as L
            from rapidfuzz.process import cdist
        except ImportError as exc:  # pragma: no cover - rapidfuzz is a core dependency
            raise ConfigError(f"attack levenshtein needs rapidfuzz (pip install rapidfuzz): {exc}") from None
        if sets.frame is None:
            raise ValueError("levenshtein needs the synthetic rows (SyntheticSets.frame)")
        targets = self._targets_text()

        def all_sets(s: SyntheticSets) -> np.ndarray:
            text = serialise(s.frame, self.knowledge.schema)
            d = cdist(targets, text, scorer=L.distance, dtype=np.int32, workers=max(1, self.threads))
            return d.reshape(len(targets), len(s), s.m).min(2).T.astype(np.float64)  # (sets, k)

        key = f"levenshtein:{hash(tuple(targets))}"
        return -sets.cached(key, all_sets)[np.asarray(idx)]
