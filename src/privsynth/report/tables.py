"""The report's data: summary.csv read and normalised, repeats pooled (mean and 95% interval)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..display import truthy
from . import one_run

# Audited lower bound must exceed the accountant's epsilon by more than this to
# count as a contradiction (guards against float noise in equal values).
CONTRADICTION_TOL = 1e-9
REPEAT_SUFFIX = re.compile(r"\.r([0-9]+)$")

# (summary column, header, tooltip, decimals)
METRICS: list[tuple[str, str, str, int]] = [
    ("epsilon", "ε (accountant)", "privacy budget claimed by the generator's DP accountant; n/a = no DP claim", 3),
    ("delta", "δ", "DP delta claimed with ε", 2),
    ("qa_accuracy_overall", "Fidelity accuracy", "mostlyai-qa overall accuracy of synthetic vs training data", 3),
    ("utility_auc", "ML utility AUC", "classifier trained on synthetic data, AUC on the real holdout", 3),
    ("utility_real_auc", "Real-train AUC", "same classifier trained on the real training split (baseline)", 3),
    (
        "utility_accuracy",
        "ML utility acc.",
        "accuracy on the real holdout of the classifier trained on synthetic data",
        3,
    ),
    ("utility_real_accuracy", "Real-train acc.", "baseline accuracy, classifier trained on real training data", 3),
    ("runtime_seconds", "Runtime (s)", "generator fit + sample wall time", 1),
    (
        "audit_auc_worst",
        "MIA AUC (worst)",
        "membership-inference AUC, worst of the audited targets (each with its attack chosen on shadow data)",
        3,
    ),
    (
        "audit_tpr_at_1pct_fpr_worst",
        "TPR@1%FPR (worst)",
        "attack true-positive rate at 1% false positives, worst target; empty = n/a (< 300 negative sets)",
        3,
    ),
    (
        "audit_epsilon_lb_worst",
        "Audited ε LB (shadow)",
        "lower bound on ε (add/remove adjacency, jointly at audit.confidence) from the audit, worst target",
        3,
    ),
]
# Measured cost per cell (Snakemake benchmark: files, privsynth.summary): shown after METRICS where summary.csv has them.
COST_METRICS: list[tuple[str, str, str, int]] = [
    (
        "cost_wall_s",
        "Total wall (s)",
        "sum of the wall-clock seconds of this cell's jobs (a dataset's job: a share)",
        1,
    ),
    ("cost_max_rss_mb", "Max RSS (MB)", "largest peak resident memory of this cell's jobs", 0),
    ("synth_wall_s", "Synthesis wall (s)", "wall-clock seconds of the synthesis job", 1),
    ("synth_max_rss_mb", "Synthesis max RSS (MB)", "peak resident memory of the synthesis job", 0),
]
TEXT_COLUMNS = ["dataset", "generator", "base_setting", "label"]


def load_summary(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read summary.csv; fill the columns older or partial runs may lack."""
    df = pd.read_csv(path)
    return normalise(df)


def cost_metrics(df: pd.DataFrame) -> list[tuple[str, str, str, int]]:
    """The COST_METRICS columns ``df`` has."""
    return [m for m in COST_METRICS if m[0] in df.columns]


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for col in ("dataset", "generator", "setting"):
        if col not in df.columns:
            raise ValueError(f"summary has no {col!r} column")
        df[col] = df[col].astype(str)
    if "base_setting" not in df.columns:
        df["base_setting"] = df["setting"].str.replace(REPEAT_SUFFIX, "", regex=True)
    if "repeat" not in df.columns:
        df["repeat"] = df["setting"].str.extract(REPEAT_SUFFIX, expand=False).fillna("1").astype(int)
    df["base_setting"] = df["base_setting"].fillna(df["setting"]).astype(str)
    if "positive_control" not in df.columns:
        df["positive_control"] = False
    df["positive_control"] = df["positive_control"].map(truthy)
    # Stopped by a time cap, or by a cap while still improving (generators/mostlyai.py).
    df["undertrained"] = df["undertrained"].map(truthy) if "undertrained" in df.columns else False
    if "undertrained_reason" not in df.columns:
        df["undertrained_reason"] = None
    for col, *_ in METRICS:
        if col not in df.columns:
            df[col] = np.nan
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col, *_ in cost_metrics(df):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df["contradiction"] = contradictions(df)
    return df


def contradictions(df: pd.DataFrame) -> pd.Series:
    """Rows whose audited ε lower bound exceeds the accountant's ε: the DP claim is refuted."""
    eps = pd.to_numeric(df.get("epsilon"), errors="coerce")
    if "audit_epsilon_accountant" in df.columns:
        # The audit's own fits' epsilon (add/remove, same n as the audited fits) where known:
        # the bound is about those fits, not about the release (docs/audit.md).
        eps = pd.to_numeric(df["audit_epsilon_accountant"], errors="coerce").fillna(eps)
    lb = pd.to_numeric(df.get("audit_epsilon_lb_worst"), errors="coerce")
    shadow = (np.isfinite(eps) & lb.notna() & (lb > eps + CONTRADICTION_TOL)).astype(bool)
    # One-run audit: its own flag compares with the audit fit's accountant ε (report/one_run.py).
    return (shadow | one_run.contradictions(df).to_numpy()).astype(bool)


def mean_ci(values: Iterable[float]) -> tuple[float, float, float, int]:
    """Mean and two-sided 95% Student-t interval of the mean; (nan,)*3 for no data."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(x.mean())
    if n == 1:
        return m, math.nan, math.nan, 1
    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """One row per configured setting (repeats pooled): mean, 95% interval, runs."""
    rows = []
    metrics = METRICS + cost_metrics(df)
    for (ds, gen, base), g in df.groupby(["dataset", "generator", "base_setting"], sort=True):
        pc = bool(g["positive_control"].any())
        row: dict[str, Any] = {
            "dataset": ds,
            "generator": gen,
            "base_setting": base,
            "label": f"{gen}/{base}" + (" (positive control)" if pc else ""),
            "positive_control": pc,
            "runs": len(g),
            "settings": list(g.sort_values("repeat")["setting"]),
            "contradiction": bool(g["contradiction"].any()),
            "undertrained": bool(g["undertrained"].any()),
            "undertrained_reason": next((str(v) for v in g["undertrained_reason"] if isinstance(v, str)), None),
        }
        for col, *_ in metrics:
            m, lo, hi, n = mean_ci(g[col])
            row[col], row[f"{col}_lo"], row[f"{col}_hi"], row[f"{col}_n"] = m, lo, hi, n
        rows.append(row)
    return pd.DataFrame(rows)
