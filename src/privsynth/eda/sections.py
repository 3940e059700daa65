"""The edvart report's sections: which to render (``eda.sections``, wide data) and the ``edvart.Report`` with them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..errors import ConfigError

log = logging.getLogger("privsynth.eda")

# Report sections, in report order.  Costs measured by benchmarks/eda_sections.py
# (see docs/eda.md); the comments give the dominant cost.
SECTIONS: dict[str, str] = {
    "overview": "data types, missing values, constant values, duplicate rows (cheap)",
    "data_preview": "first rows and rows with missing values: prints records verbatim",
    "univariate": "statistics and one PNG plot per column (linear in columns)",
    "correlations": "Pearson/Spearman/Kendall heatmaps of numeric columns (quadratic, small)",
    "pairplot": "seaborn scatter-matrix PNG of numeric columns (quadratic in columns)",
    "contingency_tables": "one table per pair of categorical columns (quadratic)",
    "pca": "PCA of numeric columns: static PNG scatter and explained variance (cheap)",
    "pca_interactive": "the PCA scatter in plotly, every row with all its values as hover text (large)",
    "parallel_coordinates": "plotly parallel coordinates of every row (size linear in rows)",
    "parallel_categories": "plotly parallel categories of categorical columns",
}
# Sections that put training records verbatim into the HTML of a real-data report.
RECORD_SECTIONS = ("data_preview", "pca_interactive", "parallel_coordinates")
DEFAULT_SECTIONS = ["overview", "univariate", "correlations", "pairplot", "contingency_tables", "pca"]

_OVERVIEW = ["QuickInfo", "DataTypes", "MissingValues", "ConstantOccurrence", "DuplicateRows"]
_PREVIEW = ["DataPreview", "RowsWithMissingValue"]
_BIVARIATE = {"correlations": "CorrelationPlot", "pairplot": "PairPlot", "contingency_tables": "ContingencyTable"}
_MULTIVARIATE = {
    "pca": "PCA",
    "pca_interactive": "PCA",
    "parallel_coordinates": "ParallelCoordinates",
    "parallel_categories": "ParallelCategories",
}


def select_sections(n_columns: int, settings: Mapping[str, Any]) -> list[str]:
    """The configured sections, minus ``wide_skip`` when the data has more than ``wide_columns`` columns."""
    sections = list(settings.get("sections") or DEFAULT_SECTIONS)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ConfigError(f"eda.sections: unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    wide = settings.get("wide_columns")
    if wide is not None and n_columns > wide:
        skip = set(settings.get("wide_skip") or [])
        dropped = [s for s in sections if s in skip]
        if dropped:
            log.info("%d columns > eda.wide_columns=%d: skipping %s", n_columns, wide, dropped)
        sections = [s for s in sections if s not in skip]
    # Keep report order regardless of the order in the config.
    return [s for s in SECTIONS if s in sections]


def build_report(df: pd.DataFrame, sections: Sequence[str]) -> Any:
    """An ``edvart.Report`` with the given sections (names from ``SECTIONS``)."""
    import edvart
    from edvart.report_sections.bivariate_analysis import BivariateAnalysisSubsection as Biv
    from edvart.report_sections.dataset_overview import OverviewSubsection as Ov
    from edvart.report_sections.multivariate_analysis import MultivariateAnalysisSubsection as Mul

    report = edvart.Report(df)
    report.add_table_of_contents(include_subsections=True)
    overview = [*(_OVERVIEW if "overview" in sections else []), *(_PREVIEW if "data_preview" in sections else [])]
    if overview:
        report.add_overview(subsections=[Ov[name] for name in overview])
    if "univariate" in sections:
        report.add_univariate_analysis()
    biv = [Biv[v] for k, v in _BIVARIATE.items() if k in sections]
    if biv:
        report.add_bivariate_analysis(subsections=biv)
    mul = list(dict.fromkeys(Mul[v] for k, v in _MULTIVARIATE.items() if k in sections))
    if mul:
        report.add_multivariate_analysis(subsections=mul)
        # edvart's PCA scatter is interactive by default: plotly with every row as hover text.
        for sub in report.sections[-1].subsections:
            if hasattr(sub, "interactive") and type(sub).__name__ == "PCA":
                sub.interactive = "pca_interactive" in sections
    return report
