"""A compact real-vs-synthetic page per synthetic set: per-column summary, marginals, associations."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from ..display import environment
from ..errors import PrivsynthError
from ..io import write_text
from .figures import correlation_figure, marginals_figure
from .offline import make_offline
from .stats import column_summary

log = logging.getLogger("privsynth.eda")

TEMPLATES = Path(__file__).resolve().parent / "templates"


def comparison_page(
    real: pd.DataFrame,
    syn: pd.DataFrame,
    out_html: str | os.PathLike[str],
    title: str,
    links: Mapping[str, str] | None = None,
    qa_report: str | None = None,
    positive_control: bool = False,
    max_levels: int = 20,
) -> dict[str, Any]:
    """Write the real-vs-synthetic page; return the per-column TVDs.

    With a mostlyai-qa report (``qa_report``, a path relative to the page) its
    overlaid marginals and correlation matrices are linked, not redrawn.
    """
    real = real.reset_index(drop=True)
    syn = syn.reset_index(drop=True)
    missing = [c for c in real.columns if c not in syn.columns]
    if missing:
        raise PrivsynthError(f"synthetic data lacks columns {missing}")
    syn = syn[list(real.columns)]
    summary = column_summary(real, syn, max_levels)
    kinds = dict(zip(summary["column"], summary["kind"], strict=True))
    figures: dict[str, Markup] = {}
    if not qa_report:
        import plotly.io as pio
        from plotly.offline import get_plotlyjs

        for name, fig in (
            ("marginals", marginals_figure(real, syn, summary)),
            ("correlations", correlation_figure(real, syn, kinds)),
        ):
            figures[name] = Markup(pio.to_html(fig, full_html=False, include_plotlyjs=False, include_mathjax=False))
        # Inline plotly.js once so the page works without network access.
        figures["plotly_js"] = Markup(get_plotlyjs())
    fmt = {c: "{:.3f}".format for c in summary.columns if summary[c].dtype.kind == "f"}
    table = Markup(summary.to_html(index=False, na_rep="", formatters=fmt, border=0, escape=True))
    page = (
        environment(TEMPLATES)
        .get_template("compare.html.j2")
        .render(
            title=title,
            positive_control=positive_control,
            n_real=len(real),
            n_syn=len(syn),
            links=list((links or {}).items()),
            table=table,
            qa_report=qa_report or "",
            **{"plotly_js": "", "marginals": "", "correlations": "", **figures},
        )
    )
    write_text(make_offline(page), out_html)
    log.info("comparison page: %d columns, mean TVD %.3f", len(summary), float(summary["TVD"].mean()))
    return {"tvd_mean": float(summary["TVD"].mean()), "tvd": dict(zip(summary["column"], summary["TVD"], strict=True))}
