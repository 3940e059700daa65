"""edvart reports that render offline: the notebook executed in a private Jupyter kernel, its outputs
sanitized (``sanitize``), the HTML checked for remote references and live content (``offline``).

edvart executes a notebook through a Jupyter kernel on loopback and converts it
to HTML with nbconvert.  Two things in that HTML would be fetched from the
internet when the report is opened: require.js/MathJax from the nbconvert
template and MathJax from plotly's notebook renderer.  Neither is needed (plotly
itself is inlined, edvart draws no LaTeX), so they are removed and the result is
checked: a report that still references a remote script is an error, not a file.
"""

from __future__ import annotations

import base64
import contextlib
import html as html_lib
import json
import logging
import os
import pickle
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd

from ..envvars import environment
from ..errors import ConfigError, PrivsynthError
from ..io import atomic_path
from .offline import live_content, make_offline
from .sanitize import sanitize_notebook
from .sections import build_report, select_sections

log = logging.getLogger("privsynth.eda")


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

    def export(self: Any, nb: Any, html_filepath: str, timeout: int = 120, **_: Any) -> None:
        Path(html_filepath).write_text(_run_sanitized(nb, timeout), encoding="utf-8")

    # as edvart: no debugger warning from frozen modules
    with environment({"PYDEVD_DISABLE_FILE_VALIDATION": "1"}), mock.patch.object(type(report), "_export_html", export):
        report.export_html(
            html_path, dataset_name=dataset_name, dataset_description=dataset_description, timeout=timeout
        )


# --- edvart report ------------------------------------------------------------


@contextlib.contextmanager
def _private_jupyter(threads: int) -> Iterator[None]:
    """Run the kernel with this Python and no user Jupyter/IPython configuration.

    A user's own ``python3`` kernelspec (``ipykernel install --user``) would win
    over this environment's, and run the notebook in another Python.
    """
    with tempfile.TemporaryDirectory(prefix="privsynth-eda-") as tmp:
        spec = Path(tmp, "data", "kernels", "python3")
        spec.mkdir(parents=True)
        kernel = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "privsynth",
            "language": "python",
        }
        (spec / "kernel.json").write_text(json.dumps(kernel))
        private = {
            "JUPYTER_PATH": str(Path(tmp, "data")),
            "JUPYTER_DATA_DIR": str(Path(tmp, "data")),
            "JUPYTER_RUNTIME_DIR": str(Path(tmp, "runtime")),
            "JUPYTER_CONFIG_DIR": str(Path(tmp, "config")),
            "IPYTHONDIR": str(Path(tmp, "ipython")),
            "OMP_NUM_THREADS": str(max(1, threads)),
            "MPLBACKEND": None,  # the kernel picks its inline backend
        }
        with environment(private):
            yield


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
