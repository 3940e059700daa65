"""``results/report/index.html``: one self-contained page to choose a generator from.

The page embeds everything it shows (inline SVG plots, inline CSS and JS; no
CDN, no network) and links, relatively, to every per-cell artefact that exists
on disk (QA, EDA, audit, utility), so it keeps working when other pipeline
features are switched off or not yet merged: a missing column is shown as n/a.
"""

from __future__ import annotations

import html
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .io import write_text

log = logging.getLogger("privsynth.report")

# Audited lower bound must exceed the accountant's epsilon by more than this to
# count as a contradiction (guards against float noise in equal values).
CONTRADICTION_TOL = 1e-9
REPEAT_SUFFIX = re.compile(r"\.r([0-9]+)$")

# (summary column, header, tooltip, decimals)
METRICS: list[tuple[str, str, str, int]] = [
    ("epsilon", "ε (accountant)", "privacy budget claimed by the generator's DP accountant; n/a = no DP claim", 3),
    ("delta", "δ", "DP delta claimed with ε", 2),
    ("qa_accuracy_overall", "Fidelity accuracy", "mostlyai-qa overall accuracy of synthetic vs training data", 3),
    ("utility_auc", "ML utility AUC", "classifier trained on synthetic data, AUC on the real holdout", 3),
    ("utility_real_auc", "Real-train AUC", "same classifier trained on the real training split (baseline)", 3),
    (
        "utility_accuracy",
        "ML utility acc.",
        "accuracy on the real holdout of the classifier trained on synthetic data",
        3,
    ),
    ("utility_real_accuracy", "Real-train acc.", "baseline accuracy, classifier trained on real training data", 3),
    ("runtime_seconds", "Runtime (s)", "generator fit + sample wall time", 1),
    (
        "audit_auc_worst",
        "MIA AUC (worst)",
        "membership-inference AUC, worst of the audited targets (each with its attack chosen on shadow data)",
        3,
    ),
    (
        "audit_tpr_at_1pct_fpr_worst",
        "TPR@1%FPR (worst)",
        "attack true-positive rate at 1% false positives, worst target; empty = n/a (< 300 negative sets)",
        3,
    ),
    (
        "audit_epsilon_lb_worst",
        "Audited ε LB",
        "lower bound on ε (add/remove adjacency, jointly at audit.confidence) from the audit, worst target",
        3,
    ),
]
TEXT_COLUMNS = ["dataset", "generator", "base_setting", "label"]
PLOT_NAMES = ("accuracy_vs_epsilon", "mia_auc_vs_accuracy", "epsilon_vs_audit")


# --- data -----------------------------------------------------------------------


def load_summary(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read summary.csv; fill the columns older or partial runs may lack."""
    df = pd.read_csv(path)
    return normalise(df)


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for col in ("dataset", "generator", "setting"):
        if col not in df.columns:
            raise ValueError(f"summary has no {col!r} column")
        df[col] = df[col].astype(str)
    if "base_setting" not in df.columns:
        df["base_setting"] = df["setting"].str.replace(REPEAT_SUFFIX, "", regex=True)
    if "repeat" not in df.columns:
        df["repeat"] = df["setting"].str.extract(REPEAT_SUFFIX, expand=False).fillna("1").astype(int)
    df["base_setting"] = df["base_setting"].fillna(df["setting"]).astype(str)
    if "positive_control" not in df.columns:
        df["positive_control"] = False
    df["positive_control"] = df["positive_control"].map(_truthy)
    # Stopped by a time cap, or by a cap while still improving (generators/mostlyai.py).
    df["undertrained"] = df["undertrained"].map(_truthy) if "undertrained" in df.columns else False
    if "undertrained_reason" not in df.columns:
        df["undertrained_reason"] = None
    for col, *_ in METRICS:
        if col not in df.columns:
            df[col] = np.nan
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df["contradiction"] = contradictions(df)
    return df


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in {"true", "1", "yes"}
    return bool(v) and not (isinstance(v, float) and math.isnan(v))


def contradictions(df: pd.DataFrame) -> pd.Series:
    """Rows whose audited ε lower bound exceeds the accountant's ε: the DP claim is refuted."""
    eps = pd.to_numeric(df.get("epsilon"), errors="coerce")
    if "audit_epsilon_accountant" in df.columns:
        # The audit's own fits' epsilon (add/remove, same n as the audited fits) where known:
        # the bound is about those fits, not about the release (docs/audit.md).
        eps = pd.to_numeric(df["audit_epsilon_accountant"], errors="coerce").fillna(eps)
    lb = pd.to_numeric(df.get("audit_epsilon_lb_worst"), errors="coerce")
    shadow = (np.isfinite(eps) & lb.notna() & (lb > eps + CONTRADICTION_TOL)).astype(bool)
    # One-run audit: its own flag compares with the audit fit's accountant ε (audit/one_run_report.py).
    from .audit.one_run_report import contradictions as one_run_contradictions

    return (shadow | one_run_contradictions(df).to_numpy()).astype(bool)


def mean_ci(values: Iterable[float]) -> tuple[float, float, float, int]:
    """Mean and two-sided 95% Student-t interval of the mean; (nan,)*3 for no data."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(x.mean())
    if n == 1:
        return m, math.nan, math.nan, 1
    from scipy import stats

    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """One row per configured setting (repeats pooled): mean, 95% interval, runs."""
    rows = []
    for (ds, gen, base), g in df.groupby(["dataset", "generator", "base_setting"], sort=True):
        pc = bool(g["positive_control"].any())
        row: dict[str, Any] = {
            "dataset": ds,
            "generator": gen,
            "base_setting": base,
            "label": f"{gen}/{base}" + (" (positive control)" if pc else ""),
            "positive_control": pc,
            "runs": len(g),
            "settings": list(g.sort_values("repeat")["setting"]),
            "contradiction": bool(g["contradiction"].any()),
            "undertrained": bool(g["undertrained"].any()),
            "undertrained_reason": next((str(v) for v in g["undertrained_reason"] if isinstance(v, str)), None),
        }
        for col, *_ in METRICS:
            m, lo, hi, n = mean_ci(g[col])
            row[col], row[f"{col}_lo"], row[f"{col}_hi"], row[f"{col}_n"] = m, lo, hi, n
        rows.append(row)
    return pd.DataFrame(rows)


# --- artefacts ----------------------------------------------------------------------

# (relative path inside a cell directory, link text)
CELL_ARTEFACTS = [
    ("qa/report.html", "QA report"),
    ("qa/metrics.json", "QA metrics"),
    ("eda.html", "EDA"),
    ("compare.html", "real vs synthetic"),
    ("audit/audit.json", "audit"),
    ("audit/summary.json", "audit summary"),
    ("audit/roc.png", "audit ROC"),
    ("audit/scores.parquet", "audit scores"),
    ("utility.json", "utility"),
    ("metrics.json", "metrics"),
]
DATASET_ARTEFACTS = [
    ("data/eda.html", "EDA of the real data"),
    ("mostlyai/comparison.md", "MOSTLY AI tutorial table (md)"),
    ("mostlyai/comparison.csv", "MOSTLY AI tutorial table (csv)"),
    ("audit/targets.json", "audit targets"),
    ("data/schema.json", "schema"),
    ("data/utility_baseline.json", "real-train utility baseline"),
]


def cell_artefacts(results: Path, dataset: str, generator: str, setting: str) -> list[tuple[str, Path]]:
    """Existing artefacts of one cell: the known ones first, then any other report/audit file."""
    d = results / dataset / generator / setting
    found = [(text, d / rel) for rel, text in CELL_ARTEFACTS if (d / rel).is_file()]
    known = {p for _, p in found}
    extra = sorted(
        p
        for pattern in ("*.html", "qa/*.html", "audit/*", "eda/*.html")
        for p in d.glob(pattern)
        if p.is_file() and p not in known and not p.name.startswith(".")
    )
    return found + [(str(p.relative_to(d)), p) for p in extra]


def dataset_artefacts(results: Path, dataset: str) -> list[tuple[str, Path]]:
    d = results / dataset
    return [(text, d / rel) for rel, text in DATASET_ARTEFACTS if (d / rel).is_file()]


# --- plots ----------------------------------------------------------------------


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Deterministic SVG (same input -> same bytes) and real text instead of glyph paths.
    plt.rcParams.update({"svg.hashsalt": "privsynth", "svg.fonttype": "none", "font.size": 9})
    return plt


def _eps_positions(eps: pd.Series) -> tuple[np.ndarray, float | None]:
    """x positions on a log axis; cells without a finite ε go to a separate 'no DP' column."""
    finite = eps[np.isfinite(eps) & (eps > 0)]
    nodp = (float(finite.max()) * 6 if len(finite) else 1.0) if (~(np.isfinite(eps) & (eps > 0))).any() else None
    x = np.where(np.isfinite(eps) & (eps > 0), eps, nodp if nodp is not None else np.nan)
    return x.astype(float), nodp


def _style_eps_axis(ax: Any, x: np.ndarray, nodp: float | None) -> None:
    ax.set_xscale("log")
    if nodp is not None:
        finite = x[np.isfinite(x) & (x != nodp)]
        lo = finite.min() / 2 if len(finite) else nodp / 10
        ax.set_xlim(lo, nodp * 2.5)
        ax.axvline(nodp / 2.4, color="0.7", lw=0.8, ls=":")
        ticks = [t for t in ax.get_xticks() if lo <= t < nodp / 2.4] if len(finite) else []
        ax.set_xticks(ticks + [nodp])
        ax.set_xticklabels([f"{t:g}" for t in ticks] + ["no DP"])
        ax.minorticks_off()


def _scatter(ax: Any, sub: pd.DataFrame, x: np.ndarray, y: np.ndarray, colors: Mapping[str, Any]) -> None:
    seen: set[str] = set()
    for i, (_, r) in enumerate(sub.iterrows()):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        label = r["generator"] + (" (positive control)" if r["positive_control"] else "")
        ax.scatter(
            x[i], y[i], s=70 if r["positive_control"] else 40, marker="X" if r["positive_control"] else "o",
            color=colors[r["generator"]], edgecolor="black", linewidth=0.5, zorder=3,
            label=None if label in seen else label,
        )  # fmt: skip
        seen.add(label)
        ax.annotate(str(r["setting"]), (x[i], y[i]), xytext=(4, 3), textcoords="offset points", fontsize=7)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True, color="0.3")
    ax.set_xticks([])
    ax.set_yticks([])


def make_plots(df: pd.DataFrame, dataset: str, out: Mapping[str, str | os.PathLike[str]]) -> None:
    """Write the three privacy-utility plots of ``dataset`` as SVG files (``out``: name -> path)."""
    plt = _mpl()
    sub = df[df["dataset"] == dataset].reset_index(drop=True)
    gens = sorted(sub["generator"].unique())
    cmap = plt.get_cmap("tab10")
    colors = {g: cmap(i % 10) for i, g in enumerate(gens)}
    eps = sub["epsilon"].astype(float)
    xe, nodp = _eps_positions(eps)

    # 1. accuracy (fidelity, and ML utility) vs accountant epsilon
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    for ax, col, ylabel, missing in (
        (
            axes[0],
            "qa_accuracy_overall",
            "fidelity accuracy (mostlyai-qa)",
            "no fidelity accuracy (qa.enabled is false?)",
        ),
        (
            axes[1],
            "utility_auc",
            "ML utility AUC (train synthetic, test real)",
            "no ML utility (datasets.<name>.target unset?)",
        ),
    ):
        y = sub[col].to_numpy(dtype=float)
        if not np.isfinite(y).any() or len(sub) == 0:
            _empty(ax, missing)
            continue
        _scatter(ax, sub, xe, y, colors)
        if col == "utility_auc" and np.isfinite(sub["utility_real_auc"]).any():
            ax.axhline(float(sub["utility_real_auc"].mean()), color="0.4", ls="--", lw=0.8, label="real-train baseline")
        _style_eps_axis(ax, xe, nodp)
        ax.set_xlabel("accountant ε")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{dataset}: utility vs privacy budget")
    _save(fig, out["accuracy_vs_epsilon"], plt)

    # 2. MIA AUC vs accuracy (fidelity, and ML utility)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    y = sub["audit_auc_worst"].to_numpy(dtype=float)
    for ax, col, xlabel in (
        (axes[0], "qa_accuracy_overall", "fidelity accuracy (mostlyai-qa)"),
        (axes[1], "utility_auc", "ML utility AUC (train synthetic, test real)"),
    ):
        x = sub[col].to_numpy(dtype=float)
        if not (np.isfinite(x) & np.isfinite(y)).any():
            _empty(ax, f"needs {xlabel.split(' (')[0]} and the privacy audit's MIA AUC;\nno run has both yet")
            continue
        _scatter(ax, sub, x, y, colors)
        ax.axhline(0.5, color="0.5", ls="--", lw=0.8, label="chance (AUC 0.5)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("MIA AUC, worst target")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{dataset}: attack success vs utility")
    _save(fig, out["mia_auc_vs_accuracy"], plt)

    # 3. accountant epsilon vs audited lower bound, with the diagonal (linear axes,
    # so the diagonal is straight; cells without a DP claim in a "no DP" column)
    fig, ax = plt.subplots(figsize=(5.5, 4.4), constrained_layout=True)
    lb = sub["audit_epsilon_lb_worst"].to_numpy(dtype=float)
    e = eps.to_numpy()
    claimed = np.isfinite(e)
    has = np.isfinite(lb)
    if not has.any():
        _empty(ax, "no audited ε lower bound yet (run the privacy audit)")
    else:
        top = max(float(np.nanmax(lb[has])), float(np.nanmax(e[claimed])) if claimed.any() else 0.0, 0.1) * 1.15
        nodp_x = top * 1.15
        x = np.where(claimed, e, nodp_x)
        _scatter(ax, sub, x, lb, colors)
        if claimed.any():  # the diagonal only means something for runs with a DP claim
            ax.plot([0, top], [0, top], color="black", lw=1, ls="--", label="audited = claimed (diagonal)")
            ax.fill_between([0, top], [0, top], [top * 1.1] * 2, color="red", alpha=0.07,
                            label="audit contradicts DP claim")  # fmt: skip
        bad = sub["contradiction"].to_numpy()
        for i in np.flatnonzero(bad & has):
            ax.scatter(x[i], lb[i], s=260, facecolor="none", edgecolor="red", linewidth=2.5, zorder=4)
            ax.annotate(
                "AUDIT CONTRADICTS DP CLAIM", (x[i], lb[i]), xytext=(8, -14), textcoords="offset points",
                color="red", fontweight="bold", fontsize=8,
            )  # fmt: skip
        ax.set_xlim(0, nodp_x * 1.08)
        ax.set_ylim(min(0.0, float(np.nanmin(lb[has]))), top * 1.1)
        if (~claimed & has).any():
            ax.axvline(top * 1.075, color="0.7", lw=0.8, ls=":")
            ticks = [t for t in ax.get_xticks() if 0 <= t <= top]
            ax.set_xticks(ticks + [nodp_x])
            ax.set_xticklabels([f"{t:g}" for t in ticks] + ["no DP"])
        ax.set_xlabel("accountant ε (claimed)")
        ax.set_ylabel("audited ε lower bound (worst target)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        if bad.any():
            ax.set_title(f"{dataset}: {int(bad.sum())} run(s) ABOVE THE DIAGONAL", color="red", fontweight="bold")
    if not ax.get_title():
        ax.set_title(f"{dataset}: claimed vs audited ε")
    _save(fig, out["epsilon_vs_audit"], plt)


def _save(fig: Any, path: str | os.PathLike[str], plt: Any) -> None:
    from .io import write_with

    write_with(lambda tmp: fig.savefig(tmp, format="svg", metadata={"Date": None}), path)
    plt.close(fig)


def inline_svg(path: str | os.PathLike[str]) -> str:
    """SVG file -> markup to embed in HTML (drops the XML prolog and DOCTYPE)."""
    text = Path(path).read_text()
    start = text.find("<svg")
    if start < 0:
        raise ValueError(f"{path} is not an SVG file")
    return text[start:]


# --- HTML ----------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em;color:#222;max-width:1500px}
h1{margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:1px solid #ccc} .muted{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none} table.sortable th:after{content:" \\2195";color:#aaa}
table.sortable th.asc:after{content:" \\25B2";color:#000} table.sortable th.desc:after{content:" \\25BC";color:#000}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.na{color:#999;text-align:center} .ci{color:#666;font-size:.85em}
tr.positive-control{background:#fff6d6} tr.contradiction{background:#ffd9d9}
.badge{display:inline-block;padding:0 4px;border-radius:3px;font-size:.8em;font-weight:bold;white-space:nowrap}
.badge.pc{background:#f0c040;color:#000} .badge.bad{background:#c00;color:#fff}
.badge.ut{background:#8a5a00;color:#fff} tr.undertrained td{color:#555}
.note{border-left:4px solid #8a5a00;background:#fbf5ea;padding:.4em 1em;margin:1em 0}
.alarm{border:3px solid #c00;background:#fff0f0;padding:.6em 1em;margin:1em 0;font-size:1.05em}
.alarm h2{color:#c00;border:none;margin:0 0 .3em 0}
.plots{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start} .plots figure{margin:0}
.plots svg{max-width:100%;height:auto} .scroll{overflow-x:auto} .links a{margin-right:.5em;white-space:nowrap}
"""

JS = """
(function(){
  function val(td){var v=td.getAttribute('data-sort');if(v===null||v===''){return null;}
    var f=parseFloat(v);return isNaN(f)?v.toLowerCase():f;}
  function sortTable(table,idx,desc){
    var tb=table.tBodies[0],rows=Array.prototype.slice.call(tb.rows);
    rows.sort(function(a,b){var x=val(a.cells[idx]),y=val(b.cells[idx]);
      if(x===null&&y===null)return 0; if(x===null)return 1; if(y===null)return -1;  // n/a last
      if(typeof x!==typeof y){x=String(x);y=String(y);}
      var c=x<y?-1:(x>y?1:0);return desc?-c:c;});
    rows.forEach(function(r){tb.appendChild(r);});
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.classList.remove('asc','desc');if(i===idx)th.classList.add(desc?'desc':'asc');});
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.addEventListener('click',function(){sortTable(table,i,th.classList.contains('asc'));});});
  });
  // #sort=<column key> or #sort=-<column key> (descending): shareable sorted view.
  var m=/sort=(-?)([A-Za-z0-9_]+)/.exec(location.hash);
  if(m){document.querySelectorAll('table.sortable').forEach(function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      if(th.getAttribute('data-key')===m[2])sortTable(table,i,m[1]==='-');});});}
})();
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: float, decimals: int) -> str:
    if v is None or not np.isfinite(v):
        return "∞" if v is not None and np.isinf(v) else "n/a"
    if 0 < abs(v) < 10**-decimals:
        return f"{v:.2g}"
    return f"{v:.{decimals}f}"


def _num_cell(row: Mapping[str, Any], col: str, decimals: int, with_ci: bool) -> str:
    v = row.get(col)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '<td class="na" data-sort="">n/a</td>'
    text = _fmt(float(v), decimals)
    if with_ci and row.get(f"{col}_n", 0) > 1:
        lo, hi = row.get(f"{col}_lo"), row.get(f"{col}_hi")
        text += f' <span class="ci">[{_fmt(lo, decimals)}, {_fmt(hi, decimals)}]</span>'
    return f'<td class="num" data-sort="{float(v)!r}">{text}</td>'


def _links(items: Sequence[tuple[str, Path]], out_dir: Path, prefix: str = "") -> str:
    return "".join(
        f'<a href="{_e(Path(os.path.relpath(p, out_dir)).as_posix())}">{_e(prefix + text)}</a>' for text, p in items
    )


def _flag_cell(row: Mapping[str, Any]) -> str:
    badges = []
    if row["contradiction"]:
        badges.append('<span class="badge bad" title="audited ε lower bound above the accountant ε">'
                      "⚠ AUDIT CONTRADICTS DP CLAIM</span>")  # fmt: skip
    if row["positive_control"]:
        badges.append('<span class="badge pc" title="copies the training data; every attack must catch it">'
                      "POSITIVE CONTROL</span>")  # fmt: skip
    if row.get("undertrained"):
        why = row.get("undertrained_reason") or "stopped by a cap before it converged"
        badges.append(f'<span class="badge ut" title="{_e(why)}">UNDERTRAINED</span>')
    key = ("0" if row["contradiction"] else "1") + ("0" if row["positive_control"] else "1")
    key += "0" if row.get("undertrained") else "1"
    return f'<td data-sort="{key}">{" ".join(badges)}</td>'


def _table(rows: pd.DataFrame, table_id: str, setting_col: str, links: Mapping[Any, str], with_ci: bool) -> str:
    head = [("dataset", "Dataset", ""), ("generator", "Generator", ""), (setting_col, "Setting", "")]
    if with_ci:
        head.append(("runs", "Runs", "repeats of this setting (different seeds)"))
    head.append(("flag", "Flags", "audit contradiction / positive control / undertrained"))
    head += [(c, h, t) for c, h, t, _ in METRICS]
    head.append(("links", "Artefacts", "QA, EDA, audit and utility outputs of this cell"))
    out = [f'<table class="sortable" id="{table_id}"><thead><tr>']
    out += [f'<th data-key="{_e(k)}" title="{_e(t)}">{_e(h)}</th>' for k, h, t in head]
    out.append("</tr></thead><tbody>")
    for i, r in rows.iterrows():
        flags = (("positive-control", r["positive_control"]), ("contradiction", r["contradiction"]),
                 ("undertrained", r.get("undertrained")))  # fmt: skip
        cls = " ".join(c for c, on in flags if on)
        out.append(f'<tr class="{cls}" data-dataset="{_e(r["dataset"])}">')
        out.append(f'<td data-sort="{_e(r["dataset"])}">{_e(r["dataset"])}</td>')
        out.append(f'<td data-sort="{_e(r["generator"])}">{_e(r["generator"])}</td>')
        out.append(f'<td data-sort="{_e(r[setting_col])}">{_e(r[setting_col])}</td>')
        if with_ci:
            out.append(f'<td class="num" data-sort="{int(r["runs"])}">{int(r["runs"])}</td>')
        out.append(_flag_cell(r))
        for col, _, _, dec in METRICS:
            out.append(_num_cell(r, col, dec, with_ci))
        out.append(f'<td class="links">{links.get(i, "")}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _csv_table(path: Path) -> str:
    df = pd.read_csv(path)
    out = ['<table class="sortable"><thead><tr>']
    out += [f'<th data-key="{_e(re.sub(r"[^A-Za-z0-9_]", "_", str(c)))}">{_e(c)}</th>' for c in df.columns]
    out.append("</tr></thead><tbody>")
    for _, r in df.iterrows():
        out.append("<tr>")
        for c in df.columns:
            v = r[c]
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                fv = float(v)
                text = "n/a" if math.isnan(fv) else (f"{fv:.4g}")
                out.append(f'<td class="num" data-sort="{"" if math.isnan(fv) else fv!r}">{_e(text)}</td>')
            else:
                out.append(f'<td data-sort="{_e(v)}">{_e(v)}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render(
    summary: pd.DataFrame,
    results_dir: str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    plots: Mapping[str, Mapping[str, str | os.PathLike[str]]],
    notice_html: str = "",
) -> str:
    """Build the page. ``plots``: dataset -> plot name -> SVG path (made by ``make_plots``).

    ``notice_html`` goes first, under the title (privsynth.partial lists failed cells there).
    """
    results = Path(results_dir)
    out_dir = Path(out_html).parent
    df = normalise(summary)
    agg = aggregate(df)
    repeats = bool(len(agg)) and int(agg["runs"].max()) > 1

    run_links = {
        i: _links(cell_artefacts(results, r["dataset"], r["generator"], r["setting"]), out_dir)
        for i, r in df.iterrows()
    }
    agg_links = {}
    for i, r in agg.iterrows():
        parts = []
        for s in r["settings"]:
            prefix = f"{s}: " if len(r["settings"]) > 1 else ""
            parts.append(_links(cell_artefacts(results, r["dataset"], r["generator"], s), out_dir, prefix))
        agg_links[i] = "".join(parts)

    datasets = list(dict.fromkeys(list(df["dataset"]) + list(plots)))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        "<h1>privsynth report</h1>",
        f'<p class="muted">{len(df)} runs of {len(agg)} settings on {len(datasets)} dataset(s); '
        f"generated {now}. Click a column header to sort; n/a = not computed for this cell "
        "(feature disabled, not applicable, or not run yet).</p>",
        notice_html,
    ]
    bad = df[df["contradiction"]]
    if len(bad):
        items = "".join(
            f"<li><b>{_e(r['dataset'])} / {_e(r['generator'])} / {_e(r['setting'])}</b>: audited ε lower bound "
            f"{_fmt(r['audit_epsilon_lb_worst'], 3)} (shadow-model audit) / "
            f"{_fmt(pd.to_numeric(r.get('one_run_epsilon_lb'), errors='coerce'), 3)} (one-run audit, vs its fit's ε "
            f"{_fmt(pd.to_numeric(r.get('one_run_fit_epsilon'), errors='coerce'), 3)}) &gt; accountant ε "
            f"{_fmt(r['epsilon'], 3)}</li>"
            for _, r in bad.iterrows()
        )
        body.append(
            '<div class="alarm" id="contradictions"><h2>⚠ The privacy audit contradicts the DP claim</h2>'
            f"<p>{len(bad)} run(s) have an empirical ε lower bound above the ε their accountant reports. "
            "Either the DP implementation or its accounting is wrong, or the audit is; do not rely on "
            "these ε values until this is explained.</p>"
            f"<ul>{items}</ul></div>"
        )
    under = agg[agg["undertrained"]] if len(agg) else agg
    if len(under):
        items = "".join(
            f"<li><b>{_e(r['dataset'])} / {_e(r['generator'])} / {_e(r['base_setting'])}</b>: "
            f"{_e(r['undertrained_reason'] or 'stopped by a cap before it converged')}</li>"
            for _, r in under.iterrows()
        )
        body.append(
            '<div class="note" id="undertrained"><b>UNDERTRAINED</b>: '
            f"{len(under)} setting(s) stopped before their generator converged (a time cap, or an epoch or "
            "ε cap while the validation loss was still falling). Their accuracy and utility describe the cap, "
            "not the generator: compare them with care, or train longer (config/gpu.yaml).<ul>"
            f"{items}</ul></div>"
        )
    body.append("<h2>Summary</h2>")
    body.append(
        '<p class="muted">One row per configured setting. '
        + (
            "Settings run several times (repeats, different seeds) show the mean and, in brackets, "
            "the 95% Student-t interval of the mean. "
            if repeats
            else ""
        )
        + "Rows marked POSITIVE CONTROL release the training data (copy generator): every privacy attack "
        "must catch them. ML utility: gradient boosting trained on the synthetic data, evaluated on the real "
        "holdout; the real-train columns are the same model trained on the real training split.</p>"
    )
    body.append('<div class="scroll">' + _table(agg, "summary", "base_setting", agg_links, with_ci=True) + "</div>")
    if repeats:
        body.append("<h2>All runs</h2><p class='muted'>One row per run (grid cell) before pooling.</p>")
        body.append('<div class="scroll">' + _table(df, "runs", "setting", run_links, with_ci=False) + "</div>")

    for ds in datasets:
        body.append(f'<h2 id="dataset-{_e(ds)}">Dataset: {_e(ds)}</h2>')
        arts = dataset_artefacts(results, ds)
        if arts:
            body.append(f'<p class="links">Artefacts: {_links(arts, out_dir)}</p>')
        figs = []
        for name in PLOT_NAMES:
            p = plots.get(ds, {}).get(name)
            if p is not None and Path(p).is_file():
                figs.append(f'<figure class="plot" data-plot="{_e(name)}">{inline_svg(p)}</figure>')
        if figs:
            body.append('<div class="plots">' + "".join(figs) + "</div>")
            body.append(
                '<p class="muted">Each point is one run; × marks the positive control; "no DP" collects '
                "cells without an accountant ε. Third plot: a point above the dashed diagonal (red area) "
                "means the audit found more leakage than the DP guarantee allows.</p>"
            )
        # One-run canary audit: its plot and a table beside the shadow-model audit.
        from .audit import one_run_report

        section = one_run_report.html_section(df, ds)  # "" where no cell has the one-run audit
        p = plots.get(ds, {}).get("one_run_audit")
        if section and p is not None and Path(p).is_file():
            body.append(
                f'<div class="plots"><figure class="plot" data-plot="one_run_audit">{inline_svg(p)}</figure></div>'
            )
        body.append(section)
        comparison = results / ds / "mostlyai" / "comparison.csv"
        if comparison.is_file():
            body.append("<h3>MOSTLY AI tutorial comparison</h3>")
            body.append(_csv_table(comparison))
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>privsynth report</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + f"<script>{JS}</script></body></html>\n"
    )
    write_text(page, out_html)
    log.info("report: %d runs, %d settings, %d contradiction(s) -> %s", len(df), len(agg), len(bad), out_html)
    return page


# --- Snakemake adapters -------------------------------------------------------


def plots_job(sm: Any) -> None:
    df = load_summary(sm.input.summary)
    make_plots(df, sm.wildcards.dataset, {name: sm.output[name] for name in PLOT_NAMES})
    if "one_run_audit" in sm.output.keys():
        from .audit import one_run_report

        one_run_report.make_plot(df, sm.wildcards.dataset, sm.output.one_run_audit)


def report_job(sm: Any) -> None:
    summary_path = Path(sm.input.summary)
    plots: dict[str, dict[str, str]] = {}
    for p in sm.input.plots:
        pp = Path(p)
        plots.setdefault(pp.parent.name, {})[pp.stem] = p
    render(load_summary(summary_path), summary_path.parent, sm.output.html, plots)
