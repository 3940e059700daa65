"""Exploratory data analysis: edvart reports that render offline, and a compact real-vs-synthetic page.

- ``sections``: which edvart sections a report has (``eda.sections``, wide data);
- ``notebook``: the report's notebook run in a private kernel, one kernel for many reports;
- ``sanitize``: the notebook's outputs made inert (nothing from the data becomes markup);
- ``offline``: remote references removed and checked, live content found;
- ``stats``, ``figures``, ``compare``: the real-vs-synthetic page (``templates/compare.html.j2``);
- ``rules``: helpers of workflow/rules/eda.smk.

The Snakemake adapters are in ``privsynth.jobs.eda``.
"""

from .compare import comparison_page
from .figures import correlation_figure, marginals_figure
from .notebook import eda_report, eda_reports, shared_kernel, synthetic_settings
from .offline import live_content, make_offline, remote_references
from .rules import batch_rule_name, compare_inputs, compare_links, report_slice, targets
from .sanitize import escape_markdown_html, sanitize_html, sanitize_notebook
from .sections import DEFAULT_SECTIONS, RECORD_SECTIONS, SECTIONS, build_report, select_sections
from .stats import association_matrix, column_summary, cramers_v

__all__ = [
    "DEFAULT_SECTIONS",
    "RECORD_SECTIONS",
    "SECTIONS",
    "association_matrix",
    "batch_rule_name",
    "build_report",
    "column_summary",
    "compare_inputs",
    "compare_links",
    "comparison_page",
    "correlation_figure",
    "cramers_v",
    "eda_report",
    "eda_reports",
    "escape_markdown_html",
    "live_content",
    "make_offline",
    "marginals_figure",
    "remote_references",
    "report_slice",
    "sanitize_html",
    "sanitize_notebook",
    "select_sections",
    "shared_kernel",
    "synthetic_settings",
    "targets",
]
