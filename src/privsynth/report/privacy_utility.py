"""The headline plot of a dataset: every setting's ML utility against its privacy, in one picture.

x: ML utility AUC with its bootstrap interval, between the marginals floor and
the real-train baseline. y: the audited ε lower bound (one-run primary, shadow
where only it ran; filled marker) and the accountant ε (hollow diamond, joined
to it): the gap between claim and evidence. A setting without an audit or
without utility sits in a labelled strip at the axis edge, so every setting
appears. Points carry the headline table's numbers, placed so they do not overlap.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..display import empty, mpl, place_labels, save_svg
from .headline import audited, cells


def make_plot(df: pd.DataFrame, dataset: str, out: str | os.PathLike[str]) -> None:
    plt = mpl()
    c = cells(df, dataset)
    fig, ax = plt.subplots(figsize=(10, 4.8), constrained_layout=True)
    if c.empty:
        empty(ax, "no cell for this dataset")
        save_svg(fig, out, plt)
        return
    cmap = plt.get_cmap("tab10")
    colors = {g: cmap(i % 10) for i, g in enumerate(sorted(c["generator"].unique()))}
    u = c["utility_auc"].to_numpy(dtype=float)
    aud = [audited(r) for _, r in c.iterrows()]
    lb = np.asarray([a["lb"] for a in aud], dtype=float)
    ceil = np.asarray([a["ceiling"] for a in aud], dtype=float)
    eps = pd.to_numeric(c["epsilon"], errors="coerce").to_numpy(dtype=float)
    finite = np.r_[lb[np.isfinite(lb)], eps[np.isfinite(eps)], [0.5]]
    top = float(finite.max()) * 1.12
    na_y = -0.09 * top  # strip for settings without an audited bound
    ok_u = np.isfinite(u)
    lo_x = float(np.nanmin(np.r_[u[ok_u], c["utility_auc_ci_low"].to_numpy(float)[ok_u], [0.5]])) - 0.04
    hi_x = float(np.nanmax(np.r_[u[ok_u], [1.0]])) + 0.01
    na_x = lo_x - 0.05  # strip for settings without ML utility
    x = np.where(ok_u, u, na_x)
    y = np.where(np.isfinite(lb), lb, na_y)

    lo, hi = c["utility_auc_ci_low"].to_numpy(float), c["utility_auc_ci_high"].to_numpy(float)
    has_ci = ok_u & np.isfinite(lo) & np.isfinite(hi)
    if has_ci.any():
        ax.errorbar(
            x[has_ci],
            y[has_ci],
            xerr=[x[has_ci] - lo[has_ci], hi[has_ci] - x[has_ci]],
            fmt="none",
            ecolor="0.55",
            lw=0.9,
            capsize=2,
            zorder=2,
            label="utility 95% interval (bootstrap)",
        )
    claimed = np.isfinite(eps)
    for i in np.flatnonzero(claimed):
        ax.plot([x[i], x[i]], [y[i], eps[i]], color=colors[c["generator"].iloc[i]], lw=0.8, ls=":", zorder=1)
    if claimed.any():
        ax.scatter(
            x[claimed],
            eps[claimed],
            marker="D",
            s=36,
            facecolor="none",
            edgecolor=[colors[g] for g in c["generator"][claimed]],
            linewidth=1.2,
            zorder=3,
        )
        ax.scatter([], [], marker="D", s=36, facecolor="none", edgecolor="0.3", label="accountant ε (claimed)")
    has_ceil = np.isfinite(ceil)
    if has_ceil.any():
        ax.scatter(x[has_ceil], ceil[has_ceil], marker="_", s=120, color="0.35", zorder=2, label="audit ceiling")
    seen: set[str] = set()
    for i, r in c.iterrows():
        g = str(r["generator"])
        ax.scatter(
            x[i],
            y[i],
            s=70 if r["positive_control"] else 44,
            marker="X" if r["positive_control"] else ("o" if np.isfinite(lb[i]) else "s"),
            color=colors[g],
            edgecolor="red" if r["contradiction"] else "black",
            linewidth=2 if r["contradiction"] else 0.5,
            zorder=4,
            label=None if g in seen else g,
        )
        seen.add(g)
    base = pd.to_numeric(c["utility_real_auc"], errors="coerce").dropna()
    if len(base):
        ax.axvline(float(base.mean()), color="0.3", ls="--", lw=0.8, label="real-train utility (ceiling)")
    floor = c.loc[c["generator"] == "marginals", "utility_auc"].dropna()
    if len(floor):
        ax.axvline(float(floor.mean()), color="#b35900", ls="--", lw=0.8, label="marginals utility (floor)")
    ax.axhline(0, color="0.6", lw=0.6)
    if (~np.isfinite(lb)).any():
        ax.axhspan(na_y * 1.6, na_y * 0.45, color="0.93", zorder=0)
        ax.text(
            0.005,
            na_y * 0.5,
            " not audited",
            ha="left",
            va="top",
            fontsize=6.5,
            color="0.35",
            transform=ax.get_yaxis_transform(),
        )
    if (~ok_u).any():
        ax.axvspan(na_x - 0.03, na_x + 0.025, color="0.93", zorder=0)
    ax.set_xlim(na_x - 0.035 if (~ok_u).any() else lo_x, hi_x)
    ax.set_ylim(na_y * 1.7 if (~np.isfinite(lb)).any() else -0.04 * top, top)
    if (~ok_u).any():
        ticks = [t for t in ax.get_xticks() if lo_x <= t <= hi_x]
        ax.set_xticks([na_x, *ticks])
        ax.set_xticklabels(["no utility", *[f"{t:g}" for t in ticks]])
    place_labels(ax, x, y, [str(n) for n in c["number"]])
    ax.set_xlabel("ML utility AUC (train synthetic, test real)  →  better")
    ax.set_ylabel("ε: audited lower bound (filled), claimed (◇)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_title(f"{dataset}: privacy vs utility, every setting (numbers as in the table)", fontsize=9)
    save_svg(fig, out, plt)
