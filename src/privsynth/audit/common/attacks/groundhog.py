"""Groundhog (Stadler et al., USENIX Security 2022): set features + a classifier trained on shadow sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ....errors import ConfigError
from .base import CHUNK, Attack, SyntheticSets, partner_of


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
    sets.cat.shape[2]
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
    """Least-squares classifier in dual form; penalty per target by exact leave-pair-out.

    One eigendecomposition of the sets' Gram matrix serves every penalty and every
    target, so training costs O(sets^2 x features) once per cell, not per target.
    Expects centred features (the caller standardises with the training mean).
    """

    GRID = np.logspace(-3, 2, 11)

    def fit(self, X: np.ndarray, Y: np.ndarray, partner: np.ndarray | None = None) -> _LooRidge:
        """``partner[i]``: the other set of set i's pair (None: plain leave-one-out).

        With partners, the held-out predictions are exact leave-*pair*-out: for the
        pair G = {i, j}, residuals e_G = (I - H_GG)^-1 r_G (H the hat matrix), so a
        set is scored by a model that saw neither it nor its partner.
        """
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
            if partner is None:
                loo_resid = resid / (1 - h)[:, None]
            else:
                hij = ((Q * f) * Q[partner]).sum(1) + 1.0 / n
                hj = h[partner]
                det = (1 - h) * (1 - hj) - hij**2
                det = np.where(np.abs(det) < 1e-12, 1e-12, det)
                loo_resid = ((1 - hj)[:, None] * resid + hij[:, None] * resid[partner]) / det[:, None]
            err = (loo_resid**2).mean(0)
            better = err < best_err
            best_err[better], best[better] = err[better], a
            # Exact held-out predictions: each set scored by a model fitted without it (and its partner).
            self.loo[:, better] = (Y - loo_resid)[:, better]
        dual = Q @ (QtY / (lam[:, None] + best[None, :]))
        self.W = X.T @ dual
        self.alpha = best
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.W + self.ybar


class _PairForest:
    """A random forest (sklearn's defaults: 100 trees, sqrt features, gini) whose
    bootstrap draws *pairs*: both sets of a drawn pair enter a tree with the pair's
    draw count as weight.  Out-of-bag votes then come from trees that saw neither
    the set nor its partner: held-out scores for the price of one forest."""

    def __init__(self, n_estimators: int, seed: int, threads: int) -> None:
        self.n_estimators, self.seed, self.threads = n_estimators, seed, threads

    def fit(self, X: np.ndarray, y: np.ndarray, pairs: np.ndarray | None) -> _PairForest:
        from concurrent.futures import ThreadPoolExecutor

        from sklearn.tree import DecisionTreeClassifier

        groups = np.arange(len(X)) if pairs is None else np.unique(pairs, return_inverse=True)[1]
        G = int(groups.max()) + 1
        rng = np.random.default_rng(self.seed)
        draws = [np.bincount(rng.integers(0, G, G), minlength=G) for _ in range(self.n_estimators)]
        states = rng.integers(0, 2**31 - 1, self.n_estimators)

        X = np.ascontiguousarray(X, dtype=np.float32)  # the trees' dtype: no copy per call
        y = np.asarray(y)

        def one(b: int) -> DecisionTreeClassifier:
            # As sklearn's forest: every row, weighted by its (pair's) draw count.
            t = DecisionTreeClassifier(max_features="sqrt", random_state=int(states[b]))
            return t.fit(X, y, sample_weight=draws[b][groups].astype(np.float64))

        with ThreadPoolExecutor(max_workers=max(1, self.threads)) as ex:
            self.trees = list(ex.map(one, range(self.n_estimators)))
        votes, n_votes = np.zeros(len(X)), np.zeros(len(X))
        for b, t in enumerate(self.trees):
            oob = draws[b][groups] == 0
            if oob.any():
                votes[oob] += self._proba(t, X)[oob]
                n_votes[oob] += 1
        with np.errstate(invalid="ignore"):
            self.oob = np.where(n_votes > 0, votes / np.maximum(n_votes, 1), 0.5)  # no vote: uninformative
        return self

    @staticmethod
    def _proba(tree: Any, X: np.ndarray) -> np.ndarray:
        p = tree.predict_proba(X, check_input=False)
        return p[:, list(tree.classes_).index(1)] if 1 in tree.classes_ else np.zeros(len(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        return np.mean([self._proba(t, X) for t in self.trees], axis=0)


class Groundhog(Attack):
    """Stadler et al. (2022): set features + a classifier trained on shadow sets.

    ``classifier: random_forest`` (default, TAPAS's choice): 100 trees per
    target; held-out shadow scores are out-of-bag votes of a forest that
    bootstraps *pairs* (with sklearn's per-set bag, a set's partner, same base
    rows and opposite label, would be in the bag of the trees that vote on it).
    ``ridge``: a least-squares classifier on standardised features, penalty
    chosen by exact leave-pair-out; one factorisation serves every target.
    Seeds: ``audit.seed``.
    """

    name = "groundhog"
    label = "Groundhog"
    trainable = True
    options = {"classifier": "random_forest", "bins": 10}

    @classmethod
    def check_options(cls, options: Mapping[str, Any], where: str) -> None:
        super().check_options(options, where)
        o = {**cls.options, **options}
        if o["classifier"] not in ("ridge", "random_forest"):
            raise ConfigError(f"{where}.attack_options.groundhog.classifier: use random_forest or ridge")
        if not isinstance(o["bins"], int) or o["bins"] < 2:
            raise ConfigError(f"{where}.attack_options.groundhog.bins: an integer >= 2")

    def _features(self, sets: SyntheticSets) -> np.ndarray:
        bins = int(self.opts["bins"])
        return sets.cached(f"groundhog:{bins}", lambda s: _groundhog_features(s, bins))

    def fit(self, sets: SyntheticSets, idx: np.ndarray, labels: np.ndarray, pairs: np.ndarray | None = None) -> None:
        F = self._features(sets)[idx].astype(np.float64)
        mu, sd = F.mean(0), F.std(0)
        self.keep = sd > 1e-12  # constant features carry nothing and slow the solve
        self.mu, self.sd = mu[self.keep], sd[self.keep]
        X = (F[:, self.keep] - self.mu) / self.sd
        if self.opts["classifier"] == "ridge":
            partner = None if pairs is None else partner_of(pairs)
            self.model = _LooRidge().fit(X, labels.astype(np.float64) * 2 - 1, partner)
        else:
            self.model = [
                _PairForest(100, int(np.random.SeedSequence([self.seed, 5, j]).generate_state(1)[0]), self.threads).fit(
                    X, labels[:, j], pairs
                )
                for j in range(labels.shape[1])
            ]

    def fit_heldout(
        self, sets: SyntheticSets, idx: np.ndarray, labels: np.ndarray, pairs: np.ndarray, folds: np.ndarray
    ) -> np.ndarray:
        # Held-out scores come with one fit: the ridge's exact leave-pair-out
        # predictions, the pair forest's out-of-bag votes.
        self.fit(sets, idx, labels, pairs=pairs)
        if self.opts["classifier"] == "ridge":
            return self.model.loo
        return np.stack([f.oob for f in self.model], axis=1)

    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        X = (self._features(sets)[idx][:, self.keep].astype(np.float64) - self.mu) / self.sd
        if self.opts["classifier"] == "ridge":
            return self.model.predict(X)
        return np.stack([f.predict(X) for f in self.model], axis=1)
