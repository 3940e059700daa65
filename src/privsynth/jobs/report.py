"""Snakemake adapters of the report rules (workflow/rules/report.smk): ``report_plots`` and ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import manifest, report
from ..report import one_run as one_run_report

__all__ = ["plots_job", "report_job", "train_sizes_job"]


def plots_job(sm: Any) -> None:
    manifest.verify([sm.input.summary])
    df = report.load_summary(sm.input.summary)
    report.make_plots(df, sm.wildcards.dataset, {name: sm.output[name] for name in report.PLOT_NAMES})
    if "one_run_audit" in sm.output.keys():
        one_run_report.make_plot(df, sm.wildcards.dataset, sm.output.one_run_audit)


def report_job(sm: Any) -> None:
    """The page over the summary, its plots, and the artefacts the rule declares as inputs (nothing else)."""
    plots: dict[str, dict[str, str]] = {}
    for p in sm.input.plots:
        pp = Path(p)
        plots.setdefault(pp.parent.name, {})[pp.stem] = p
    manifest.verify([sm.input.summary, *sm.input.plots, *sm.input.get("artefacts", [])])
    artefacts = report.Artefacts.declared(list(sm.input.get("artefacts", [])))
    report.render(report.load_summary(sm.input.summary), artefacts, sm.output.html, plots)


def train_sizes_job(sm: Any) -> None:
    """``report_train_sizes``: the training-set size axis's table and plot of one dataset."""
    from ..report import train_sizes

    manifest.verify([sm.input.summary])
    axis = train_sizes.axis_of(sm.params.axis)
    df = report.load_summary(sm.input.summary)
    train_sizes.write_table(df, axis, sm.output.csv)
    train_sizes.make_plot(df, axis, sm.output.svg)
