"""The run's report: ``results/report/index.html`` and its plots.

- ``tables``: summary.csv read and normalised, repeats pooled (mean, 95% interval);
- ``artefacts``: which files the page links, from the job's declared inputs;
- ``plots``: the privacy-utility SVG plots;
- ``one_run``: the one-run canary audit's plot and table; ``nobox``: the no-box table of files made elsewhere;
- ``page``: the page itself (``templates/index.html.j2``, jinja2 with autoescape).

The Snakemake adapters are in ``privsynth.jobs.report``.
"""

from .artefacts import Artefacts
from .page import render
from .plots import PLOT_NAMES, inline_svg, make_plots
from .tables import COST_METRICS, METRICS, aggregate, contradictions, load_summary, mean_ci, normalise

__all__ = [
    "COST_METRICS",
    "METRICS",
    "PLOT_NAMES",
    "Artefacts",
    "aggregate",
    "contradictions",
    "inline_svg",
    "load_summary",
    "make_plots",
    "mean_ci",
    "normalise",
    "render",
]
