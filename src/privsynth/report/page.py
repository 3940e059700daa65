"""``results/report/index.html``: one self-contained page to choose a generator from.

The page embeds everything it shows (inline SVG plots, inline CSS and JS; no
CDN, no network) and links, relatively, to the per-cell artefacts it is given
(QA, EDA, audit, utility: ``Artefacts``), so it keeps working when other
pipeline features are switched off or not yet merged: a missing column is shown
as n/a.  The markup is ``templates/index.html.j2`` (jinja2, autoescape on):
every value from the results reaches the page escaped.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..display import environment, fmt
from ..io import write_text
from . import dp_check, headline, nobox, one_run
from .artefacts import Artefacts, Key, Link
from .plots import PLOT_NAMES, SHADOW_PLOTS, inline_svg
from .tables import METRICS, aggregate, cost_metrics, normalise

log = logging.getLogger("privsynth.report")

Plots = Mapping[str, Mapping[str, str | os.PathLike[str]]]


def _num_cell(row: Mapping[str, Any], col: str, decimals: int, with_ci: bool) -> dict[str, Any]:
    v = row.get(col)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return {"na": True}
    ci = ""
    if with_ci and row.get(f"{col}_n", 0) > 1:
        ci = f"[{fmt(row.get(f'{col}_lo'), decimals)}, {fmt(row.get(f'{col}_hi'), decimals)}]"
    return {"na": False, "sort": repr(float(v)), "text": fmt(float(v), decimals), "ci": ci}


def _links(items: Iterable[Link], out_dir: Path, prefix: str = "") -> list[dict[str, str]]:
    return [{"href": Path(os.path.relpath(p, out_dir)).as_posix(), "text": prefix + text} for text, p in items]


def _row(r: Mapping[str, Any], setting_col: str, metrics: list, links: list, with_ci: bool) -> dict[str, Any]:
    flags = (
        ("positive-control", r["positive_control"]),
        ("contradiction", r["contradiction"]),
        ("undertrained", r.get("undertrained")),
    )
    badges = []
    if r["contradiction"]:
        badges.append({"kind": "bad"})
    if r["positive_control"]:
        badges.append({"kind": "pc"})
    if r.get("undertrained"):
        badges.append({"kind": "ut", "why": r.get("undertrained_reason") or "stopped by a cap before it converged"})
    key = ("0" if r["contradiction"] else "1") + ("0" if r["positive_control"] else "1")
    key += "0" if r.get("undertrained") else "1"
    return {
        "cls": " ".join(c for c, on in flags if on),
        "dataset": r["dataset"],
        "generator": r["generator"],
        "setting": r[setting_col],
        "runs": int(r["runs"]) if with_ci else None,
        "flag_sort": key,
        "badges": badges,
        "nums": [_num_cell(r, col, dec, with_ci) for col, _, _, dec in metrics],
        "links": links,
    }


def _table(
    rows: pd.DataFrame, table_id: str, setting_col: str, links: Mapping[Any, list], metrics: list, with_ci: bool
) -> dict[str, Any]:
    head = [("dataset", "Dataset", ""), ("generator", "Generator", ""), (setting_col, "Setting", "")]
    if with_ci:
        head.append(("runs", "Runs", "repeats of this setting (different seeds)"))
    head.append(("flag", "Flags", "audit contradiction / positive control / undertrained"))
    head += [(c, h, t) for c, h, t, _ in metrics]
    head.append(("links", "Artefacts", "QA, EDA, audit and utility outputs of this cell"))
    body = [_row(r, setting_col, metrics, links.get(i, []), with_ci) for i, r in rows.iterrows()]
    return {"id": table_id, "head": head, "rows": body}


def _csv_table(path: Path) -> dict[str, Any]:
    df = pd.read_csv(path)
    head = [(re.sub(r"[^A-Za-z0-9_]", "_", str(c)), str(c)) for c in df.columns]
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                fv = float(v)
                nan = math.isnan(fv)
                cells.append({"num": True, "sort": "" if nan else repr(fv), "text": "n/a" if nan else f"{fv:.4g}"})
            else:
                cells.append({"num": False, "text": str(v)})
        rows.append(cells)
    return {"head": head, "rows": rows}


def _svg(path: str | os.PathLike[str] | None) -> Markup | None:
    # matplotlib's own SVG output (its text escaped by matplotlib): embedded as markup.
    return Markup(inline_svg(path)) if path is not None and Path(path).is_file() else None


def render(
    summary: pd.DataFrame,
    artefacts: Artefacts | str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    plots: Plots | None = None,
    template: str = "index.html.j2",
    **context: Any,
) -> str:
    """Build the page. ``plots``: dataset -> plot name -> SVG path (made by ``make_plots``).

    ``artefacts``: the files to link (``Artefacts``); a results folder instead
    means the known files found in it (``Artefacts.existing``).  ``template`` and
    ``context``: another page built on the report's (``partial.html.j2``).
    """
    plots = plots or {}
    out_dir = Path(out_html).parent
    df = normalise(summary)
    if not isinstance(artefacts, Artefacts):
        cells: list[Key] = list(dict.fromkeys(zip(df["dataset"], df["generator"], df["setting"], strict=True)))
        artefacts = Artefacts.existing(artefacts, cells)
    agg = aggregate(df)
    repeats = bool(len(agg)) and int(agg["runs"].max()) > 1
    metrics = METRICS + cost_metrics(df)

    run_links = {
        i: _links(artefacts.of_cell(r["dataset"], r["generator"], r["setting"]), out_dir) for i, r in df.iterrows()
    }
    agg_links = {}
    for i, r in agg.iterrows():
        many = len(r["settings"]) > 1
        agg_links[i] = [
            link
            for s in r["settings"]
            for link in _links(artefacts.of_cell(r["dataset"], r["generator"], s), out_dir, f"{s}: " if many else "")
        ]

    datasets = []
    for ds in dict.fromkeys(list(df["dataset"]) + list(plots)):
        own = plots.get(ds, {})
        section = one_run.html_section(df, ds)  # "" where no cell has the one-run audit
        comparison = artefacts.comparisons.get(ds)
        mine = df[df["dataset"] == ds]
        # The shadow audit's own plots only where it ran: elsewhere they would hold controls alone.
        shadow = bool(mine["audit_auc_worst"].notna().any() or mine["audit_epsilon_lb_worst"].notna().any())
        more = [n for n in PLOT_NAMES if n != "privacy_utility" and (shadow or n not in SHADOW_PLOTS)]
        datasets.append(
            {
                "name": ds,
                "headline": headline.table(headline.cells(df, ds)),
                "headline_plot": _svg(own.get("privacy_utility")),
                "links": _links(artefacts.of_dataset(ds), out_dir),
                "plots": [(name, svg) for name in more if (svg := _svg(own.get(name))) is not None],
                "one_run_plot": _svg(own.get("one_run_audit")) if section else None,
                "one_run_section": section,
                "nobox_section": nobox.html_section(df, ds),
                "comparison": _csv_table(comparison) if comparison is not None else None,
                "dp_check": dp_check.rows(df, ds),
            }
        )
    bad = df[df["contradiction"]]
    contradictions = [
        {
            "dataset": r["dataset"],
            "generator": r["generator"],
            "setting": r["setting"],
            "shadow_lb": fmt(r["audit_epsilon_lb_worst"], 3),
            "one_run_lb": fmt(pd.to_numeric(r.get("one_run_epsilon_lb"), errors="coerce"), 3),
            "one_run_eps": fmt(pd.to_numeric(r.get("one_run_fit_epsilon"), errors="coerce"), 3),
            "epsilon": fmt(r["epsilon"], 3),
        }
        for _, r in bad.iterrows()
    ]
    under = agg[agg["undertrained"]] if len(agg) else agg
    undertrained = [
        {
            "dataset": r["dataset"],
            "generator": r["generator"],
            "setting": r["base_setting"],
            "reason": r["undertrained_reason"] or "stopped by a cap before it converged",
        }
        for _, r in under.iterrows()
    ]
    page = (
        environment()
        .get_template(template)
        .render(
            n_runs=len(df),
            n_settings=len(agg),
            datasets=datasets,
            now=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            contradictions=contradictions,
            undertrained=undertrained,
            repeats=repeats,
            costs=bool(cost_metrics(df)),
            summary=_table(agg, "summary", "base_setting", agg_links, metrics, with_ci=True),
            runs=_table(df, "runs", "setting", run_links, metrics, with_ci=False) if repeats else None,
            **context,
        )
    )
    write_text(page, out_html)
    log.info("report: %d runs, %d settings, %d contradiction(s) -> %s", len(df), len(agg), len(bad), out_html)
    return page
