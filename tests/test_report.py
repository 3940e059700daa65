"""The report page: built by the real workflow and by the report functions, loaded
in headless Chromium with networking off."""

from __future__ import annotations

import json
import math
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest
from conftest import load_test_config

from privsynth import report

# --- headless Chromium --------------------------------------------------------------


def dump_dom(chromium: str, page: Path, tmp_path: Path, fragment: str = "") -> str:
    """The DOM after scripts ran, as Chromium sees it, with every network request refused."""
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.resolve().as_uri() + fragment,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Script errors reach the console log; the page's own JS must have none.
    errors = [ln for ln in proc.stderr.splitlines() if "Uncaught" in ln]
    assert not errors, errors
    return proc.stdout


class Page(HTMLParser):
    """Tables (rows of cells with their attributes), links, images, inline SVGs."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.svgs = 0
        self.svg_text: list[str] = []
        self.alarm = False
        self._table: str | None = None
        self._row: dict | None = None
        self._cell: dict | None = None
        self._in_svg = 0
        self._in_thead = False
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "thead":
            self._in_thead = True
        elif tag == "tr" and self._table and not self._in_thead:
            self._row = {"class": a.get("class", ""), "cells": []}
        elif tag == "td" and self._row is not None:
            self._cell = {"sort": a.get("data-sort"), "text": ""}
        elif tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        elif tag in ("img", "script", "link", "iframe") and (a.get("src") or a.get("href")):
            self.srcs.append(a.get("src") or a.get("href"))
        elif tag == "svg":
            self._in_svg += 1
            self.svgs += self._in_svg == 1
        elif tag == "div" and a.get("id") == "contradictions":
            self.alarm = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_thead = False
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "svg":
            self._in_svg -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["text"] += data
        if self._in_svg:
            self.svg_text.append(data)


def check_links(page: Page, html_path: Path) -> None:
    assert page.hrefs, "the page links to no artefact"
    for href in page.hrefs:
        u = urlparse(href)
        assert not u.scheme and not u.netloc, f"non-local link {href}"
        target = (html_path.parent / unquote(u.path)).resolve()
        assert target.is_file(), f"broken link {href}"
    # Self-contained: nothing is loaded from anywhere (plots are inline SVG).
    assert not page.srcs, page.srcs


# --- unit: a fabricated summary with a contradicting row -------------------------------


def fabricated_summary() -> pd.DataFrame:
    base = {"dataset": "toy", "train_rows": 100, "rows": 100, "runtime_seconds": 1.0, "delta": 1e-5}
    rows = [
        # The DP claim holds: audited lower bound below the accountant's epsilon.
        {"generator": "dpgen", "setting": "eps1", "epsilon": 1.0, "audit_epsilon_lb_worst": 0.4},
        # The contradiction: audited lower bound 2.5 above the claimed 1.0.
        {"generator": "dpgen", "setting": "eps1_broken", "epsilon": 1.0, "audit_epsilon_lb_worst": 2.5},
        # Equal values are no contradiction.
        {"generator": "dpgen", "setting": "eps4", "epsilon": 4.0, "audit_epsilon_lb_worst": 4.0},
        # No DP claim: any audited bound is allowed.
        {
            "generator": "copy",
            "setting": "default",
            "epsilon": None,
            "delta": None,
            "audit_epsilon_lb_worst": 9.0,
            "positive_control": True,
        },
        {"generator": "marginals", "setting": "default", "epsilon": None, "delta": None},
    ]
    df = pd.DataFrame([{**base, "positive_control": False, **r} for r in rows])
    df["qa_accuracy_overall"] = [0.8, 0.85, 0.9, 0.98, 0.7]
    df["audit_auc_worst"] = [0.55, 0.7, 0.6, 1.0, np.nan]
    df["label"] = df["generator"] + "/" + df["setting"]
    return df


def test_contradiction_rule() -> None:
    df = report.normalise(fabricated_summary())
    assert df["contradiction"].tolist() == [False, True, False, False, False]
    # Old summaries without audit columns: nothing flagged, metrics n/a.
    plain = report.normalise(fabricated_summary().drop(columns=["audit_epsilon_lb_worst"]))
    assert not plain["contradiction"].any()
    assert plain["audit_epsilon_lb_worst"].isna().all()


def test_mean_ci() -> None:
    m, lo, hi, n = report.mean_ci([1.0, 2.0, 3.0, float("nan")])
    # t(0.975, 2) = 4.302653; sd = 1; half = 4.302653 / sqrt(3)
    assert (m, n) == (2.0, 3)
    assert hi - m == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
    assert m - lo == pytest.approx(hi - m)
    m, lo, hi, n = report.mean_ci([5.0])
    assert (m, n) == (5.0, 1) and math.isnan(lo) and math.isnan(hi)
    assert report.mean_ci([])[3] == 0


def test_report_flags_contradiction(tmp_path: Path, chromium: str) -> None:
    results = tmp_path / "results"
    df = fabricated_summary()
    # Some artefacts exist, others do not: links only to those that exist.
    (results / "toy/copy/default/qa").mkdir(parents=True)
    (results / "toy/copy/default/qa/report.html").write_text("<html>qa</html>")
    (results / "toy/dpgen/eps1_broken/audit").mkdir(parents=True)
    (results / "toy/dpgen/eps1_broken/audit/roc.png").write_bytes(b"\x89PNG")
    (results / "toy/dpgen/eps1_broken/audit/audit.json").write_text("{}")
    (results / "toy/data").mkdir(parents=True)
    (results / "toy/data/eda.html").write_text("<html>eda</html>")
    (results / "toy/mostlyai").mkdir(parents=True)
    pd.DataFrame(
        {
            "setting": ["no_dp", "dp"],
            "accuracy": [0.951, 0.902],
            "runtime": [61.0, 83.0],
            "epsilon": [None, 1.0],
            "delta": [None, 1e-5],
        }
    ).to_csv(results / "toy/mostlyai/comparison.csv", index=False)
    plots = {n: tmp_path / "plots" / f"{n}.svg" for n in report.PLOT_NAMES}
    report.make_plots(report.normalise(df), "toy", plots)
    # The contradiction is flagged in the plot itself, not only in the table.
    assert "AUDIT CONTRADICTS DP CLAIM" in plots["epsilon_vs_audit"].read_text()
    out = results / "report" / "index.html"
    report.render(df, results, out, {"toy": plots})

    page = Page(dump_dom(chromium, out, tmp_path))
    rows = page.tables["summary"]
    assert len(rows) == len(df)
    by_cell = {(r["cells"][1]["text"], r["cells"][2]["text"]): r for r in rows}
    broken = by_cell[("dpgen", "eps1_broken")]
    assert "contradiction" in broken["class"]
    assert "AUDIT CONTRADICTS DP CLAIM" in broken["cells"][4]["text"]
    assert page.alarm
    for ok in (("dpgen", "eps1"), ("dpgen", "eps4"), ("copy", "default"), ("marginals", "default")):
        assert "contradiction" not in by_cell[ok]["class"], ok
    assert [r["cells"][1]["text"] for r in rows if "positive-control" in r["class"]] == ["copy"]
    assert "POSITIVE CONTROL" in by_cell[("copy", "default")]["cells"][4]["text"]
    # A column no step produced (no TPR in this summary) reads n/a everywhere.
    tpr_col = 5 + [c for c, *_ in report.METRICS].index("audit_tpr_at_1pct_fpr_worst")
    assert {r["cells"][tpr_col]["text"] for r in rows} == {"n/a"}
    assert page.svgs == 4  # the headline plot, then the three in "more plots" (the shadow audit ran)
    head = page.tables["headline-toy"]
    assert len(head) == len(df)
    assert "AUDIT CONTRADICTS DP CLAIM" in " ".join(page.svg_text)
    # The MOSTLY AI tutorial table is on the page.
    assert any(
        r["cells"][0]["text"] == "no_dp" and r["cells"][1]["text"] == "0.951" for t in page.tables.values() for r in t
    )
    check_links(page, out)
    hrefs = set(page.hrefs)
    assert "../toy/copy/default/qa/report.html" in hrefs
    assert "../toy/dpgen/eps1_broken/audit/roc.png" in hrefs
    assert "../toy/data/eda.html" in hrefs
    assert "../toy/mostlyai/comparison.csv" in hrefs

    # The sorting script runs: #sort=-epsilon orders by epsilon descending, n/a last.
    sorted_rows = Page(dump_dom(chromium, out, tmp_path, "#sort=-epsilon")).tables["summary"]
    eps_col = 5 + 0  # dataset, generator, setting, runs, flags, then epsilon
    eps = [r["cells"][eps_col]["sort"] for r in sorted_rows]
    assert [float(e) for e in eps if e] == [4.0, 1.0, 1.0]
    assert eps[3:] == ["", ""]


# --- the workflow: tiny WDBC grid with repeats, through snakemake ------------------------


def test_report_through_snakemake(tmp_path: Path, chromium: str, run_workflow) -> None:
    # Repeats and the smallest real audit, so the page shows and links real audit output.
    config = load_test_config("tiny_audit")
    run_workflow(tmp_path, config)
    out = tmp_path / "results/report/index.html"
    summary = pd.read_csv(tmp_path / "results/summary.csv")
    cells = {"copy/default", "copy/default.r2", "marginals/default", "marginals/default.r2"}
    assert set(summary["generator"] + "/" + summary["setting"]) == cells

    # Repeats: seed offset, base_setting/repeat recorded, utility per run.
    m2 = json.loads((tmp_path / "results/wdbc/marginals/default.r2/metrics.json").read_text())
    assert (m2["seed"], m2["base_setting"], m2["repeat"]) == (1, "default", 2)
    for col in ("utility_auc", "utility_accuracy", "utility_real_auc", "utility_real_accuracy"):
        assert summary[col].between(0, 1).all(), col
    # The copy control reproduces the real-train baseline; marginals break the label link.
    copy = summary[summary["generator"] == "copy"]
    assert (copy["utility_auc"] - copy["utility_real_auc"]).abs().max() < 0.02
    marg = summary[summary["generator"] == "marginals"]
    assert (marg["utility_auc"] < marg["utility_real_auc"] - 0.1).all()

    page = Page(dump_dom(chromium, out, tmp_path))
    # One row per grid cell (all runs) and one per configured setting (pooled).
    assert len(page.tables["runs"]) == len(cells)
    pooled = page.tables["summary"]
    assert [(r["cells"][1]["text"], r["cells"][3]["text"]) for r in pooled] == [("copy", "2"), ("marginals", "2")]
    # Mean and 95% interval where repeats > 1: "mean [lo, hi]".
    auc_col = 4 + 1 + [c for c, *_ in report.METRICS].index("utility_auc")
    assert "[" in pooled[1]["cells"][auc_col]["text"]
    assert ["POSITIVE CONTROL" in r["cells"][4]["text"] for r in pooled] == [True, False]
    assert page.svgs == 4
    check_links(page, out)
    assert "../wdbc/marginals/default.r2/utility.json" in page.hrefs
    # The audit ran: its numbers are in the table and its ROC plot is linked. Repeats
    # would rerun the identical audit: only repeat 1 is audited, repeat 2 says so.
    first = summary["setting"] == "default"
    assert summary.loc[first, "audit_auc_worst"].notna().all()
    assert summary.loc[~first, "audit_status"].str.startswith("skipped (repeat 2 of default").all()
    assert "../wdbc/copy/default/audit/roc.png" in page.hrefs
    mia_col = 4 + 1 + [c for c, *_ in report.METRICS].index("audit_auc_worst")
    assert pooled[0]["cells"][mia_col]["text"].startswith("1.000")
    # Measured cost per cell, from the jobs' benchmark files: the synthesis is part of
    # the total, and the audited cells' total also holds their audit fits and attacks.
    bench = tmp_path / "results/benchmarks"
    assert (bench / "synthesize/wdbc/copy/default.r2.tsv").is_file()
    assert (bench / "audit_fit/wdbc/copy/default/batch_0.tsv").is_file()
    assert summary["synth_wall_s"].gt(0).all()
    assert (summary["cost_wall_s"] >= summary["synth_wall_s"]).all()
    audit_s = sum(
        pd.read_csv(p, sep="\t")["s"].iloc[0]
        for p in [*bench.glob("audit_fit/wdbc/copy/default/*.tsv"), bench / "audit_attack/wdbc/copy/default.tsv"]
    )
    row = summary[(summary.generator == "copy") & first].iloc[0]
    assert row["cost_wall_s"] >= row["synth_wall_s"] + audit_s - 0.01

    # Nothing reruns without a changed input.
    dry = run_workflow(tmp_path, config, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # Snakemake's own report carries the summary, the plots and their captions.
    run_workflow(tmp_path, config, "--report", "report.zip")
    with zipfile.ZipFile(tmp_path / "report.zip") as z:
        names = z.namelist()
        text = "".join(z.read(n).decode("utf-8", "replace") for n in names if n.endswith((".html", ".js")))
    for f in (
        "summary.csv",
        "privacy_utility.svg",
        "accuracy_vs_epsilon.svg",
        "mia_auc_vs_accuracy.svg",
        "epsilon_vs_audit.svg",
        "index.html",
    ):
        assert any(n.endswith(f) for n in names), (f, names)
    assert "A point above the" in text or "point above the" in text.replace("\\n", " ")


def test_report_flags_undertrained_cells_and_escapes_the_reason(tmp_path: Path) -> None:
    df = fabricated_summary()
    df["undertrained"] = [False, False, False, False, True]
    df["undertrained_reason"] = [None, None, None, None, "stopped by the time cap after 1 epoch <b>&</b>"]
    out = tmp_path / "results" / "report" / "index.html"
    html = report.render(df, tmp_path / "results", out, {})
    rows = {(r["cells"][1]["text"], r["cells"][2]["text"]): r for r in Page(html).tables["summary"]}
    flagged = rows[("marginals", "default")]
    assert "undertrained" in flagged["class"]
    assert "UNDERTRAINED" in flagged["cells"][4]["text"]
    assert not any("undertrained" in r["class"] for k, r in rows.items() if k != ("marginals", "default"))
    assert 'id="undertrained"' in html
    assert "after 1 epoch &lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html
    # summaries written before the flag existed: nothing flagged
    assert not report.normalise(fabricated_summary())["undertrained"].any()


def test_summary_cost_columns_from_benchmark_files(tmp_path: Path) -> None:
    from privsynth import summary

    res = tmp_path / "results"
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"

    def bench(rel: str, s: float, rss: str) -> str:
        p = res / "benchmarks" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(header + f"{s}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t0\t0\n")
        return str(p)

    cells = []
    for gen in ("copy", "marginals"):
        m = res / "ds" / gen / "default" / "metrics.json"
        m.parent.mkdir(parents=True)
        m.write_text(json.dumps({"dataset": "ds", "generator": gen, "setting": "default", "rows": 1}))
        cells.append({"metrics": str(m)})
    files = [
        bench("synthesize/ds/copy/default.tsv", 2.0, "100.5"),
        bench("audit_fit/ds/copy/default/batch_0.tsv", 10.0, "300"),
        bench("audit_fit/ds/copy/default/batch_1.tsv", 12.0, "250"),
        bench("synthesize/ds/marginals/default.tsv", 1.0, "NA"),  # ended before the first memory sample
        bench("eda/ds/synthetic.tsv", 8.0, "500"),  # one job for both cells: half each
    ]
    df = summary.build(cells, benchmarks=files, benchmark_root=str(res / "benchmarks")).set_index("generator")
    assert df.loc["copy", ["cost_wall_s", "cost_max_rss_mb", "synth_wall_s", "synth_max_rss_mb"]].tolist() == [
        28.0,
        500.0,
        2.0,
        100.5,
    ]
    assert df.loc["marginals", ["cost_wall_s", "cost_max_rss_mb", "synth_wall_s"]].tolist() == [5.0, 500.0, 1.0]
    assert math.isnan(df.loc["marginals", "synth_max_rss_mb"])
    # Without benchmark files (e.g. an old caller): no cost columns at all.
    assert not set(summary.COST_COLUMNS) & set(summary.build(cells).columns)


# --- the page reads its declared inputs ------------------------------------------------


def test_declared_inputs_become_the_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from privsynth.report import artefacts

    targets = [
        "results/toy/dpgen/eps1/audit/audit.json",
        "results/toy/dpgen/eps1/metrics.json",
        "results/toy/dpgen/eps1/qa/metrics.json",
        "results/toy/dpgen/eps1/audit/one_run.json",
        "results/toy/data/eda.html",
        "results/toy/mostlyai/comparison.csv",
    ]
    files = artefacts.inputs(targets)
    assert files[: len(targets)] == targets  # the rule's own targets first, then what their rules write beside them
    assert set(files[len(targets) :]) == {
        "results/toy/dpgen/eps1/audit/scores.parquet",
        "results/toy/dpgen/eps1/audit/roc.png",
        "results/toy/dpgen/eps1/audit/summary.json",
        "results/toy/audit/targets.json",
        "results/toy/data/schema.json",
        "results/toy/dpgen/eps1/qa/report.html",
        "results/toy/mostlyai/comparison.md",
    }
    a = report.Artefacts.declared(files)
    assert [text for text, _ in a.of_cell("toy", "dpgen", "eps1")] == [
        "QA report",
        "QA metrics",
        "audit",
        "audit summary",
        "audit ROC",
        "audit scores",
        "metrics",
        "audit/one_run.json",
    ]
    assert [text for text, _ in a.of_dataset("toy")] == [
        "EDA of the real data",
        "MOSTLY AI tutorial table (md)",
        "MOSTLY AI tutorial table (csv)",
        "audit targets",
        "schema",
    ]
    assert a.comparisons == {"toy": Path("results/toy/mostlyai/comparison.csv")}
    assert a.of_cell("toy", "copy", "default") == []

    # The page links exactly those files: nothing is looked up on the disk.
    monkeypatch.chdir(tmp_path)
    for f in files:
        Path(f).parent.mkdir(parents=True, exist_ok=True)
        Path(f).write_text("setting\nx\n" if f.endswith(".csv") else "{}")
    Path("results/toy/dpgen/eps1/utility.json").write_text("{}")  # on disk, not declared: not linked
    html = report.render(fabricated_summary(), a, "results/report/index.html", {})
    hrefs = set(Page(html).hrefs)
    assert "../toy/dpgen/eps1/audit/roc.png" in hrefs and "../toy/data/schema.json" in hrefs
    assert not any("utility.json" in h for h in hrefs)


def test_measured_cost_columns_are_shown_when_the_summary_has_them(tmp_path: Path) -> None:
    df = fabricated_summary()
    out = tmp_path / "results" / "report" / "index.html"
    plain = report.render(df, tmp_path / "results", out, {})
    assert "Snakemake benchmark" not in plain and "Max RSS" not in plain
    df["cost_wall_s"] = [10.0, 20.0, 30.0, 40.0, 50.0]
    df["cost_max_rss_mb"] = [100, 200, 300, 400, "<b>n/a</b>"]
    df["synth_wall_s"] = 1.5
    html = report.render(df, tmp_path / "results", out, {})
    assert "measured by Snakemake benchmark:" in html and "<b>n/a</b>" not in html
    page = Page(html)
    rows = {(r["cells"][1]["text"], r["cells"][2]["text"]): r for r in page.tables["summary"]}
    first = 5 + len(report.METRICS)  # dataset, generator, setting, runs, flags, METRICS, then the costs
    assert [c["text"] for c in rows[("dpgen", "eps4")]["cells"][first : first + 3]] == ["30.0", "300", "1.5"]
    assert rows[("marginals", "default")]["cells"][first + 1]["text"] == "n/a"
