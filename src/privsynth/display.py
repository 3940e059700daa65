"""How results are shown: summary values read as flags, numbers as text, the plots' style, the page templates.

Shared by the report (``privsynth.report``) and the audits' report parts
(``privsynth.report.one_run``, ``privsynth.report.nobox``); it imports neither, so both can use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from .io import write_with

TEMPLATES = Path(__file__).resolve().parent / "report" / "templates"


def truthy(v: Any) -> bool:
    """A summary.csv flag (bool, "true"/"1"/"yes", or a number; NaN is False)."""
    if isinstance(v, str):
        return v.strip().lower() in {"true", "1", "yes"}
    return bool(v) and not (isinstance(v, float) and math.isnan(v))


def fmt(v: float, decimals: int) -> str:
    """A number with ``decimals`` places (tiny ones in 2 significant digits); n/a or ∞ when not finite."""
    if v is None or not np.isfinite(v):
        return "∞" if v is not None and np.isinf(v) else "n/a"
    if 0 < abs(v) < 10**-decimals:
        return f"{v:.2g}"
    return f"{v:.{decimals}f}"


def num(v: Any, dec: int = 3) -> str:
    """``fmt`` of anything float() takes; n/a for the rest."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if math.isnan(f) else fmt(f, dec)


# --- pages ----------------------------------------------------------------------


def environment(folder: str | os.PathLike[str] = TEMPLATES) -> jinja2.Environment:
    """jinja2 templates of ``folder``, every value escaped (autoescape on)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


# --- plots ----------------------------------------------------------------------


def mpl() -> Any:
    """matplotlib.pyplot with the Agg backend and deterministic SVG output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Deterministic SVG (same input -> same bytes) and real text instead of glyph paths.
    plt.rcParams.update({"svg.hashsalt": "privsynth", "svg.fonttype": "none", "font.size": 9})
    return plt


def scatter(ax: Any, sub: pd.DataFrame, x: np.ndarray, y: np.ndarray, colors: Mapping[str, Any]) -> None:
    """One point per run, coloured by generator, × for the positive control, labelled with its setting."""
    seen: set[str] = set()
    for i, (_, r) in enumerate(sub.iterrows()):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        label = r["generator"] + (" (positive control)" if r["positive_control"] else "")
        ax.scatter(
            x[i],
            y[i],
            s=70 if r["positive_control"] else 40,
            marker="X" if r["positive_control"] else "o",
            color=colors[r["generator"]],
            edgecolor="black",
            linewidth=0.5,
            zorder=3,
            label=None if label in seen else label,
        )
        seen.add(label)
    place_labels(ax, x, y, [str(s) for s in sub["setting"]])


# Offsets (points) tried in turn for a label: right, above, left, below, then further out.
_OFFSETS = [(5, 3), (5, -10), (-5, 3), (-5, -10), (0, 9), (0, -15), (12, 12), (-12, 12), (12, -20), (-12, -20)]


def place_labels(ax: Any, x: np.ndarray, y: np.ndarray, texts: list[str], fontsize: float = 7) -> None:
    """Annotate points so that no two labels overlap: each takes the first offset whose box is free.

    Boxes are estimated in display points (0.6 em per character), after the axis
    limits are set; a label that finds no free place is still drawn (at its last try)
    rather than dropped: every point stays named.
    """
    fig = ax.figure
    ax.get_xlim(), ax.get_ylim()  # applies pending autoscaling, so transData is final
    to_pt = fig.dpi_scale_trans.inverted().transform  # pixels -> inches
    placed: list[tuple[float, float, float, float]] = []
    for i, t in enumerate(texts):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        px, py = to_pt(ax.transData.transform((x[i], y[i]))) * 72
        w, h = 0.6 * fontsize * len(t), fontsize
        for dx, dy in _OFFSETS:
            x0 = px + dx - (w if dx < 0 else 0)
            box = (x0, py + dy, x0 + w, py + dy + h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        ax.annotate(
            t,
            (x[i], y[i]),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=fontsize,
            ha="right" if dx < 0 else "left",
            va="bottom",
        )


def empty(ax: Any, text: str) -> None:
    """An axis that says why it has no data."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True, color="0.3")
    ax.set_xticks([])
    ax.set_yticks([])


def save_svg(fig: Any, path: str | os.PathLike[str], plt: Any) -> None:
    write_with(lambda tmp: fig.savefig(tmp, format="svg", metadata={"Date": None}), path)
    plt.close(fig)
