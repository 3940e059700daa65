"""Report part of the one-run audit: one plot per dataset and a table beside the shadow audit.

Every audited cell appears: audited ε lower bound (with the design's ceiling) against
the audit fit's accountant ε, and attack AUC (with its interval) against ML utility.
Where a cell also has the shadow-model audit, its numbers are drawn and listed next
to the one-run audit's (hollow markers / separate columns).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from markupsafe import Markup

from .. import display
from ..audit.one_run import verdict

ONE_RUN_NUMERIC = [
    "one_run_epsilon_lb",
    "one_run_ceiling",
    "one_run_guesses",
    "one_run_correct",
    "one_run_auc",
    "one_run_auc_ci_low",
    "one_run_auc_ci_high",
    "one_run_tpr_at_low_fpr",
    "one_run_low_fpr",
    "one_run_fit_epsilon",
    "one_run_fit_epsilon_trained",
    "one_run_gdp_mu_lb",
    "one_run_gdp_epsilon",
    "one_run_trained_fraction",
    "one_run_tests",
    "one_run_delta",
    "one_run_m",
    "one_run_confidence",
    "one_run_fits",
    "audit_epsilon_lb_worst",
    "audit_auc_worst",
    "utility_auc",
    "epsilon",
]


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for c in ONE_RUN_NUMERIC:
        df[c] = pd.to_numeric(df[c], errors="coerce") if c in df.columns else np.nan
    for c in (
        "one_run_status",
        "one_run_epsilon_lb_attack",
        "one_run_auc_attack",
        "one_run_audit_run",
        "one_run_verdict",
    ):
        if c not in df.columns:
            df[c] = ""
        df[c] = df[c].fillna("").astype(str)
    df["one_run_contradicts_dp"] = df.get("one_run_contradicts_dp", False)
    df["one_run_contradicts_dp"] = df["one_run_contradicts_dp"].map(display.truthy)
    df["one_run_cannot_refute"] = df.get("one_run_cannot_refute", False)
    df["one_run_cannot_refute"] = df["one_run_cannot_refute"].map(display.truthy)
    if "positive_control" not in df.columns:
        df["positive_control"] = False
    df["positive_control"] = df["positive_control"].map(display.truthy)
    return df


def contradictions(df: pd.DataFrame) -> pd.Series:
    """One-run ε lower bound above the audit fit's own accountant ε."""
    d = _prepare(df)
    return d["one_run_contradicts_dp"].astype(bool)


def make_plot(df: pd.DataFrame, dataset: str, out: str | os.PathLike[str]) -> None:
    plt = display.mpl()
    sub = _prepare(df)
    sub = sub[(sub["dataset"].astype(str) == dataset) & (sub["one_run_status"] == "done")].reset_index(drop=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    if sub.empty:
        for ax in axes:
            display.empty(ax, "no one-run audit for this dataset (datasets.<name>.audit.one_run.enabled)")
        fig.suptitle(f"{dataset}: one-run canary audit")
        display.save_svg(fig, out, plt)
        return
    cmap = plt.get_cmap("tab10")
    colors = {g: cmap(i % 10) for i, g in enumerate(sorted(sub["generator"].astype(str).unique()))}

    # (a) audited lower bound vs the audit fit's accountant epsilon
    ax = axes[0]
    e = sub["one_run_fit_epsilon"].to_numpy(dtype=float)
    lb = sub["one_run_epsilon_lb"].to_numpy(dtype=float)
    ceil = sub["one_run_ceiling"].to_numpy(dtype=float)
    shadow = sub["audit_epsilon_lb_worst"].to_numpy(dtype=float)
    claimed = np.isfinite(e)
    top = max(np.nanmax(np.r_[lb, ceil, e[claimed] if claimed.any() else [0.0], 0.1]), 0.1) * 1.15
    nodp_x = top * 1.15
    x = np.where(claimed, e, nodp_x)
    display.scatter(ax, sub, x, lb, colors)
    ax.scatter(x, ceil, marker="_", s=200, color="0.3", label="design ceiling (all guesses correct)", zorder=2)
    if np.isfinite(shadow).any():
        ax.scatter(
            x + top * 0.02,
            shadow,
            marker="s",
            s=40,
            facecolor="none",
            edgecolor="black",
            label="shadow-model audit ε LB (same cell)",
            zorder=3,
        )
    if claimed.any():
        ax.plot([0, top], [0, top], color="black", lw=1, ls="--", label="audited = claimed")
        ax.fill_between([0, top], [0, top], [top * 1.1] * 2, color="red", alpha=0.07, label="contradicts DP claim")
    for i in np.flatnonzero(sub["one_run_contradicts_dp"].to_numpy()):
        ax.scatter(x[i], lb[i], s=260, facecolor="none", edgecolor="red", linewidth=2.5, zorder=4)
    ax.set_xlim(0, nodp_x * 1.08)
    ax.set_ylim(0, top * 1.1)
    if (~claimed).any():
        ax.axvline(top * 1.075, color="0.7", lw=0.8, ls=":")
        ticks = [t for t in ax.get_xticks() if 0 <= t <= top]
        ax.set_xticks(ticks + [nodp_x])
        ax.set_xticklabels([f"{t:g}" for t in ticks] + ["no DP"])
    ax.set_xlabel("accountant ε of the audit fit (claimed)")
    conf = sub["one_run_confidence"].dropna()
    ax.set_ylabel(f"one-run ε lower bound ({conf.iloc[0]:.0%}, add/remove)" if len(conf) else "one-run ε lower bound")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="upper left")
    ax.set_title("audited vs claimed ε per DP setting", fontsize=9)

    # (b) attack AUC (selected on half 0, interval on half 1) vs ML utility
    ax = axes[1]
    u = sub["utility_auc"].to_numpy(dtype=float)
    a = sub["one_run_auc"].to_numpy(dtype=float)
    if not (np.isfinite(u) & np.isfinite(a)).any():
        display.empty(ax, "needs ML utility (datasets.<name>.target) and the one-run AUC")
    else:
        lo = sub["one_run_auc_ci_low"].to_numpy(dtype=float)
        hi = sub["one_run_auc_ci_high"].to_numpy(dtype=float)
        ok = np.isfinite(u) & np.isfinite(a)
        ax.errorbar(u[ok], a[ok], yerr=[a[ok] - lo[ok], hi[ok] - a[ok]], fmt="none", ecolor="0.5", lw=0.8, zorder=2)
        display.scatter(ax, sub, u, a, colors)
        sa = sub["audit_auc_worst"].to_numpy(dtype=float)
        if (np.isfinite(sa) & np.isfinite(u)).any():
            ax.scatter(
                u,
                sa,
                marker="s",
                s=40,
                facecolor="none",
                edgecolor="black",
                label="shadow-model audit AUC (worst target)",
                zorder=3,
            )
        ax.axhline(0.5, color="0.5", ls="--", lw=0.8, label="chance (AUC 0.5)")
        ax.set_xlabel("ML utility AUC (train synthetic, test real)")
        ax.set_ylabel("one-run attack AUC over canaries")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6.5, loc="best")
    ax.set_title("attack AUC vs utility", fontsize=9)
    fig.suptitle(f"{dataset}: one-run canary audit")
    display.save_svg(fig, out, plt)


def html_section(df: pd.DataFrame, dataset: str) -> Markup:
    """Table of this dataset's cells: one-run audit next to the shadow-model audit (escaped); "" if none."""
    sub = _prepare(df)
    sub = sub[sub["dataset"].astype(str) == dataset]
    if not (sub["one_run_status"] != "").any():
        return Markup("")
    num = display.num
    head = [
        "generator / setting",
        "one-run status",
        "verdict (add/remove, δ-aware ceiling)",
        "ε LB (one-run)",
        "ceiling",
        "guesses (correct)",
        "attack (ε LB)",
        "GDP μ LB (ε at δ if Gaussian)",
        "AUC [interval, asymptotic]",
        "attack (AUC)",
        "TPR@low FPR",
        "accountant ε: last epoch trained (checkpoint)",
        "canaries trained on",
        "audit run",
        "extra fits",
        "ε LB (shadow, worst)",
        "AUC (shadow, worst)",
    ]
    rows = []
    for _, r in sub.iterrows():
        cells = [f"{r['generator']}/{r['setting']}", r["one_run_status"] or "not run"]
        if r["one_run_status"] == "done":
            lb = r["one_run_epsilon_lb"]
            gdp = num(r["one_run_gdp_mu_lb"])
            if np.isfinite(r["one_run_gdp_epsilon"]):
                gdp += f" ({num(r['one_run_gdp_epsilon'])})"
            trained = r["one_run_fit_epsilon_trained"]
            eps = num(trained) if np.isfinite(trained) else num(r["one_run_fit_epsilon"])
            if np.isfinite(trained) and np.isfinite(r["one_run_fit_epsilon"]):
                eps += f" ({num(r['one_run_fit_epsilon'])})"
            frac = r["one_run_trained_fraction"]
            cells += [
                r["one_run_verdict"] or "n/a (no verdict recorded)",
                ("0 (no leak detected)" if lb == 0 else num(lb))
                + (" ⚠ above accountant ε" if r["one_run_contradicts_dp"] else ""),
                num(r["one_run_ceiling"]) + (" ⚠ cannot refute the claimed ε" if r["one_run_cannot_refute"] else ""),
                f"{num(r['one_run_guesses'], 0)} ({num(r['one_run_correct'], 0)})",
                r["one_run_epsilon_lb_attack"],
                gdp,
                f"{num(r['one_run_auc'])} [{num(r['one_run_auc_ci_low'])}, {num(r['one_run_auc_ci_high'])}]",
                r["one_run_auc_attack"],
                num(r["one_run_tpr_at_low_fpr"]),
                eps,
                f"{frac:.0%}" if np.isfinite(frac) else "n/a",
                r["one_run_audit_run"],
                num(r["one_run_fits"], 0),
            ]
        else:
            cells += ["n/a"] * 13
        cells += [num(r["audit_epsilon_lb_worst"]), num(r["audit_auc_worst"])]
        rows.append({"contradiction": bool(r["one_run_contradicts_dp"]), "cells": cells})
    return Markup(
        display.environment().get_template("one_run.html.j2").render(head=head, rows=rows, limits=verdict.LIMITS)
    )


__all__ = ["contradictions", "html_section", "make_plot"]
