"""ML utility: train a classifier on one table, test it on the real holdout.

Train-on-synthetic/test-on-real (TSTR) for every grid cell, and the same model
trained on the real training split as the baseline beside it.  The model is
scikit-learn's HistGradientBoostingClassifier with a fixed random state, so a
cell's numbers change only when its data change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError
from .io import read_json, write_json

log = logging.getLogger("privsynth.utility")

# A target with more distinct values than this is almost surely not a label.
MAX_CLASSES = 50
# HistGradientBoosting handles at most this many categories per native categorical feature.
MAX_NATIVE_CATEGORIES = 255
KEYS = ("utility_auc", "utility_accuracy")


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)) or (
        pd.api.types.is_bool_dtype(s)
    )


def encode(frames: list[pd.DataFrame], target: str) -> tuple[list[pd.DataFrame], list[pd.Series]]:
    """Features and labels of ``frames`` with one shared encoding.

    Categories are the union over all frames, so a category seen only in the
    holdout (or only in a synthetic set) gets the same code everywhere.
    """
    features = [c for c in frames[0].columns if c != target]
    xs = [f[features].copy() for f in frames]
    for col in features:
        cols = [x[col] for x in xs]
        if any(_is_categorical(c) for c in cols):
            values = pd.concat([c.dropna().astype(str) for c in cols]).unique()
            cats = sorted(values)
            for x in xs:
                cat = pd.Categorical(x[col].astype(str).where(x[col].notna()), categories=cats)
                # Too many levels for native categorical splits: ordinal codes instead.
                x[col] = cat if len(cats) <= MAX_NATIVE_CATEGORIES else np.where(cat.codes < 0, np.nan, cat.codes)
        elif pd.api.types.is_datetime64_any_dtype(cols[0]):
            for x in xs:
                x[col] = x[col].astype("int64").astype(float)
        else:
            for x in xs:
                x[col] = pd.to_numeric(x[col], errors="coerce").astype(float)
    ys = [f[target].astype(str).where(f[target].notna()) for f in frames]
    return xs, ys


def _scores(model: Any, x: pd.DataFrame, y: pd.Series, classes: list[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, roc_auc_score

    proba = model.predict_proba(x)
    # Columns for every class of the holdout, zero for classes the model never saw.
    full = np.zeros((len(x), len(classes)))
    for j, c in enumerate(model.classes_):
        full[:, classes.index(c)] = proba[:, j]
    pred = np.asarray(classes)[full.argmax(axis=1)]
    acc = float(accuracy_score(y, pred))
    present = sorted(set(y))
    if len(present) < 2:
        auc = float("nan")
    elif len(classes) == 2:
        auc = float(roc_auc_score(y == classes[1], full[:, 1]))
    else:
        cols = [classes.index(c) for c in present]
        p = full[:, cols]
        p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
        auc = float(roc_auc_score(y, p, multi_class="ovr", average="macro", labels=present))
    return {"auc": auc, "accuracy": acc}


class _Constant:
    """Stand-in model when the training table has only one class (nothing to learn)."""

    def __init__(self, label: str) -> None:
        self.classes_ = np.asarray([label])

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        return np.ones((len(x), 1))


def evaluate(
    train: pd.DataFrame, holdout: pd.DataFrame, target: str, seed: int = 0, threads: int = 1
) -> dict[str, Any]:
    """Fit on ``train`` (real or synthetic), score on the real ``holdout``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    (x_tr, x_te), (y_tr, y_te) = encode([train, holdout], target)
    keep = y_tr.notna()
    x_tr, y_tr = x_tr[keep], y_tr[keep]
    keep_te = y_te.notna()
    x_te, y_te = x_te[keep_te], y_te[keep_te]
    if len(y_te) == 0:
        raise DataError(f"the holdout has no non-missing values of target {target!r}")
    classes = sorted(set(y_te) | set(y_tr))
    note = None
    # A feature without a single value in the training table carries nothing to
    # learn, and scikit-learn's binning fails on it ("window shape cannot be larger
    # than input array shape"): leave it out, and say so.
    empty = [c for c in x_tr.columns if not x_tr[c].notna().any()]
    if empty:
        x_tr, x_te = x_tr.drop(columns=empty), x_te.drop(columns=empty)
        note = f"left out feature(s) without values in the training table: {', '.join(map(str, empty))}"
        log.warning("%s", note)
    t0 = time.perf_counter()
    if y_tr.nunique() >= 2 and x_tr.shape[1] == 0:
        note = "no feature has values in the training table; constant prediction of its majority class"
        model: Any = _Constant(y_tr.mode().iloc[0])
    elif y_tr.nunique() < 2:
        note = (
            "training table has a single target class; constant prediction"
            if len(y_tr)
            else "training table has no target values; constant prediction of the holdout's majority class"
        )
        label = y_tr.iloc[0] if len(y_tr) else y_te.mode().iloc[0]
        model = _Constant(label)
    else:
        model = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
        with threadpool_limits(limits=threads):
            model.fit(x_tr, y_tr)
    with threadpool_limits(limits=threads):
        s = _scores(model, x_te, y_te, classes)
    return {
        "auc": s["auc"],
        "accuracy": s["accuracy"],
        "train_rows": int(len(y_tr)),
        "test_rows": int(len(y_te)),
        "classes": len(classes),
        "fit_seconds": round(time.perf_counter() - t0, 3),
        "note": note,
    }


def check_target(df: pd.DataFrame, job: Mapping[str, Any]) -> str | None:
    target = job.get("target")
    ds = job["dataset"]
    if target is None:
        return None
    if target not in df.columns:
        raise ConfigError(
            f"datasets.{ds}.target: column {target!r} is not in the data "
            f"(columns: {', '.join(map(str, df.columns))}); name one of them or set it to null"
        )
    n = df[target].nunique()
    if n > MAX_CLASSES:
        raise ConfigError(
            f"datasets.{ds}.target: {target!r} has {n} distinct values; ML utility needs a class label "
            f"(at most {MAX_CLASSES} classes): name a label column or set it to null"
        )
    if n < 2:
        raise ConfigError(
            f"datasets.{ds}.target: {target!r} has {'a single value' if n else 'no values'} in the training "
            "split; ML utility needs at least two classes: name another column or set it to null"
        )
    return str(target)


def baseline(train_path: str, holdout_path: str, out_json: str, job: Mapping[str, Any], threads: int = 1) -> dict:
    """Real-train / real-holdout scores: the ceiling a synthetic set is compared with."""
    train = pd.read_parquet(train_path).reset_index(drop=True)
    holdout = pd.read_parquet(holdout_path).reset_index(drop=True)
    target = check_target(train, job)
    out: dict[str, Any] = {"dataset": job["dataset"], "target": target}
    if target is None:
        log.info("no target configured for %s (datasets.%s.target): utility not computed", *[job["dataset"]] * 2)
        out.update({"auc": None, "accuracy": None, "train_rows": len(train), "test_rows": len(holdout)})
    else:
        r = evaluate(train, holdout, target, threads=threads)
        log.info(
            "%s real-train baseline (%s): AUC %.4f, accuracy %.4f", job["dataset"], target, r["auc"], r["accuracy"]
        )
        out.update(r)
    write_json(out, out_json)
    return out


def cell(
    synthetic_path: str,
    holdout_path: str,
    baseline_path: str,
    metrics_path: str,
    out_json: str,
    job: Mapping[str, Any],
    threads: int = 1,
    interval: Callable[..., Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """TSTR scores of one grid cell, flat (these keys become summary.csv columns).

    ``interval``: privsynth.utility_ci.auc_interval (passed in: it builds on this module).
    """
    meta = read_json(metrics_path)
    base = read_json(baseline_path)
    out: dict[str, Any] = {k: meta[k] for k in ("dataset", "generator", "setting")}
    target = base.get("target")
    result: dict[str, Any] = {"auc": None, "accuracy": None, "train_rows": None, "note": None}
    if target is None:
        result["note"] = f"no target configured (datasets.{job['dataset']}.target)"
    else:
        syn = pd.read_parquet(synthetic_path).reset_index(drop=True)
        holdout = pd.read_parquet(holdout_path).reset_index(drop=True)
        if target not in syn.columns:
            raise DataError(f"synthetic data of {out['generator']}/{out['setting']} has no target column {target!r}")
        result = evaluate(syn, holdout, target, threads=threads)
        if interval is not None:
            ci = interval(syn, holdout, target, job["interval"], threads=threads, point=result["auc"])
            result.update(_interval(ci))
        log.info(
            "%s/%s/%s TSTR: AUC %s, accuracy %.4f (real-train baseline AUC %s, accuracy %s)",
            out["dataset"],
            out["generator"],
            out["setting"],
            _fmt(result["auc"]),
            result["accuracy"],
            _fmt(base.get("auc")),
            _fmt(base.get("accuracy")),
        )
    out.update(
        {
            "utility_target": target,
            "utility_auc": result["auc"],
            "utility_accuracy": result["accuracy"],
            "utility_real_auc": base.get("auc"),
            "utility_real_accuracy": base.get("accuracy"),
            "utility_train_rows": result["train_rows"],
            "utility_note": result["note"],
            # bootstrap interval of utility_auc (privsynth.utility_ci)
            "utility_auc_ci_low": result.get("auc_ci_low"),
            "utility_auc_ci_high": result.get("auc_ci_high"),
            "utility_auc_ci_note": result.get("auc_ci_note"),
        }
    )
    write_json(out, out_json)
    return out


def _interval(ci: Mapping[str, Any]) -> dict[str, Any]:
    nan = lambda v: None if v is None or np.isnan(v) else v  # noqa: E731 - JSON has no NaN
    return {"auc_ci_low": nan(ci["low"]), "auc_ci_high": nan(ci["high"]), "auc_ci_note": ci["note"]}


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.4f}"
