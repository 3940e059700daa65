"""The attack interface and the synthetic sets it works on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ....errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from ..encoding import Encoder
    from ..knowledge import AuxiliaryDataKnowledge

CHUNK = 64  # sets per vectorised block (bounds memory: CHUNK x m x columns)


class SyntheticSets:
    """Synthetic sets as arrays: ``num`` (sets x m x numeric, scaled to [0, 1]),
    ``cat`` (sets x m x categorical codes), ``raw`` (sets x m x numeric, the values
    themselves, float64, NaN = missing) and optionally ``frame`` (the rows as a
    DataFrame, set by set, for attacks on the rows' text).

    ``cached`` memoises per-set features, so attacks refitted on folds of the
    shadow sets extract them once.
    """

    def __init__(
        self,
        num: np.ndarray,
        cat: np.ndarray,
        encoder: Encoder,
        raw: np.ndarray | None = None,
        frame: pd.DataFrame | None = None,
    ) -> None:
        self.num, self.cat, self.encoder = num, cat, encoder
        self.raw = raw
        self.frame = frame
        self._cache: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self.num.shape[0]

    @property
    def m(self) -> int:
        return self.num.shape[1]

    def cached(self, key: str, fn: Callable[[SyntheticSets], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = fn(self)
        return self._cache[key]


class Attack(ABC):
    """Trained on shadow sets with known membership, scores sets: higher = member."""

    name: ClassVar[str]
    label: ClassVar[str]
    #: False: ``fit`` learns nothing, so shadow scores need no cross-fitting
    trainable: ClassVar[bool] = False
    #: option -> default; anything else in attack_options is rejected
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, seed: int = 0, threads: int = 1, **options: Any) -> None:
        self.seed, self.threads = seed, threads
        self.opts = {**self.options, **options}

    @classmethod
    def check_options(cls, options: Mapping[str, Any], where: str) -> None:
        unknown = sorted(set(options) - set(cls.options))
        if unknown:
            raise ConfigError(
                f"{where}.attack_options.{cls.name}: unknown option(s) {', '.join(unknown)} "
                f"(known: {', '.join(cls.options) or 'none'})"
            )

    def prepare(self, knowledge: AuxiliaryDataKnowledge, encoder: Encoder) -> None:
        self.encoder = encoder
        self.knowledge = knowledge
        t = encoder.encode(knowledge.targets)
        self.t_num, self.t_cat, self.t_raw = t.num, t.cat, t.raw  # (k, p), (k, q), (k, p)

    def fit(self, sets: SyntheticSets, idx: np.ndarray, labels: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Learn from sets ``idx`` with membership ``labels`` (len(idx) x k)."""

    def fit_heldout(
        self, sets: SyntheticSets, idx: np.ndarray, labels: np.ndarray, pairs: np.ndarray, folds: np.ndarray
    ) -> np.ndarray:
        """Fit on all of ``idx``; return held-out scores of ``idx``.

        ``pairs``: pair id of each set; ``folds`` are folds of *pairs* (both sets of a
        pair in the same fold): a held-out score comes from a model that saw neither the set nor its partner, which
        shares its base rows and has the opposite label (leaving out one set alone
        lets the partner teach the model the wrong answer).
        """
        if not self.trainable:
            self.fit(sets, idx, labels)
            return self.score(sets, idx)
        held = np.empty(labels.shape, dtype=np.float64)
        for f in np.unique(folds):
            tr, te = folds != f, folds == f
            self.fit(sets, idx[tr], labels[tr])
            held[te] = self.score(sets, idx[te])
        self.fit(sets, idx, labels)
        return held

    @abstractmethod
    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        """Scores (len(idx) x k); higher = more likely a member."""

    def _per_set(
        self, sets: SyntheticSets, key: str, fn: Callable[[int, int], np.ndarray], idx: np.ndarray
    ) -> np.ndarray:
        """``fn(lo, hi)`` -> (hi - lo, k) for every block of sets, cached under ``key``."""

        def all_sets(s: SyntheticSets) -> np.ndarray:
            return np.concatenate([fn(lo, min(lo + CHUNK, len(s))) for lo in range(0, len(s), CHUNK)])

        return sets.cached(f"{key}:{hash(self.t_num.tobytes() + self.t_cat.tobytes())}", all_sets)[np.asarray(idx)]


def partner_of(pairs: np.ndarray) -> np.ndarray:
    """Index of the other set of each set's pair (every pair id occurs exactly twice)."""
    order = np.argsort(pairs, kind="stable")
    if len(pairs) % 2 or not np.array_equal(pairs[order][0::2], pairs[order][1::2]):
        raise ValueError("every pair must hold exactly two sets")
    partner = np.empty(len(pairs), dtype=np.int64)
    partner[order[0::2]], partner[order[1::2]] = order[1::2], order[0::2]
    return partner
