"""Report part of the training-set size axis (privsynth.train_sizes): one table and one plot per dataset.

Per size of the axis: the rows the generator trained on, the accountant epsilon,
the one-run audit's epsilon lower bound (with the design's ceiling), mostlyai-qa
accuracy and ML utility AUC; the plot draws the three of the tutorial's question
(epsilon, audited bound, accuracy) against training rows on a log axis.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import display
from ..io import write_with
from ..train_sizes import Axis

COLUMNS = [
    "setting",
    "size",
    "train_rows",
    "epsilon",
    "one_run_epsilon_lb",
    "one_run_ceiling",
    "qa_accuracy_overall",
    "utility_auc",
    "epochs",
    "undertrained",
    "synth_wall_s",
]


def table(df: pd.DataFrame, axis: Axis) -> pd.DataFrame:
    """One row per cell of the axis (repeats as separate rows), in the axis's order of sizes."""
    sub = df[(df["dataset"].astype(str) == axis.dataset) & (df["generator"].astype(str) == axis.generator)].copy()
    base = sub["base_setting"].astype(str) if "base_setting" in sub.columns else sub["setting"].astype(str)
    order = {axis.cell_name(s): i for i, s in enumerate(axis.sizes)}
    sub = sub[base.isin(order)].copy()
    base = base[sub.index]
    sub["size"] = [axis.size_of(b)[1] for b in base]
    # Rows trained on: the configured size, capped by the rows the cell had (the full split,
    # or the one-run audit's training set when the release is the audit run).
    had = pd.to_numeric(sub["train_rows"], errors="coerce") if "train_rows" in sub.columns else np.nan
    sizes = pd.to_numeric(sub["size"], errors="coerce")
    rows = np.fmin(sizes.to_numpy(dtype=float), np.broadcast_to(np.asarray(had, dtype=float), len(sub)))
    sub["train_rows"] = pd.array([None if np.isnan(r) else int(r) for r in rows], dtype="Int64")
    sub["_order"] = [order[b] for b in base]
    sub = sub.sort_values(["_order", "setting"]).drop(columns="_order")
    for c in COLUMNS:
        if c not in sub.columns:
            sub[c] = np.nan
    return sub[COLUMNS].reset_index(drop=True)


def make_plot(df: pd.DataFrame, axis: Axis, out: str | os.PathLike[str]) -> None:
    plt = display.mpl()
    t = table(df, axis)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), constrained_layout=True)
    fig.suptitle(f"{axis.dataset}: {axis.generator}/{axis.setting} against training rows")
    if t.empty:
        for ax in axes:
            display.empty(ax, "no finished cell of the train_sizes axis")
        display.save_svg(fig, out, plt)
        return
    x = pd.to_numeric(t["train_rows"], errors="coerce").to_numpy(dtype=float)
    panels = [
        (axes[0], [("epsilon", "accountant ε", "o")], "ε (δ as configured)"),
        (
            axes[1],
            [("one_run_epsilon_lb", "one-run ε lower bound", "s"), ("one_run_ceiling", "design ceiling", "_")],
            "audited ε lower bound",
        ),
        (
            axes[2],
            [("qa_accuracy_overall", "QA accuracy", "o"), ("utility_auc", "ML utility AUC", "^")],
            "accuracy",
        ),
    ]
    for ax, series, ylabel in panels:
        drawn = False
        for col, label, marker in series:
            y = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.any():
                ax.plot(x[ok], y[ok], marker=marker, label=label, lw=1 if marker != "_" else 0, ms=7)
                drawn = True
        if not drawn:
            display.empty(ax, "not measured")
            continue
        ax.set_xscale("log")
        ticks = sorted({int(v) for v in x[np.isfinite(x)]})
        ax.set_xticks(ticks, [f"{v:,}" for v in ticks], rotation=30, fontsize=7)
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel("training rows")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    display.save_svg(fig, out, plt)


def write_table(df: pd.DataFrame, axis: Axis, out: str | os.PathLike[str]) -> None:
    write_with(lambda p: table(df, axis).to_csv(p, index=False), out)


def axis_of(job: Mapping[str, Any]) -> Axis:
    return Axis(job["dataset"], job["generator"], job["setting"], tuple(job["sizes"]))
