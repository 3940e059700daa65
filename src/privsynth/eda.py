"""Exploratory data analysis reports (edvart) that render offline, and a compact
real-vs-synthetic comparison page.

edvart executes a notebook through a Jupyter kernel on loopback and converts it
to HTML with nbconvert.  Two things in that HTML would be fetched from the
internet when the report is opened: require.js/MathJax from the nbconvert
template and MathJax from plotly's notebook renderer.  Neither is needed (plotly
itself is inlined, edvart draws no LaTeX), so they are removed and the result is
checked: a report that still references a remote script is an error, not a file.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError, PrivsynthError
from .io import atomic_path, write_text

log = logging.getLogger(__name__)

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


# --- offline HTML -------------------------------------------------------------

_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.I)
# <script src="https://..."></script> as written by nbconvert's template and plotly.
_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)
# nbconvert's loader that imports mermaid from cdnjs when a page has diagrams (edvart draws none).
_MERMAID_LOADER = re.compile(r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>", re.S)
# Attributes whose URL the browser fetches on its own (an <a href> is only followed on click).
_FETCHED = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "audio": ("src",),
    "video": ("src", "poster"),
    "link": ("href",),
    "input": ("src",),
}


class _FetchCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in _FETCHED.get(tag, ()):
                self.urls.append(value)
            elif value and name == "style" and "url(" in value:
                self.urls.extend(re.findall(r"url\(\s*['\"]?([^'\")]+)", value))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        # CSS in <style> blocks: @import and url(...) are fetched too.
        if self.lasttag == "style":
            self.urls.extend(re.findall(r"url\(\s*['\"]?([^'\")]+)", data))
            self.urls.extend(re.findall(r"@import\s+['\"]([^'\"]+)", data))


def remote_references(html: str) -> list[str]:
    """URLs on other hosts that a browser would fetch to display ``html`` (tags and CSS, not JS strings)."""
    parser = _FetchCollector()
    parser.feed(html)
    parser.close()
    return sorted({u for u in parser.urls if _REMOTE.match(u)})


def make_offline(html: str) -> str:
    """Remove remote <script src>/<link href> tags and the mermaid loader; raise if any remote reference remains."""
    out = _REMOTE_SCRIPT.sub("", html)
    out = _MERMAID_LOADER.sub("", out)
    out = _REMOTE_LINK.sub("", out)
    left = remote_references(out)
    if left:
        raise PrivsynthError(f"report would fetch {left[:3]} from the internet; not writing it")
    return out


# --- escaping: nothing from the data becomes markup ---------------------------------
#
# edvart writes column names, category labels and values unescaped into Markdown
# headings (``## *<name> - Categorical*``), HTML tables (pandas Styler, its own
# dict_to_html) and so on: a column named ``<img src=x onerror=...>`` became a
# live handler in eda.html.  Rather than patch every place in edvart, the
# executed notebook's outputs are made inert before they are converted: raw HTML
# in Markdown outputs is escaped, HTML outputs are rebuilt from an allowlist of
# tags and attributes (no scripts, no event handlers, no javascript: URLs), and
# only plotly figures (recognised by their MIME type, which data cannot choose;
# plotly escapes ``<`` in its JSON) keep their script.

# Markup edvart's HTML outputs use; anything else in them came from the data.
_SAFE_TAGS = frozenset(
    "a abbr b br caption code col colgroup dd div dl dt em h1 h2 h3 h4 h5 h6 hr i li ol p pre small span "
    "strong style sub sup table tbody td tfoot th thead tr u ul".split()
)
_VOID_TAGS = frozenset({"br", "col", "hr"})
_SAFE_ATTRS = frozenset(
    "class id style title colspan rowspan align valign width height border cellpadding cellspacing scope "
    "href".split()
)
_UNSAFE_CSS = re.compile(r"url\s*\(|expression\s*\(|javascript:|@import|behavior\s*:|-moz-binding|</|<", re.I)


class _Sanitizer(HTMLParser):
    """Re-serialise HTML: allowlisted tags with allowlisted attributes pass, everything else is text.

    A tag that is not on the list, or that carries any other attribute (an event
    handler, a foreign link, CSS that loads something), is written out escaped, so
    a column named ``<img src=x onerror=...>`` reads as exactly that.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    @staticmethod
    def _attr_ok(name: str, value: str) -> bool:
        if name not in _SAFE_ATTRS:
            return False
        if name == "href":
            return value.strip().startswith("#")  # links within the page only
        if name == "style":
            return not _UNSAFE_CSS.search(value)
        return True

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> str | None:
        if tag not in _SAFE_TAGS or not all(self._attr_ok(n.lower(), v or "") for n, v in attrs):
            return None
        return "".join(f' {n.lower()}="{html_lib.escape(v or "", quote=True)}"' for n, v in attrs)

    def _as_text(self) -> None:
        self.out.append(html_lib.escape(self.get_starttag_text() or "", quote=False))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = self._tag(tag, attrs)
        if a is None:
            self._as_text()
            return
        self.out.append(f"<{tag}{a}>")
        if tag not in _VOID_TAGS:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = self._tag(tag, attrs)
        if a is None:
            self._as_text()
            return
        self.out.append(f"<{tag}{a}>" + ("" if tag in _VOID_TAGS else f"</{tag}>"))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open:
                t = self.open.pop()
                self.out.append(f"</{t}>")
                if t == tag:
                    break
        elif tag not in _SAFE_TAGS:
            self.out.append(html_lib.escape(f"</{tag}>", quote=False))

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "style" and self.cdata_elem == "style":
            # CSS from pandas' Styler (ids and properties); nothing else may pass as CSS.
            if not _UNSAFE_CSS.search(data):
                self.out.append(data)
            return
        self.out.append(html_lib.escape(data, quote=False))

    def handle_comment(self, data: str) -> None:
        self.out.append(html_lib.escape(f"<!--{data}-->", quote=False))

    def handle_decl(self, decl: str) -> None:
        self.out.append(html_lib.escape(f"<!{decl}>", quote=False))

    def handle_pi(self, data: str) -> None:
        self.out.append(html_lib.escape(f"<?{data}>", quote=False))

    def unknown_decl(self, data: str) -> None:
        self.out.append(html_lib.escape(f"<![{data}]>", quote=False))

    def close_all(self) -> str:
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out)


def sanitize_html(fragment: str) -> str:
    """``fragment`` with every script, event handler and foreign URL removed (text escaped)."""
    parser = _Sanitizer()
    parser.feed(fragment)
    return parser.close_all()


def escape_markdown_html(text: str) -> str:
    """Markdown with its raw HTML made literal text (``<`` ``>`` ``&`` as entities)."""
    return html_lib.escape(text, quote=False)


# MIME types kept in outputs of the cell that renders the data.
_PLOTLY_MIME = "application/vnd.plotly.v1+json"
_SAFE_MIMES = ("text/plain", "image/png", "image/jpeg")


def sanitize_notebook(nb: Any, data_cells: Sequence[int]) -> None:
    """Make the outputs of the code cells ``data_cells`` (which print the data) inert, in place."""
    for i in data_cells:
        for output in nb["cells"][i].get("outputs", []):
            data = output.get("data")
            if not data:
                continue  # stream / error outputs: nbconvert escapes their text
            clean: dict[str, Any] = {k: v for k, v in data.items() if k in _SAFE_MIMES}
            if _PLOTLY_MIME in data and "text/html" in data:
                clean["text/html"] = data["text/html"]  # written by plotly.io, JSON-escaped
            elif "text/html" in data and _is_plotly_init(_text(data["text/html"])):
                clean["text/html"] = data["text/html"]  # plotly.js itself, inlined once
            elif "text/html" in data:
                clean["text/html"] = sanitize_html(_text(data["text/html"]))
            if "text/markdown" in data:
                clean["text/markdown"] = escape_markdown_html(_text(data["text/markdown"]))
            output["data"] = clean
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = escape_markdown_html(_text(cell["source"]))


_PLOTLY_INIT = re.compile(r"\s*<script>\s*(window\.PlotlyConfig[^<]*)</script>\s*<script>(.*)</script>\s*", re.S)


def _is_plotly_init(html: str) -> bool:
    """Whether ``html`` is exactly plotly's notebook initialisation: its config and plotly.js."""
    m = _PLOTLY_INIT.fullmatch(html)
    if not m:
        return False
    from plotly.offline import get_plotlyjs

    return m.group(2) == get_plotlyjs()


def _text(v: Any) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


_HANDLER_ATTR = re.compile(r"^on[a-z]+$")


class _LiveCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if _HANDLER_ATTR.match(name):
                self.found.append(f"<{tag} {name}=...>")
            elif name in ("href", "src", "action", "formaction", "xlink:href", "data") and (
                value or ""
            ).strip().lower().startswith(("javascript:", "vbscript:")):
                self.found.append(f"<{tag} {name}=javascript:...>")
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self.scripts:
            self.scripts[-1] += data


def live_content(html: str) -> tuple[list[str], list[str]]:
    """Event-handler attributes and javascript: URLs in ``html``, and the text of every <script>."""
    parser = _LiveCollector()
    parser.feed(html)
    parser.close()
    return parser.found, parser.scripts


def _run_sanitized(nb: Any, timeout: int, km: Any = None) -> str:
    """Execute an edvart report notebook (in ``km`` if given), sanitize its outputs, return the HTML."""
    import nbconvert

    renderer = "pio.renderers.default = 'notebook'"
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    # Every code cell but the one that loads plotly.js (data-independent) can print data.
    data_cells = [i for i in code if nb["cells"][i]["source"].strip() != renderer]
    for i in code:
        if nb["cells"][i]["source"].strip() == renderer:
            # Figures then carry plotly's MIME type besides their HTML: how they are recognised.
            nb["cells"][i]["source"] = "pio.renderers.default = 'plotly_mimetype+notebook'"
    if km is None:
        from nbconvert.preprocessors import ExecutePreprocessor

        ExecutePreprocessor(timeout=timeout).preprocess(nb, {"metadata": {}})
    else:
        from nbclient import NotebookClient

        NotebookClient(nb, km=km, timeout=timeout).execute()
    sanitize_notebook(nb, data_cells)
    return nbconvert.HTMLExporter(exclude_input=True).from_notebook_node(nb)[0]


def _export_html_inert(report: Any, html_path: str, dataset_name: str, dataset_description: str, timeout: int) -> None:
    """edvart's ``export_html`` with the executed notebook sanitized before conversion."""
    from unittest import mock

    def export(self: Any, nb: Any, html_filepath: str, timeout: int = 120, **_: Any) -> None:
        Path(html_filepath).write_text(_run_sanitized(nb, timeout), encoding="utf-8")

    saved = os.environ.get("PYDEVD_DISABLE_FILE_VALIDATION")
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # as edvart: no debugger warning from frozen modules
    try:
        with mock.patch.object(type(report), "_export_html", export):
            report.export_html(
                html_path, dataset_name=dataset_name, dataset_description=dataset_description, timeout=timeout
            )
    finally:
        if saved is None:
            os.environ.pop("PYDEVD_DISABLE_FILE_VALIDATION", None)
        else:
            os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = saved


# --- edvart report ------------------------------------------------------------


@contextlib.contextmanager
def _private_jupyter(threads: int) -> Iterator[None]:
    """Run the kernel with this Python and no user Jupyter/IPython configuration.

    A user's own ``python3`` kernelspec (``ipykernel install --user``) would win
    over this environment's, and run the notebook in another Python.
    """
    keys = ("JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR",
            "IPYTHONDIR", "OMP_NUM_THREADS", "MPLBACKEND")  # fmt: skip
    saved = {k: os.environ.get(k) for k in keys}
    with tempfile.TemporaryDirectory(prefix="privsynth-eda-") as tmp:
        spec = Path(tmp, "data", "kernels", "python3")
        spec.mkdir(parents=True)
        kernel = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "privsynth",
            "language": "python",
        }
        (spec / "kernel.json").write_text(json.dumps(kernel))
        os.environ.update(
            JUPYTER_PATH=str(Path(tmp, "data")),
            JUPYTER_DATA_DIR=str(Path(tmp, "data")),
            JUPYTER_RUNTIME_DIR=str(Path(tmp, "runtime")),
            JUPYTER_CONFIG_DIR=str(Path(tmp, "config")),
            IPYTHONDIR=str(Path(tmp, "ipython")),
            OMP_NUM_THREADS=str(max(1, threads)),
        )
        os.environ.pop("MPLBACKEND", None)  # the kernel picks its inline backend
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@contextlib.contextmanager
def shared_kernel(threads: int = 1) -> Iterator[Any]:
    """One Jupyter kernel for several reports (``eda_report(..., kernel=km)``).

    Starting a kernel and importing edvart, matplotlib, seaborn and plotly in it
    is most of a small report's cost; the reports of all synthetic sets of a
    dataset share one (``eda_reports``).
    """
    from jupyter_client.manager import KernelManager

    with _private_jupyter(threads):
        os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # as edvart does: no debugger warning
        km = KernelManager(kernel_name="python3")
        km.start_kernel()
        try:
            yield km
        finally:
            km.shutdown_kernel(now=True)


def _report_notebook(report: Any, title: str, description: str) -> Any:
    """The notebook edvart's ``Report.export_html`` executes: the pickled report, then ``report.show()``."""
    import base64
    import pickle

    import nbformat.v4 as nbf4

    data = base64.b85encode(pickle.dumps(report, fix_imports=False))
    nb = nbf4.new_notebook()
    nb["cells"].append(nbf4.new_markdown_cell(f"# {html_lib.escape(title)} Report\n{html_lib.escape(description)}"))
    for code in (
        "import base64",
        "import pickle",
        f"data = {data!r}\nreport = pickle.loads(base64.b85decode(data), fix_imports=False)",
        "import plotly.io as pio",
        "pio.renderers.default = 'notebook'",
        "report.show()",
    ):
        nb["cells"].append(nbf4.new_code_cell(code))
    return nb


def _export_in_kernel(report: Any, raw: Path, title: str, description: str, timeout: int, km: Any) -> None:
    """``report.export_html`` in an already running kernel (same notebook, same sanitizing exporter)."""
    nb = _report_notebook(report, title, description)
    raw.write_text(_run_sanitized(nb, timeout, km) + "\n", encoding="utf-8")


def eda_report(
    df: pd.DataFrame,
    out_html: str | os.PathLike[str],
    settings: Mapping[str, Any],
    title: str,
    description: str = "",
    threads: int = 1,
    kernel: Any = None,
) -> dict[str, Any]:
    """Write an offline edvart report of ``df``; return what was done (sections, seconds, bytes).

    ``kernel``: a running kernel manager (``shared_kernel``) to execute the report
    in; None = edvart starts and stops one for this report.
    """
    import warnings

    sections = select_sections(df.shape[1], settings)
    if not sections:
        raise ConfigError("eda.sections: no section left to render; enable at least one or set eda.enabled: false")
    max_rows = settings.get("max_rows")
    if max_rows and len(df) > max_rows:
        log.info("subsampling %d of %d rows (eda.max_rows)", max_rows, len(df))
        df = df.sample(n=max_rows, random_state=0)
        description = f"{description} Random sample of {max_rows} of the rows (eda.max_rows).".strip()
    # The row id is an artefact of the split, not a variable.
    df = df.reset_index(drop=True)
    log.info("edvart report of %d rows x %d columns, sections: %s", len(df), df.shape[1], ", ".join(sections))
    report = build_report(df, sections)
    timeout = int(settings.get("timeout", 3600))
    t0 = time.perf_counter()
    own_kernel = _private_jupyter(threads) if kernel is None else contextlib.nullcontext()
    with atomic_path(out_html) as tmp, own_kernel, warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        raw = tmp.with_name(tmp.name + ".raw.html")
        try:
            if kernel is None:
                _export_html_inert(report, str(raw), title, description, timeout)
            else:
                _export_in_kernel(report, raw, title, description, timeout, kernel)
            html = raw.read_text(encoding="utf-8")
        except Exception as exc:
            if type(exc).__name__ in ("CellTimeoutError", "TimeoutError"):
                raise PrivsynthError(
                    f"edvart report cell ran longer than eda.timeout={timeout} s; raise it, "
                    "drop costly eda.sections or set eda.max_rows"
                ) from None
            if type(exc).__name__ == "CellExecutionError":
                cause = str(exc).strip().splitlines()[-1] if str(exc).strip() else "error"
                raise PrivsynthError(f"edvart report failed in the notebook: {cause}") from None
            raise
        finally:
            raw.unlink(missing_ok=True)
        html = make_offline(html)
        live, _ = live_content(html)
        if live:
            raise PrivsynthError(f"report would contain live content {live[:3]}; not writing it")
        tmp.write_text(html, encoding="utf-8")
        size = tmp.stat().st_size
    seconds = time.perf_counter() - t0
    log.info("EDA report: %.1f s, %.1f MB, sections %s", seconds, size / 1e6, sections)
    return {"seconds": round(seconds, 2), "bytes": size, "sections": sections, "rows": len(df)}


def synthetic_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Report settings for synthetic sets: ``synthetic_sections`` (if set) instead of ``sections``."""
    out = dict(settings)
    if settings.get("synthetic_sections"):
        out["sections"] = list(settings["synthetic_sections"])
    return out


def eda_reports(
    items: Sequence[tuple[pd.DataFrame, str | os.PathLike[str], str, str]],
    settings: Mapping[str, Any],
    threads: int = 1,
) -> list[dict[str, Any]]:
    """Several reports ``(df, out_html, title, description)`` through ONE Jupyter kernel."""
    done = []
    t0 = time.perf_counter()
    with shared_kernel(threads) as km:
        log.info("kernel started in %.1f s", time.perf_counter() - t0)
        for df, out_html, title, description in items:
            done.append(eda_report(df, out_html, settings, title, description, threads, kernel=km))
    log.info("%d EDA reports in %.1f s (one kernel)", len(done), time.perf_counter() - t0)
    return done


# --- real vs synthetic ----------------------------------------------------------


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _categorical_like(real: pd.Series, max_levels: int) -> bool:
    return not _is_numeric(real) or real.nunique(dropna=True) <= max_levels


def _tvd_categorical(a: pd.Series, b: pd.Series) -> float:
    pa = a.astype("object").where(a.notna(), "(missing)").value_counts(normalize=True)
    pb = b.astype("object").where(b.notna(), "(missing)").value_counts(normalize=True)
    idx = pa.index.union(pb.index)
    return float(0.5 * (pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).abs().sum())


def _bins(real: pd.Series, n: int = 30) -> np.ndarray:
    lo, hi = np.nanquantile(real.to_numpy(float), [0.005, 0.995])
    if not np.isfinite(lo) or not np.isfinite(hi) or lo == hi:
        lo, hi = float(real.min()), float(real.max()) + 1.0
    return np.linspace(lo, hi, n + 1)


def _tvd_numeric(a: pd.Series, b: pd.Series, edges: np.ndarray) -> float:
    # Outside values go to the edge bins so every row counts.
    ca = np.histogram(np.clip(a.dropna().to_numpy(float), edges[0], edges[-1]), edges)[0]
    cb = np.histogram(np.clip(b.dropna().to_numpy(float), edges[0], edges[-1]), edges)[0]
    pa = np.append(ca, a.isna().sum()) / max(len(a), 1)
    pb = np.append(cb, b.isna().sum()) / max(len(b), 1)
    return float(0.5 * np.abs(pa - pb).sum())


def column_summary(real: pd.DataFrame, syn: pd.DataFrame, max_levels: int = 20) -> pd.DataFrame:
    """Per-column real vs synthetic statistics, with the total variation distance of the marginal."""
    rows = []
    for col in real.columns:
        r, s = real[col], syn[col] if col in syn else pd.Series(dtype=real[col].dtype)
        row: dict[str, Any] = {"column": col, "missing real": r.isna().mean(), "missing synthetic": s.isna().mean(),
                               "distinct real": r.nunique(), "distinct synthetic": s.nunique()}  # fmt: skip
        if _categorical_like(r, max_levels):
            row["kind"] = "categorical"
            row["TVD"] = _tvd_categorical(r, s)
            top = r.astype("object").mode()
            if len(top):
                row["top value"] = str(top.iloc[0])
                row["top share real"] = float((r == top.iloc[0]).mean())
                row["top share synthetic"] = float((s.astype("object") == top.iloc[0]).mean())
        else:
            row["kind"] = "numeric"
            row["TVD"] = _tvd_numeric(r, pd.to_numeric(s, errors="coerce"), _bins(r))
            sn = pd.to_numeric(s, errors="coerce")
            row.update({"mean real": r.mean(), "mean synthetic": sn.mean(),
                        "std real": r.std(), "std synthetic": sn.std()})  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def _marginal_traces(r: pd.Series, s: pd.Series, categorical: bool, max_categories: int) -> tuple[list, list]:
    import plotly.graph_objects as go

    if categorical:
        rv = r.astype("object").where(r.notna(), "(missing)").astype(str)
        sv = s.astype("object").where(s.notna(), "(missing)").astype(str)
        pr, ps = rv.value_counts(normalize=True), sv.value_counts(normalize=True)
        cats = list(pr.index[:max_categories])
        other_r, other_s = 1 - pr.reindex(cats, fill_value=0).sum(), 1 - ps.reindex(cats, fill_value=0).sum()
        x = [*cats, *(["(other)"] if len(pr) > max_categories or other_s > 1e-12 else [])]
        yr = [*pr.reindex(cats, fill_value=0), *([other_r] if len(x) > len(cats) else [])]
        ys = [*ps.reindex(cats, fill_value=0), *([other_s] if len(x) > len(cats) else [])]
        return [go.Bar(x=x, y=yr, name="real", marker_color="#1f77b4", opacity=0.6, legendgroup="real",
                       showlegend=False),
                go.Bar(x=x, y=ys, name="synthetic", marker_color="#ff7f0e", opacity=0.6, legendgroup="syn",
                       showlegend=False)], x  # fmt: skip
    edges = _bins(r)
    centers = (edges[:-1] + edges[1:]) / 2
    hr = np.histogram(np.clip(r.dropna().to_numpy(float), edges[0], edges[-1]), edges)[0] / max(len(r), 1)
    sn = pd.to_numeric(s, errors="coerce").dropna().to_numpy(float)
    hs = np.histogram(np.clip(sn, edges[0], edges[-1]), edges)[0] / max(len(s), 1)
    return [go.Scatter(x=centers, y=hr, mode="lines", line_shape="hvh", name="real", line_color="#1f77b4",
                       fill="tozeroy", legendgroup="real", showlegend=False),
            go.Scatter(x=centers, y=hs, mode="lines", line_shape="hvh", name="synthetic", line_color="#ff7f0e",
                       legendgroup="syn", showlegend=False)], []  # fmt: skip


def marginals_figure(real: pd.DataFrame, syn: pd.DataFrame, summary: pd.DataFrame, max_categories: int = 12) -> Any:
    """All marginals in one grid, real and synthetic overlaid (shares of rows)."""
    from plotly.subplots import make_subplots

    cols = list(real.columns)
    ncols = 4
    nrows = -(-len(cols) // ncols)
    tvd = dict(zip(summary["column"], summary["TVD"], strict=True))
    kind = dict(zip(summary["column"], summary["kind"], strict=True))
    titles = [f"{c} (TVD {tvd[c]:.3f})" for c in cols]
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=titles, vertical_spacing=min(0.3 / max(nrows, 1), 0.08))
    for i, c in enumerate(cols):
        traces, _ = _marginal_traces(real[c], syn[c], kind[c] == "categorical", max_categories)
        for t in traces:
            fig.add_trace(t, row=i // ncols + 1, col=i % ncols + 1)
    fig.data[0].showlegend = True
    fig.data[1].showlegend = True
    # Legend in the top margin (container coordinates), clear of the subplot titles.
    fig.update_layout(height=230 * nrows + 100, barmode="overlay", margin=dict(t=80, l=30, r=10, b=30),
                      legend=dict(orientation="h", yref="container", y=0.995, yanchor="top", x=0))  # fmt: skip
    fig.update_annotations(font_size=11)
    fig.update_xaxes(tickfont_size=9)
    fig.update_yaxes(tickfont_size=9, tickformat=".0%")
    return fig


def association_matrix(df: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """|Spearman| between numeric columns, Cramér's V otherwise (values in [0, 1])."""
    cols = list(df.columns)
    # Integer codes once per column (numeric columns as deciles) so each pair is one bincount.
    codes = {c: _codes(df[c], kinds[c] == "numeric") for c in cols}
    m = pd.DataFrame(np.eye(len(cols)), index=cols, columns=cols)
    num = [c for c in cols if kinds[c] == "numeric"]
    if len(num) > 1:
        sp = df[num].apply(pd.to_numeric, errors="coerce").corr(method="spearman").abs()
        m.loc[num, num] = sp.to_numpy()
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            if kinds[a] == "numeric" and kinds[b] == "numeric":
                continue
            m.loc[a, b] = m.loc[b, a] = _cramers_v(*codes[a], *codes[b])
    return m.fillna(0.0)


def _codes(s: pd.Series, numeric: bool) -> tuple[np.ndarray, int]:
    if numeric:
        x = pd.to_numeric(s, errors="coerce")
        try:
            s = pd.qcut(x, 10, duplicates="drop")
        except ValueError:
            s = x
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes)  # missing values are a level of their own
    return codes.astype(np.int64), len(uniques) + 1


def _cramers_v(a: np.ndarray, ka: int, b: np.ndarray, kb: int) -> float:
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    n = table.sum()
    if n == 0 or min(table.shape) < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / n / (min(table.shape) - 1)))


def correlation_figure(real: pd.DataFrame, syn: pd.DataFrame, kinds: Mapping[str, str]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    mr, ms = association_matrix(real, kinds), association_matrix(syn, kinds)
    cols = list(mr.columns)
    fig = make_subplots(rows=1, cols=3, subplot_titles=["real", "synthetic", "|synthetic - real|"],
                        horizontal_spacing=0.04, shared_yaxes=True)  # fmt: skip
    for j, (z, scale) in enumerate([(mr, "Blues"), (ms, "Blues"), ((ms - mr).abs(), "Reds")], start=1):
        fig.add_trace(go.Heatmap(z=z.to_numpy(), x=cols, y=cols, zmin=0, zmax=1, colorscale=scale,
                                 showscale=j >= 2, colorbar=dict(x=1.0 if j == 3 else 0.64, len=0.9),
                                 hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>"), row=1, col=j)  # fmt: skip
    side = max(300, 22 * len(cols))
    fig.update_layout(height=side + 160, margin=dict(t=40, l=10, r=10, b=10))
    fig.update_yaxes(autorange="reversed", tickfont_size=9)
    fig.update_xaxes(tickfont_size=9, tickangle=45)
    return fig


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px; color: #222; }}
table {{ border-collapse: collapse; font-size: 12px; }}
td, th {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
th {{ background: #f3f3f3; }} td:first-child, th:first-child {{ text-align: left; }}
.warn {{ background: #fde8e8; padding: .5em; border-left: 4px solid #c00; }}
.note {{ color: #555; font-size: 13px; }}
</style>
{plotly_js}
</head><body>
<h1>{title}</h1>
{warning}
<p>Real: training split ({n_real} rows). Synthetic: {n_syn} rows. {links}</p>
<h2 id="summary">Per-column summary</h2>
<p class="note">TVD: total variation distance between the marginals (0 = identical, 1 = disjoint;
numeric columns in 30 bins over the real 0.5-99.5% range, missing values as their own bin).</p>
{table}
{body}
</body></html>
"""


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
    link_items = [
        f'<a href="{html_lib.escape(href)}">{html_lib.escape(label)}</a>' for label, href in (links or {}).items()
    ]
    if qa_report:
        q = html_lib.escape(qa_report)
        body = (
            '<h2 id="marginals">Marginals and correlations</h2>'
            f"<p>Overlaid marginals of every column and correlation matrices side by side are in the "
            f'fidelity report: <a href="{q}#univariates">univariate distributions</a>, '
            f'<a href="{q}#correlations">correlations</a>, <a href="{q}#bivariates">bivariate distributions</a>.</p>'
        )
        plotly_js = ""
    else:
        import plotly.io as pio

        figs = [marginals_figure(real, syn, summary), correlation_figure(real, syn, kinds)]
        divs = [pio.to_html(f, full_html=False, include_plotlyjs=False, include_mathjax=False) for f in figs]
        body = (
            '<h2 id="marginals">Marginals (share of rows; real filled, synthetic line/bars)</h2>'
            + divs[0]
            + '<h2 id="correlations">Associations side by side</h2><p class="note">|Spearman| between numeric '
            "columns, Cramér's V otherwise (numeric columns as deciles).</p>" + divs[1]
        )
        # Inline plotly.js once so the page works without network access.
        from plotly.offline import get_plotlyjs

        plotly_js = f'<script type="text/javascript">{get_plotlyjs()}</script>'
    warning = (
        '<p class="warn">POSITIVE CONTROL: this "synthetic" set is the training data itself.</p>'
        if positive_control
        else ""
    )
    fmt = {c: "{:.3f}".format for c in summary.columns if summary[c].dtype.kind == "f"}
    table = summary.to_html(index=False, na_rep="", formatters=fmt, border=0)
    page = _PAGE.format(
        title=html_lib.escape(title), plotly_js=plotly_js, warning=warning, n_real=len(real), n_syn=len(syn),
        links=" | ".join(link_items), table=table, body=body,
    )  # fmt: skip
    write_text(make_offline(page), out_html)
    log.info("comparison page: %d columns, mean TVD %.3f", len(summary), float(summary["TVD"].mean()))
    return {"tvd_mean": float(summary["TVD"].mean()), "tvd": dict(zip(summary["column"], summary["TVD"], strict=True))}


# --- Snakemake adapters -----------------------------------------------------------


def _synthetic_title(meta: Mapping[str, Any], df: pd.DataFrame) -> tuple[str, str]:
    title = f"{meta['dataset']} / {meta['generator']} / {meta['setting']} (synthetic)"
    description = f"{len(df)} synthetic rows."
    if meta.get("positive_control"):
        description += " POSITIVE CONTROL: these rows are the training data itself."
    return title, description


def eda_job(sm: Any) -> None:
    from .io import read_json

    df = pd.read_parquet(sm.input.data)
    settings = sm.params.eda
    if "metrics" in sm.input.keys():
        title, description = _synthetic_title(read_json(sm.input.metrics), df)
        settings = synthetic_settings(settings)
    else:
        title = f"{sm.wildcards.dataset} training split (real)"
        description = f"{len(df)} real training rows."
    eda_report(df, sm.output.html, settings, title=title, description=description, threads=sm.threads)


def eda_batch_job(sm: Any) -> None:
    """All synthetic sets of a dataset in one job and one kernel (``eda.batch``)."""
    from .io import read_json

    items = []
    for data, metrics, html in zip(sm.input.data, sm.input.metrics, sm.output.html, strict=True):
        df = pd.read_parquet(data)
        items.append((df, html, *_synthetic_title(read_json(metrics), df)))
    eda_reports(items, synthetic_settings(sm.params.eda), threads=sm.threads)


def compare_job(sm: Any) -> None:
    from .io import read_json

    meta = read_json(sm.input.metrics)
    links = dict(sm.params.links)
    qa = None
    if "qa" in sm.input.keys():
        qa = os.path.relpath(sm.input.qa, Path(sm.output.html).parent)
        links["fidelity report"] = qa
    comparison_page(
        pd.read_parquet(sm.input.train),
        pd.read_parquet(sm.input.synthetic),
        sm.output.html,
        title=f"{meta['dataset']} / {meta['generator']} / {meta['setting']}: real vs synthetic",
        links=links,
        qa_report=qa,
        positive_control=bool(meta.get("positive_control")),
    )


# --- rule helpers (workflow/rules/eda.smk) -------------------------------------------

_REPORT_KEYS = ("sections", "synthetic_sections", "wide_columns", "wide_skip", "max_rows", "timeout")


def report_slice(config: Mapping[str, Any], synthetic: bool = False) -> dict[str, Any]:
    """The part of ``eda`` that changes a report: toggling eda.compare reruns no report."""
    return {k: config["eda"].get(k) for k in _REPORT_KEYS if synthetic or k != "synthetic_sections"}


def batch_rule_name(dataset: str) -> str:
    """``eda_synthetic_<dataset>``: the rule that reports on every synthetic set of a dataset."""
    return "eda_synthetic_" + re.sub(r"\W", "_", dataset)


def compare_inputs(config: Mapping[str, Any], dataset: str, generator: str, setting: str) -> dict[str, str]:
    d = f"results/{dataset}/{generator}/{setting}"
    inputs = {
        "train": f"results/{dataset}/data/train.parquet",
        "synthetic": f"{d}/synthetic.parquet",
        "metrics": f"{d}/metrics.json",
    }
    # Reuse the fidelity report's marginals and correlation matrices when there is one.
    if config["qa"]["enabled"]:
        inputs["qa"] = f"{d}/qa/report.html"
    return inputs


def compare_links(config: Mapping[str, Any]) -> dict[str, str]:
    """Links from compare.html to the EDA reports the config builds (relative paths)."""
    e = config["eda"]
    links = {"real EDA": "../../data/eda.html"} if e["enabled"] else {}
    if e["enabled"] and e["synthetic"]:
        links["synthetic EDA"] = "eda.html"
    return links


def targets(config: Mapping[str, Any], datasets: Sequence[str], cell_dirs: Sequence[str]) -> list[str]:
    e = config["eda"]
    out: list[str] = []
    if e["enabled"]:
        out += [f"results/{ds}/data/eda.html" for ds in datasets]
        if e["synthetic"]:
            out += [f"{d}/eda.html" for d in cell_dirs]
    if e["compare"]:
        out += [f"{d}/compare.html" for d in cell_dirs]
    return out
