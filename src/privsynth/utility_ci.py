"""An interval for ML utility AUC: how much of a cell's number is noise.

Utility on a few hundred rows is noisy twice over: the classifier sees one draw of
training rows (a synthetic sample, or the real split), and is scored on one small
holdout. Both are resampled here: the classifier is refit ``refits`` times on
bootstrap resamples of its training table (random state ``seed + r``), and the
AUC is taken on ``resamples`` bootstrap resamples of the holdout, each scored by
one refit in turn. The percentile spread of those AUCs, around the cell's own AUC, is the cell's
``utility_auc_ci_low`` / ``utility_auc_ci_high``; the report's bracket
(privsynth.bracket) compares it with the marginals floor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import utility


class _Fixed:
    """Predictions made once, looked up by holdout row: utility._scores on a resample."""

    def __init__(self, classes: np.ndarray, proba: np.ndarray) -> None:
        self.classes_, self._p = classes, proba

    def predict_proba(self, idx: np.ndarray) -> np.ndarray:
        return self._p[idx]


def auc_interval(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    settings: Mapping[str, Any],
    seed: int = 0,
    threads: int = 1,
    point: float | None = None,
) -> dict[str, Any]:
    """``{"low", "high", "refits", "resamples", "confidence", "note"}``; low/high NaN with a note where undefined.

    ``settings``: the config's ``utility`` section (refits, resamples, confidence).
    ``point``: the AUC of the fit on all rows; the interval is the resampled AUCs'
    percentile spread around their median, moved to be around it.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    s = settings
    out: dict[str, Any] = {
        "low": math.nan,
        "high": math.nan,
        "refits": int(s["refits"]),
        "resamples": int(s["resamples"]),
        "confidence": float(s["confidence"]),
        "note": None,
    }
    if out["refits"] == 0:
        out["note"] = "utility.refits is 0: no interval"
        return out
    (x_tr, x_te), (y_tr, y_te) = utility.encode([train, holdout], target)
    keep, keep_te = y_tr.notna().to_numpy(), y_te.notna().to_numpy()
    x_tr, y_tr, x_te, y_te = x_tr[keep], y_tr[keep], x_te[keep_te], y_te[keep_te]
    empty = [c for c in x_tr.columns if not x_tr[c].notna().any()]
    x_tr, x_te = x_tr.drop(columns=empty), x_te.drop(columns=empty)
    if y_tr.nunique() < 2 or x_tr.shape[1] == 0 or y_te.nunique() < 2:
        out["note"] = "constant prediction (one class or no feature): nothing to resample"
        return out
    classes = sorted(set(y_te) | set(y_tr))
    rng = np.random.default_rng(seed)
    n_tr, n_te = len(y_tr), len(y_te)
    fits = []
    with threadpool_limits(limits=threads):
        for r in range(out["refits"]):
            idx = rng.integers(0, n_tr, n_tr)
            yb = y_tr.iloc[idx]
            if yb.nunique() < 2:  # a resample with one class: a constant model, as utility.evaluate would
                fits.append(_Fixed(np.asarray([yb.iloc[0]]), np.ones((n_te, 1))))
                continue
            model = HistGradientBoostingClassifier(random_state=seed + r, categorical_features="from_dtype")
            model.fit(x_tr.iloc[idx], yb)
            fits.append(_Fixed(model.classes_, model.predict_proba(x_te)))
    y = y_te.to_numpy()
    aucs = []
    for b in range(out["resamples"]):
        idx = rng.integers(0, n_te, n_te)
        if len(set(y[idx])) < 2:
            continue
        aucs.append(utility._scores(fits[b % len(fits)], idx, pd.Series(y[idx]), classes)["auc"])
    aucs_a = np.asarray([a for a in aucs if np.isfinite(a)])
    if len(aucs_a) < 20:
        out["note"] = f"only {len(aucs_a)} resamples had both classes: no interval"
        return out
    alpha = (1 - out["confidence"]) / 2
    q_lo, med, q_hi = (float(v) for v in np.quantile(aucs_a, [alpha, 0.5, 1 - alpha]))
    # A refit on a resample (duplicated rows) scores a little below the fit on all rows:
    # the spread is the noise, the centre is the cell's own AUC (``point``) where given.
    centre = point if point is not None and np.isfinite(point) else med
    out["low"], out["high"] = max(0.0, centre - (med - q_lo)), min(1.0, centre + (q_hi - med))
    return out
