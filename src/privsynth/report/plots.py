"""The report's plots: the privacy-utility SVGs of each dataset, embedded inline in the page."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..display import empty, mpl, save_svg, scatter
from . import privacy_utility

# privacy_utility: the headline plot (privacy_utility.py); the others are the page's "more plots".
PLOT_NAMES = ("privacy_utility", "accuracy_vs_epsilon", "mia_auc_vs_accuracy", "epsilon_vs_audit")
# Plots of the shadow-model audit alone: shown only where a cell of the dataset has it.
SHADOW_PLOTS = ("mia_auc_vs_accuracy", "epsilon_vs_audit")


def _eps_positions(eps: pd.Series) -> tuple[np.ndarray, float | None]:
    """x positions on a log axis; cells without a finite ε go to a separate 'no DP' column."""
    finite = eps[np.isfinite(eps) & (eps > 0)]
    nodp = (float(finite.max()) * 6 if len(finite) else 1.0) if (~(np.isfinite(eps) & (eps > 0))).any() else None
    x = np.where(np.isfinite(eps) & (eps > 0), eps, nodp if nodp is not None else np.nan)
    return x.astype(float), nodp


def _style_eps_axis(ax: Any, x: np.ndarray, nodp: float | None) -> None:
    ax.set_xscale("log")
    if nodp is not None:
        finite = x[np.isfinite(x) & (x != nodp)]
        lo = finite.min() / 2 if len(finite) else nodp / 10
        ax.set_xlim(lo, nodp * 2.5)
        ax.axvline(nodp / 2.4, color="0.7", lw=0.8, ls=":")
        ticks = [t for t in ax.get_xticks() if lo <= t < nodp / 2.4] if len(finite) else []
        ax.set_xticks(ticks + [nodp])
        ax.set_xticklabels([f"{t:g}" for t in ticks] + ["no DP"])
        ax.minorticks_off()


def make_plots(df: pd.DataFrame, dataset: str, out: Mapping[str, str | os.PathLike[str]]) -> None:
    """Write the privacy-utility plots of ``dataset`` as SVG files (``out``: name -> path)."""
    if "privacy_utility" in out:
        privacy_utility.make_plot(df, dataset, out["privacy_utility"])
    plt = mpl()
    sub = df[df["dataset"] == dataset].reset_index(drop=True)
    gens = sorted(sub["generator"].unique())
    cmap = plt.get_cmap("tab10")
    colors = {g: cmap(i % 10) for i, g in enumerate(gens)}
    eps = sub["epsilon"].astype(float)
    xe, nodp = _eps_positions(eps)

    # 1. accuracy (fidelity, and ML utility) vs accountant epsilon
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    for ax, col, ylabel, missing in (
        (
            axes[0],
            "qa_accuracy_overall",
            "fidelity accuracy (mostlyai-qa)",
            "no fidelity accuracy (qa.enabled is false?)",
        ),
        (
            axes[1],
            "utility_auc",
            "ML utility AUC (train synthetic, test real)",
            "no ML utility (datasets.<name>.target unset?)",
        ),
    ):
        y = sub[col].to_numpy(dtype=float)
        if not np.isfinite(y).any() or len(sub) == 0:
            empty(ax, missing)
            continue
        scatter(ax, sub, xe, y, colors)
        if col == "utility_auc" and np.isfinite(sub["utility_real_auc"]).any():
            ax.axhline(float(sub["utility_real_auc"].mean()), color="0.4", ls="--", lw=0.8, label="real-train baseline")
        _style_eps_axis(ax, xe, nodp)
        ax.set_xlabel("accountant ε")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{dataset}: utility vs privacy budget")
    save_svg(fig, out["accuracy_vs_epsilon"], plt)

    # 2. MIA AUC vs accuracy (fidelity, and ML utility)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    y = sub["audit_auc_worst"].to_numpy(dtype=float)
    for ax, col, xlabel in (
        (axes[0], "qa_accuracy_overall", "fidelity accuracy (mostlyai-qa)"),
        (axes[1], "utility_auc", "ML utility AUC (train synthetic, test real)"),
    ):
        x = sub[col].to_numpy(dtype=float)
        if not (np.isfinite(x) & np.isfinite(y)).any():
            empty(ax, f"needs {xlabel.split(' (')[0]} and the privacy audit's MIA AUC;\nno run has both yet")
            continue
        scatter(ax, sub, x, y, colors)
        ax.axhline(0.5, color="0.5", ls="--", lw=0.8, label="chance (AUC 0.5)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("MIA AUC, worst target")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{dataset}: attack success vs utility")
    save_svg(fig, out["mia_auc_vs_accuracy"], plt)

    # 3. accountant epsilon vs audited lower bound, with the diagonal (linear axes,
    # so the diagonal is straight; cells without a DP claim in a "no DP" column)
    fig, ax = plt.subplots(figsize=(5.5, 4.4), constrained_layout=True)
    lb = sub["audit_epsilon_lb_worst"].to_numpy(dtype=float)
    e = eps.to_numpy()
    claimed = np.isfinite(e)
    has = np.isfinite(lb)
    if not has.any():
        empty(ax, "no audited ε lower bound yet (run the privacy audit)")
    else:
        top = max(float(np.nanmax(lb[has])), float(np.nanmax(e[claimed])) if claimed.any() else 0.0, 0.1) * 1.15
        nodp_x = top * 1.15
        x = np.where(claimed, e, nodp_x)
        scatter(ax, sub, x, lb, colors)
        if claimed.any():  # the diagonal only means something for runs with a DP claim
            ax.plot([0, top], [0, top], color="black", lw=1, ls="--", label="audited = claimed (diagonal)")
            ax.fill_between(
                [0, top], [0, top], [top * 1.1] * 2, color="red", alpha=0.07, label="audit contradicts DP claim"
            )
        bad = sub["contradiction"].to_numpy()
        for i in np.flatnonzero(bad & has):
            ax.scatter(x[i], lb[i], s=260, facecolor="none", edgecolor="red", linewidth=2.5, zorder=4)
            ax.annotate(
                "AUDIT CONTRADICTS DP CLAIM",
                (x[i], lb[i]),
                xytext=(8, -14),
                textcoords="offset points",
                color="red",
                fontweight="bold",
                fontsize=8,
            )
        ax.set_xlim(0, nodp_x * 1.08)
        ax.set_ylim(min(0.0, float(np.nanmin(lb[has]))), top * 1.1)
        if (~claimed & has).any():
            ax.axvline(top * 1.075, color="0.7", lw=0.8, ls=":")
            ticks = [t for t in ax.get_xticks() if 0 <= t <= top]
            ax.set_xticks(ticks + [nodp_x])
            ax.set_xticklabels([f"{t:g}" for t in ticks] + ["no DP"])
        ax.set_xlabel("accountant ε (claimed)")
        ax.set_ylabel("audited ε lower bound (worst target)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        if bad.any():
            ax.set_title(f"{dataset}: {int(bad.sum())} run(s) ABOVE THE DIAGONAL", color="red", fontweight="bold")
    if not ax.get_title():
        ax.set_title(f"{dataset}: claimed vs audited ε")
    save_svg(fig, out["epsilon_vs_audit"], plt)


def inline_svg(path: str | os.PathLike[str]) -> str:
    """SVG file -> markup to embed in HTML (drops the XML prolog and DOCTYPE)."""
    text = Path(path).read_text()
    start = text.find("<svg")
    if start < 0:
        raise ValueError(f"{path} is not an SVG file")
    return text[start:]
