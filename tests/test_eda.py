"""EDA reports: edvart with plotly>=6 and pandas 3, offline HTML checked in real
headless Chromium with networking disabled, the comparison page, and the rules."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth import eda
from privsynth.errors import ConfigError, PrivsynthError


@pytest.fixture(scope="module")
def wdbc_small() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    df = load_breast_cancer(as_frame=True).frame
    return df[["mean radius", "mean texture", "mean smoothness", "worst area", "target"]].iloc[:200]


def open_offline(chromium: str, page: Path, tmp: Path) -> tuple[str, list[str]]:
    """Load ``page`` in headless Chromium without network; return its DOM and the remote URLs it requested."""
    netlog = tmp / f"{page.stem}.netlog.json"
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp / ('profile-' + page.stem)}",
        # No name resolves and every connection goes to a closed local port.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        f"--log-net-log={netlog}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    # Requests made for the page (its isolation key is the file:// origin), not
    # Chromium's own background traffic (updates, accounts), which has none.
    urls = [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start_job and str(e.get("params", {}).get("network_isolation_key", "")).startswith("file://")
    ]
    remote = [u for u in urls if re.match(r"(https?|wss?|ftp)://", u) and not re.match(r"\w+://(localhost|127\.)", u)]
    return proc.stdout, remote


def assert_structure_renders(dom: str, data_text: tuple[str, ...] = ()) -> str:
    """edvart's own markup works (heading anchors, table CSS) instead of showing as text; the visible text.

    ``data_text``: strings of the data that are expected as text (removed before the check).
    """
    from test_escaping import _Page, _visible

    page = _Page()
    page.feed(dom)
    page.close()
    text = _visible(page)
    for t in data_text:
        text = text.replace(" ".join(t.split()), "")
    assert "<a id=" not in text and "<style" not in text, re.findall(r".{40}<(?:a id=|style).{40}", text)[:3]
    assert not re.search(r"\.dataframe|#T_\w+|width: 10em|vertical-align", text), text[:500]
    assert re.search(r'<a id="[0-9a-f-]{36}"></a>', dom)  # the table of contents' targets are there
    return text


def drawn_plotly_figures(dom: str) -> int:
    # plotly adds js-plotly-plot to a graph div and main-svg layers once it has drawn it.
    return len(re.findall(r'<div[^>]*class="[^"]*\bjs-plotly-plot\b', dom))


def test_sections_selection_and_wide_data() -> None:
    cfg = {"sections": ["pca", "overview", "pairplot"], "wide_columns": 10, "wide_skip": ["pairplot"]}
    assert eda.select_sections(5, cfg) == ["overview", "pairplot", "pca"]  # report order
    assert eda.select_sections(11, cfg) == ["overview", "pca"]
    assert eda.select_sections(11, {**cfg, "wide_columns": None}) == ["overview", "pairplot", "pca"]
    with pytest.raises(ConfigError, match="eda.sections"):
        eda.select_sections(3, {"sections": ["bogus"]})


def test_remote_references_found_and_removed() -> None:
    page = (
        '<html><head><script src="https://cdnjs.cloudflare.com/x.js"></script>'
        '<link rel="stylesheet" href="//cdn.example.org/a.css"><style>b{background:url("https://e.org/i.png")}</style>'
        '</head><body><a href="https://plotly.com/">link</a><script>var s = "<img src=\'https://t.org/\'>";</script>'
        '<img src="data:image/png;base64,AAAA"></body></html>'
    )
    assert eda.remote_references(page) == [
        "//cdn.example.org/a.css",
        "https://cdnjs.cloudflare.com/x.js",
        "https://e.org/i.png",
    ]
    # A remote image in CSS cannot be stripped safely: the report is refused, not written.
    with pytest.raises(PrivsynthError, match="internet"):
        eda.make_offline(page)
    ok = eda.make_offline(page.replace('url("https://e.org/i.png")', "none"))
    assert eda.remote_references(ok) == []
    assert "https://plotly.com/" in ok  # links are kept: they are only followed on click


def test_edvart_report_renders_offline_in_chromium(wdbc_small, chromium, tmp_path) -> None:
    out = tmp_path / "eda.html"
    sections = ["overview", "univariate", "pca_interactive", "parallel_coordinates"]
    info = eda.eda_report(wdbc_small, out, {"sections": sections, "timeout": 600}, title="wdbc small")
    html = out.read_text()
    assert info["sections"] == sections and info["bytes"] == out.stat().st_size
    assert eda.remote_references(html) == []
    assert "cdnjs" not in html and "require.min.js" not in html
    # The notebook's inputs (the pickled report with the data) are not in the page.
    assert "pickle.loads" not in html
    n_figures = html.count("Plotly.newPlot(")
    assert n_figures == 2, n_figures  # PCA scatter + parallel coordinates
    dom, remote = open_offline(chromium, out, tmp_path)
    assert remote == []
    assert drawn_plotly_figures(dom) == n_figures
    assert dom.count('class="main-svg"') >= 2 * n_figures
    assert "Principal Component Analysis" in dom and "mean radius" in dom
    assert "Quick Info" in assert_structure_renders(dom)


def test_cell_timeout_is_a_one_line_error_and_writes_nothing(wdbc_small, tmp_path) -> None:
    out = tmp_path / "eda.html"
    with pytest.raises(PrivsynthError, match="eda.timeout=1 s"):
        eda.eda_report(wdbc_small, out, {"sections": ["pairplot"], "timeout": 1}, title="t")
    assert list(tmp_path.iterdir()) == []


def test_chromium_check_detects_a_remote_script(chromium, tmp_path) -> None:
    # Negative control for the check above: a page needing a CDN is caught.
    page = tmp_path / "cdn.html"
    page.write_text(
        '<html><body><script src="https://cdn.example.org/plotly.min.js"></script>' '<div id="x">ok</div></body></html>'
    )
    dom, remote = open_offline(chromium, page, tmp_path)
    assert remote == ["https://cdn.example.org/plotly.min.js"]
    assert 'id="x"' in dom


def _fake_synthetic(real: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    syn = real.sample(frac=1.0, replace=True, random_state=1).reset_index(drop=True)
    syn["mean radius"] = syn["mean radius"] * rng.normal(1.0, 0.2, len(syn))  # a worse marginal
    syn["target"] = rng.permutation(syn["target"].to_numpy())  # breaks correlations with target
    return syn


def test_comparison_page_draws_offline(wdbc_small, chromium, tmp_path) -> None:
    out = tmp_path / "compare.html"
    res = eda.comparison_page(
        wdbc_small,
        _fake_synthetic(wdbc_small),
        out,
        title="wdbc: real vs synthetic",
        links={"real EDA": "../../data/eda.html"},
    )
    html = out.read_text()
    assert eda.remote_references(html) == []
    assert res["tvd"]["mean radius"] > res["tvd"]["mean texture"]
    assert html.count("Plotly.newPlot(") == 2  # marginals grid + matrices side by side
    dom, remote = open_offline(chromium, out, tmp_path)
    assert remote == []
    assert drawn_plotly_figures(dom) == 2
    assert 'href="../../data/eda.html"' in dom


def test_comparison_page_links_qa_instead_of_redrawing(wdbc_small, tmp_path) -> None:
    out = tmp_path / "compare.html"
    eda.comparison_page(wdbc_small, wdbc_small, out, title="t", qa_report="qa/report.html", positive_control=True)
    html = out.read_text()
    assert 'href="qa/report.html#univariates"' in html and 'href="qa/report.html#correlations"' in html
    assert "Plotly.newPlot(" not in html and "POSITIVE CONTROL" in html
    assert eda.remote_references(html) == []


def test_association_matrix_identical_data_and_independence() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    df = pd.DataFrame({"x": x, "y": 2 * x + 1, "z": rng.normal(size=2000), "c": np.where(x > 0, "a", "b")})
    kinds = {"x": "numeric", "y": "numeric", "z": "numeric", "c": "categorical"}
    m = eda.association_matrix(df, kinds)
    assert m.loc["x", "y"] == pytest.approx(1.0)
    assert m.loc["x", "z"] < 0.1
    assert m.loc["x", "c"] > 0.5 > m.loc["z", "c"]


def test_pipeline_builds_reports_and_pages(snakemake_runner, tmp_path) -> None:
    from conftest import tiny_config

    cfg = tiny_config(wdbc={"source": {"kind": "wdbc"}, "max_rows": 150, "generators": {"copy": {"default": {}}}})
    cfg["eda"] = {"sections": ["overview"]}
    snakemake_runner(cfg)
    res = tmp_path / "results" / "wdbc"
    for page in (res / "data/eda.html", res / "copy/default/eda.html", res / "copy/default/compare.html"):
        assert eda.remote_references(page.read_text()) == [], page
    assert "POSITIVE CONTROL" in (res / "copy/default/eda.html").read_text()
    compare = (res / "copy/default/compare.html").read_text()
    # QA is off in this config: the page draws marginals and matrices itself.
    assert compare.count("Plotly.newPlot(") == 2 and 'href="../../data/eda.html"' in compare
    log = (tmp_path / "results/logs/eda/wdbc/data.log").read_text()
    assert "sections: overview" in log and "EDA report:" in log
    # Turning the comparison pages off reruns no EDA job (only the report page,
    # which links every artefact, is rewritten); turning EDA off drops them.
    cfg["eda"]["compare"] = False
    dry = snakemake_runner(cfg, "-n").stdout
    assert "rule eda_" not in dry and "rule report:" in dry, dry[-3000:]
    cfg["eda"] = {"enabled": False, "compare": False}
    dry = snakemake_runner(cfg, "-n", "--forceall").stdout
    assert "eda_real" not in dry and "eda_synthetic" not in dry and "eda_compare" not in dry


def test_unknown_section_is_a_config_error(snakemake_runner) -> None:
    from conftest import tiny_config

    cfg = tiny_config(wdbc={"source": {"kind": "wdbc"}})
    cfg["eda"] = {"sections": ["overview", "histograms"]}
    proc = snakemake_runner(cfg, "-n", check=False)
    assert proc.returncode != 0
    assert "histograms" in proc.stdout + proc.stderr


def test_reports_share_one_kernel_and_each_stays_self_contained(wdbc_small, chromium, tmp_path) -> None:
    # eda.batch: all synthetic sets of a dataset through one kernel; plotly.js must
    # still be inlined in every page, not only in the first the kernel rendered.
    settings = {"sections": ["overview", "parallel_coordinates"], "timeout": 600}
    outs = [tmp_path / "first.html", tmp_path / "second.html"]
    items = [(wdbc_small, outs[0], "first", ""), (wdbc_small.iloc[:80], outs[1], "second", "")]
    done = eda.eda_reports(items, settings)
    assert [d["rows"] for d in done] == [200, 80]
    for out in outs:
        html = out.read_text()
        assert eda.remote_references(html) == [] and "pickle.loads" not in html
        assert html.count("Plotly.newPlot(") == 1, out
    dom, remote = open_offline(chromium, outs[1], tmp_path)
    assert remote == [] and drawn_plotly_figures(dom) == 1
    assert_structure_renders(dom)  # the synthetic sets' pages (eda.batch) too


def test_synthetic_reports_use_the_lighter_sections() -> None:
    cfg = {
        "eda": {
            "sections": ["overview", "pairplot"],
            "synthetic_sections": ["overview"],
            "wide_columns": 20,
            "wide_skip": [],
            "max_rows": None,
            "timeout": 60,
        }
    }
    assert "synthetic_sections" not in eda.report_slice(cfg)  # the real report ignores them
    assert eda.synthetic_settings(eda.report_slice(cfg, synthetic=True))["sections"] == ["overview"]
    assert eda.synthetic_settings({"sections": ["pca"], "synthetic_sections": None})["sections"] == ["pca"]
