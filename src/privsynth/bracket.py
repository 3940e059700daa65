"""The sanity bracket: every cell placed between its dataset's marginals floor and copy ceiling.

``utility_retained = (cell - floor) / (ceiling - floor)`` with the floor the
``marginals`` cell's ML utility AUC (every column sampled independently: the
label link is gone) and the ceiling the positive control's (``copy``: the
training rows themselves); 0 = no better than the floor, 1 = as good as the
real data. ``fidelity_retained`` does the same for a fidelity measure that can
tell a model from the floor (``FIDELITY``: the first the summary has).

``bracket_flag`` marks a real-generator cell whose utility is not clearly above
the floor: the difference cell - floor is not above 0 at the intervals'
confidence, i.e. ``(cell - floor) - sqrt(h_cell^2 + h_floor^2) <= 0`` with the
cell's lower and the floor's upper half-width of their bootstrap intervals
(privsynth.utility_ci; the two estimates are independent). A privacy verdict on
such a cell says nothing about the generator: the report labels it uninformative.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .display import truthy

FLOOR = "marginals"
# Controls are bracketed by definition: they are the floor, the ceiling, or a fresh real sample.
CONTROLS = {"copy", "marginals", "holdout"}
FLAG = "NO BETTER THAN MARGINALS"
# (column, higher is better): the first present is fidelity_retained's measure.
FIDELITY = [("pairs_top_accuracy", True), ("pairs_assoc_distance", False), ("qa_accuracy_overall", True)]
# Columns a generator may report with the rows it actually trained on (a cap below train_rows).
TRAINED_ROWS = ("trained_rows", "training_rows")
COLUMNS = [
    "utility_retained",
    "utility_retained_ci_low",
    "utility_retained_ci_high",
    "fidelity_retained",
    "fidelity_retained_measure",
    "bracket_flag",
]


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(df[col], errors="coerce") if col in df.columns else pd.Series(np.nan, index=df.index)


def _reference(df: pd.DataFrame, col: str) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Per dataset: floor value, floor's upper CI half-width, ceiling value (means over repeats)."""
    base = df["base_setting"] if "base_setting" in df.columns else df["setting"]
    pc = df["positive_control"].map(truthy) if "positive_control" in df.columns else df["generator"] == "copy"
    floor, half, ceil = {}, {}, {}
    for ds in df["dataset"].unique():
        mine = df["dataset"] == ds
        fl = mine & (df["generator"] == FLOOR)
        if (fl & (base == "default")).any():
            fl &= base == "default"
        v = _num(df, col)
        if fl.any() and v[fl].notna().any():
            floor[ds] = float(v[fl].mean())
            hi = _num(df, f"{col}_ci_high")[fl]
            half[ds] = float((hi - v[fl]).mean()) if hi.notna().any() else math.nan
        if (mine & pc).any() and v[mine & pc].notna().any():
            ceil[ds] = float(v[mine & pc].mean())
    return floor, half, ceil


def _retained(x: pd.Series, ds: pd.Series, floor: dict, ceil: dict) -> pd.Series:
    f, c = ds.map(floor).astype(float), ds.map(ceil).astype(float)
    span = c - f
    return ((x - f) / span).where(span.abs() > 1e-9)


def _reason(r: pd.Series) -> str:
    why = []
    if truthy(r.get("undertrained")):
        why.append(
            f"undertrained ({r['undertrained_reason']})"
            if isinstance(r.get("undertrained_reason"), str)
            else "undertrained"
        )
    for col in TRAINED_ROWS:
        n, full = pd.to_numeric(r.get(col), errors="coerce"), pd.to_numeric(r.get("train_rows"), errors="coerce")
        if np.isfinite(n) and np.isfinite(full) and n < full:
            why.append(f"capped rows (trained on {int(n)} of {int(full)})")
            break
    return ", ".join(why) or "reason unknown"


def add_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (summary rows) with ``COLUMNS``; NaN / empty where a dataset has no floor or ceiling."""
    if df.empty or "dataset" not in df.columns:
        return df
    df = df.copy()
    ds = df["dataset"].astype(str)
    u = _num(df, "utility_auc")
    floor, fhalf, ceil = _reference(df, "utility_auc")
    df["utility_retained"] = _retained(u, ds, floor, ceil)
    df["utility_retained_ci_low"] = _retained(_num(df, "utility_auc_ci_low"), ds, floor, ceil)
    df["utility_retained_ci_high"] = _retained(_num(df, "utility_auc_ci_high"), ds, floor, ceil)
    measure = next((c for c, _ in FIDELITY if c in df.columns and _num(df, c).notna().any()), None)
    df["fidelity_retained_measure"] = measure or ""
    if measure is not None:
        f_floor, _, f_ceil = _reference(df, measure)
        df["fidelity_retained"] = _retained(_num(df, measure), ds, f_floor, f_ceil)
    else:
        df["fidelity_retained"] = np.nan
    control = df["generator"].isin(CONTROLS)
    if "positive_control" in df.columns:
        control |= df["positive_control"].map(truthy)
    flags: list[str] = []
    for i, r in df.iterrows():
        flags.append(_flag(r, u[i], floor, fhalf, control[i]))
    df["bracket_flag"] = flags
    return df


def _flag(r: pd.Series, u: float, floor: dict, fhalf: dict, control: bool) -> str:
    ds = str(r["dataset"])
    if control or not np.isfinite(u) or ds not in floor:
        return ""
    lo = pd.to_numeric(r.get("utility_auc_ci_low"), errors="coerce")
    h_cell = u - lo if np.isfinite(lo) else 0.0
    h_floor = fhalf.get(ds, math.nan)
    h_floor = h_floor if np.isfinite(h_floor) else 0.0
    diff = u - floor[ds]
    if diff - math.hypot(h_cell, h_floor) > 0:
        return ""
    return f"{FLAG}: {_reason(r)}"
