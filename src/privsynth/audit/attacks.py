"""Attacks: one class each, registered in ``ATTACKS``.

An attack sees the attacker's knowledge (``prepare``), learns from shadow sets
with known membership (``fit``) and scores sets: higher = "target was in the
training set".  Every method works on all sets and all targets at once
(``SyntheticSets`` holds the encoded sets as 3-d arrays); nothing loops over
records in Python.  To add an attack: subclass ``Attack``, give it a ``name``,
put it in ``ATTACKS``, and list the name in ``datasets.<d>.audit.attacks``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from .encoding import Encoder
from .threat_model import AuxiliaryDataKnowledge

CHUNK = 64  # sets per vectorised block (bounds memory: CHUNK x m x columns)


class SyntheticSets:
    """Synthetic sets as arrays: ``num`` (sets x m x numeric), ``cat`` (sets x m x categorical).

    ``cached`` memoises per-set features, so attacks refitted on folds of the
    shadow sets (threshold selection) extract them once.
    """

    def __init__(self, num: np.ndarray, cat: np.ndarray, encoder: Encoder) -> None:
        self.num, self.cat, self.encoder = num, cat, encoder
        self._cache: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self.num.shape[0]

    def cached(self, key: str, fn: Callable[[SyntheticSets], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = fn(self)
        return self._cache[key]


class Attack(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    #: False: ``fit`` learns nothing, so shadow scores need no cross-fitting
    trainable: ClassVar[bool] = True
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
        t = encoder.encode(knowledge.targets)
        self.t_num, self.t_cat = t.num, t.cat  # (k, p), (k, q)

    def fit(self, sets: SyntheticSets, idx: np.ndarray, labels: np.ndarray) -> None:
        """Learn from sets ``idx`` with membership ``labels`` (len(idx) x k)."""

    def fit_heldout(self, sets: SyntheticSets, idx: np.ndarray, labels: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """Fit on all of ``idx``; return held-out scores of ``idx`` (each from a model
        that did not see that set): cross-fitting over ``folds`` unless overridden."""
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


# --- Groundhog ----------------------------------------------------------------


def _groundhog_features(sets: SyntheticSets, bins: int) -> np.ndarray:
    """F_naive + F_hist + F_corr of Stadler et al., for every set.

    naive: mean, median and variance of each normalised numeric column (for
    one-hot columns these are functions of the histogram, so not repeated);
    hist: frequency of every category and of every numeric bin (countable columns
    included, one bin per integer where they have few values);
    corr: Pearson correlations between all numeric and one-hot columns.
    """
    enc = sets.encoder
    S, m, p = sets.num.shape
    q = sets.cat.shape[2]
    cat_off = np.concatenate([[0], np.cumsum(enc.levels)])[:-1].astype(np.int64)
    L = int(enc.levels.sum())
    out = []
    for lo in range(0, S, CHUNK):
        num = sets.num[lo : lo + CHUNK].astype(np.float32)
        cat = sets.cat[lo : lo + CHUNK].astype(np.int64)
        c = num.shape[0]
        feats = [num.mean(1), np.median(num, axis=1), num.var(1)] if p else []
        # Histograms of every set in one bincount: offset codes per column and per set.
        nb, sizes = enc.numeric_bins(num, bins)
        nb_off = np.concatenate([[0], np.cumsum(sizes)])[:-1].astype(np.int64)
        B = int(sizes.sum())
        codes = np.concatenate([cat + cat_off, nb.astype(np.int64) + L + nb_off], axis=2)
        width = L + B
        flat = (codes + (np.arange(c)[:, None, None] * width)).ravel()
        hist = np.bincount(flat, minlength=c * width).reshape(c, width).astype(np.float32) / m
        feats.append(hist)
        feats.append(_correlations(num, cat + cat_off, L))
        out.append(np.concatenate(feats, axis=1))
    return np.concatenate(out, axis=0)


def _correlations(num: np.ndarray, idx: np.ndarray, L: int) -> np.ndarray:
    """Upper-triangle Pearson correlations of the one-hot + numeric columns of each set.

    Built from counts instead of a dense one-hot matrix: category co-occurrences
    by one bincount, category x numeric sums by a weighted bincount, numeric
    products by a small einsum.  ``idx``: one-hot column of each categorical value.
    """
    c, m, p = num.shape
    q = idx.shape[2]
    D = L + p
    base = (np.arange(c, dtype=np.int64) * D * D)[:, None, None]
    U = np.zeros(c * D * D, dtype=np.float64)
    if q:
        ia, ib = np.triu_indices(q)  # a == b puts each category's count on the diagonal
        U += np.bincount((idx[:, :, ia] * D + idx[:, :, ib] + base).ravel(), minlength=c * D * D)
        if p:
            cols = L + np.arange(p)
            flat = idx[:, :, :, None] * D + cols[None, None, None, :] + base[..., None]
            w = np.broadcast_to(num[:, :, None, :], flat.shape)
            U += np.bincount(flat.ravel(), weights=w.ravel(), minlength=c * D * D)
    U = U.reshape(c, D, D)
    M = U + U.transpose(0, 2, 1)
    di = np.arange(D)
    M[:, di, di] = U[:, di, di]
    if p:
        M[:, L:, L:] = np.einsum("smi,smj->sij", num, num, dtype=np.float64)
    M /= m
    mu = np.concatenate([M[:, di[:L], di[:L]], num.mean(1, dtype=np.float64)], axis=1)
    cov = M - mu[:, :, None] * mu[:, None, :]
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / (sd[:, :, None] * sd[:, None, :])
    iu = np.triu_indices(D, 1)
    corr = corr[:, iu[0], iu[1]]
    # Constant columns (a category absent from the set) have no correlation: 0, as TAPAS.
    return np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


class _LooRidge:
    """Least-squares classifier in dual form; penalty per target by exact leave-one-out.

    One eigendecomposition of the sets' Gram matrix serves every penalty and every
    target, so training costs O(sets^2 x features) once per cell, not per target.
    Expects centred features (the caller standardises with the training mean).
    """

    GRID = np.logspace(-3, 2, 11)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> _LooRidge:
        n = len(X)
        self.ybar = Y.mean(0)
        Yc = Y - self.ybar
        lam, Q = np.linalg.eigh(X @ X.T)
        lam = np.clip(lam, 0, None)
        QtY = Q.T @ Yc
        Q2 = Q**2
        scale = max(float(lam.sum()) / n, 1e-12)
        best_err = np.full(Y.shape[1], np.inf)
        best = np.zeros(Y.shape[1])
        self.loo = np.zeros_like(Y, dtype=np.float64)
        for a in scale * self.GRID:
            f = lam / (lam + a)
            h = Q2 @ f + 1.0 / n  # leverage, +1/n for the intercept
            resid = Yc - Q @ (f[:, None] * QtY)
            loo_resid = resid / (1 - h)[:, None]
            err = (loo_resid**2).mean(0)
            better = err < best_err
            best_err[better], best[better] = err[better], a
            # Exact leave-one-out predictions: each set scored by a model fitted without it.
            self.loo[:, better] = (Y - loo_resid)[:, better]
        dual = Q @ (QtY / (lam[:, None] + best[None, :]))
        self.W = X.T @ dual
        self.alpha = best
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.W + self.ybar


class Groundhog(Attack):
    """Stadler et al. (2022): set features + a classifier trained on shadow sets.

    ``classifier: random_forest`` (default, TAPAS's choice): 100 trees per
    target; out-of-bag votes give the held-out shadow scores.  ``ridge``: a
    least-squares classifier on standardised features, penalty chosen by exact
    leave-one-out; one factorisation serves every target.  About twice as fast,
    but much weaker on census (AUC ~0.85 vs 1.0 on copy's outliers).
    """

    name = "groundhog"
    label = "Groundhog"
    options = {"classifier": "random_forest", "bins": 10}

    @classmethod
    def check_options(cls, options: Mapping[str, Any], where: str) -> None:
        super().check_options(options, where)
        if options.get("classifier", "random_forest") not in ("ridge", "random_forest"):
            raise ConfigError(f"{where}.attack_options.groundhog.classifier: use random_forest or ridge")
        if not isinstance(options.get("bins", 10), int) or options.get("bins", 10) < 2:
            raise ConfigError(f"{where}.attack_options.groundhog.bins: an integer >= 2")

    def _features(self, sets: SyntheticSets) -> np.ndarray:
        bins = int(self.opts["bins"])
        return sets.cached(f"groundhog:{bins}", lambda s: _groundhog_features(s, bins))

    def fit(self, sets: SyntheticSets, idx: np.ndarray, labels: np.ndarray) -> None:
        F = self._features(sets)[idx].astype(np.float64)
        mu, sd = F.mean(0), F.std(0)
        self.keep = sd > 1e-12  # constant features carry nothing and slow the solve
        self.mu, self.sd = mu[self.keep], sd[self.keep]
        X = (F[:, self.keep] - self.mu) / self.sd
        if self.opts["classifier"] == "ridge":
            self.model = _LooRidge().fit(X, labels.astype(np.float64) * 2 - 1)
        else:
            from sklearn.ensemble import RandomForestClassifier

            self.model = [
                RandomForestClassifier(
                    n_estimators=100, oob_score=True, random_state=self.seed + j, n_jobs=self.threads
                ).fit(X, labels[:, j])
                for j in range(labels.shape[1])
            ]

    def fit_heldout(self, sets: SyntheticSets, idx: np.ndarray, labels: np.ndarray, folds: np.ndarray) -> np.ndarray:
        # Held-out scores come free with the fit: the ridge's exact leave-one-out
        # predictions, the forest's out-of-bag votes.
        self.fit(sets, idx, labels)
        if self.opts["classifier"] == "ridge":
            return self.model.loo
        oob = np.stack([rf.oob_decision_function_[:, -1] for rf in self.model], axis=1)
        return np.nan_to_num(oob, nan=0.5)  # a set in every bootstrap sample has no vote

    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        X = (self._features(sets)[idx][:, self.keep].astype(np.float64) - self.mu) / self.sd
        if self.opts["classifier"] == "ridge":
            return self.model.predict(X)
        return np.stack([rf.predict_proba(X)[:, -1] for rf in self.model], axis=1)


# --- distance-based -----------------------------------------------------------


def _distances(sets: SyntheticSets, t_num: np.ndarray, t_cat: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Distance of every synthetic row to every target, (sets, m, k): L1 on
    normalised numeric columns + number of categorical mismatches."""
    num = sets.num[lo:hi]
    cat = sets.cat[lo:hi]
    d = np.abs(num[:, :, None, :] - t_num[None, None]).sum(-1, dtype=np.float32)
    d += (cat[:, :, None, :] != t_cat[None, None]).sum(-1, dtype=np.float32)
    return d


class ClosestDistance(Attack):
    """Score = minus the distance from the target to its nearest synthetic record.

    Distance: L1 over numeric columns scaled to [0, 1] plus one per categorical
    mismatch (a Gower distance times the number of columns).  TAPAS's version
    uses unscaled numeric values.
    """

    name = "closest_distance"
    label = "Closest distance"
    trainable = False

    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx)

        def all_sets(s: SyntheticSets) -> np.ndarray:
            return np.concatenate(
                [_distances(s, self.t_num, self.t_cat, lo, lo + CHUNK).min(1) for lo in range(0, len(s), CHUNK)]
            )

        key = f"closest:{hash((self.t_num.tobytes(), self.t_cat.tobytes()))}"
        return -sets.cached(key, all_sets)[idx]


class Density(Attack):
    """DOMIAS-style density attack (van Breugel et al., 2023).

    Score = log p_syn(target) - log p_ref(target): a kernel density estimate of
    the synthetic set at the target, relative to the density of the attacker's
    auxiliary data there.  Kernel: Gaussian on normalised numeric columns
    (per-column bandwidth sigma_j * m^(-1/(p+4)), Scott's rule, sigma_j from the
    auxiliary data) times ``mismatch_weight`` per categorical mismatch.  The
    reference term is constant per target, so per-target AUC equals that of
    p_syn alone; it makes scores comparable across targets.
    """

    name = "density"
    label = "Density (DOMIAS)"
    trainable = False
    options = {"mismatch_weight": 0.1, "reference_rows": 10000}

    @classmethod
    def check_options(cls, options: Mapping[str, Any], where: str) -> None:
        super().check_options(options, where)
        w = options.get("mismatch_weight", 0.1)
        if not isinstance(w, (int, float)) or not 0 < w < 1:
            raise ConfigError(f"{where}.attack_options.density.mismatch_weight: a number in (0, 1)")

    def prepare(self, knowledge: AuxiliaryDataKnowledge, encoder: Encoder) -> None:
        super().prepare(knowledge, encoder)
        aux = knowledge.auxiliary
        rows = int(self.opts["reference_rows"])
        if len(aux) > rows:
            aux = aux.sample(n=rows, random_state=self.seed)
        ref = encoder.encode(aux)
        p = ref.num.shape[1]
        sigma = ref.num.std(0) if len(ref.num) > 1 else np.ones(p, dtype=np.float32)
        self.h = np.maximum(sigma, 1e-3) * knowledge.m ** (-1.0 / (p + 4))
        self.log_w = float(np.log(self.opts["mismatch_weight"]))
        self.log_ref = self._log_density(ref.num[None], ref.cat[None])[0]  # (k,)

    def _log_density(self, num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """log mean kernel over rows, for each set and target: (sets, k)."""
        from scipy.special import logsumexp

        z = (num[:, :, None, :] - self.t_num[None, None]) / self.h
        logk = -0.5 * np.einsum("smkp,smkp->smk", z, z)
        logk += self.log_w * (cat[:, :, None, :] != self.t_cat[None, None]).sum(-1)
        return logsumexp(logk, axis=1) - np.log(num.shape[1])

    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        def all_sets(s: SyntheticSets) -> np.ndarray:
            return np.concatenate(
                [self._log_density(s.num[lo : lo + CHUNK], s.cat[lo : lo + CHUNK]) for lo in range(0, len(s), CHUNK)]
            )

        key = f"density:{hash((self.t_num.tobytes(), self.h.tobytes(), self.log_w))}"
        return sets.cached(key, all_sets)[np.asarray(idx)] - self.log_ref


ATTACKS: dict[str, type[Attack]] = {a.name: a for a in (Groundhog, ClosestDistance, Density)}


def make_attacks(
    names: Sequence[str], options: Mapping[str, Mapping[str, Any]], where: str, seed: int = 0, threads: int = 1
) -> list[Attack]:
    """Instantiate the configured attacks; unknown names or options are ConfigErrors."""
    unknown = [n for n in names if n not in ATTACKS]
    if unknown:
        raise ConfigError(f"{where}.attacks: unknown attack(s) {', '.join(unknown)} (available: {', '.join(ATTACKS)})")
    stray = sorted(set(options) - set(names))
    if stray:
        raise ConfigError(f"{where}.attack_options: options for attacks not in {where}.attacks: {', '.join(stray)}")
    out = []
    for n in names:
        cls = ATTACKS[n]
        cls.check_options(dict(options.get(n, {})), where)
        out.append(cls(seed=seed, threads=threads, **dict(options.get(n, {}))))
    return out
