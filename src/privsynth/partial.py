"""Partial results: what finished, and why the rest did not.

``results/summary.csv`` and ``results/report/index.html`` need every grid cell,
so one failing cell would hide every result.  When a run fails, the workflow's
``onerror`` hook calls ``write_partial``, which builds

- ``results/partial/summary.csv``: the summary of the cells that finished, with
  a ``status`` column (``complete``, or what is missing and why);
- ``results/partial/failed.csv``: one row per cell or dataset that did not
  finish, with the failed job, its log and the log's ``ERROR:`` line;
- ``results/partial/index.html``: the report page over the finished cells, the
  failures listed first.

These files are no job's output, so Snakemake never takes them for results:
the next run retries every failed job (its outputs are missing) and, once the
full report is built, ``remove_superseded`` deletes ``results/partial``.
``python -m privsynth.partial [results]`` builds the same from the files alone
(the cells are then those found on disk, and a cell's summary row is made of
every file ``privsynth.plan`` can give it summary columns from that exists).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import paths, report, runstate
from . import summary as summary_mod
from .plan import summary_file_templates

log = logging.getLogger("privsynth.partial")

Key = tuple[str, str, str]
PARTIAL_DIR = "partial"
PARTIAL_FILES = ("summary.csv", "failed.csv", "index.html")


@dataclass(frozen=True)
class Failure:
    rule: str
    log: Path
    cause: str  # the ERROR: line without "ERROR: "
    scope: tuple[str, ...]  # path parts of the log below results/logs/<rule>/


@dataclass
class CellStatus:
    key: Key
    missing: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        if self.complete:
            return "complete"
        if self.failures:
            f = self.failures[0]
            more = f" (+{len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
            return f"failed: {f.rule}: {f.cause}{more}"
        return "not run: missing " + ", ".join(self.missing)


def failures(results_dir: str | Path) -> list[Failure]:
    """Every job whose log ends with an ``ERROR:`` line (killed jobs are marked first)."""
    logs = Path(results_dir) / "logs"
    runstate.mark_killed(logs)
    found = []
    for p in sorted(logs.rglob("*.log")) if logs.is_dir() else []:
        last = runstate.last_line(p)
        if not last.startswith("ERROR:"):
            continue
        rel = p.relative_to(logs).with_suffix("")
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.name
        scope = rel.parts[1:] if len(rel.parts) > 1 else ()
        found.append(Failure(rule, p, last[len("ERROR:") :].strip(), tuple(scope)))
    return found


def _applies(f: Failure, key: Key, datasets: set[str]) -> bool:
    ds, gen, setting = key
    s = f.scope
    if len(s) >= 3 and s[:3] == key:
        return True  # a job of this cell (audit batches add a 4th part)
    # A job of the cell's dataset (fetch/prepare/utility baseline, shadow sets, EDA of the data).
    return bool(s) and s[0] == ds and (len(s) == 1 or s[1:] == ("data",)) and ds in datasets


def discover_cells(results_dir: str | Path) -> list[Key]:
    """Cells found on disk: directories with metrics.json, and cells named by failed synthesis logs."""
    results = Path(results_dir)
    keys: set[Key] = set()
    for m in results.glob("*/*/*/metrics.json"):
        ds, gen, setting = m.parent.relative_to(results).parts
        if ds not in (PARTIAL_DIR, "logs", "report"):
            keys.add((ds, gen, setting))
    for f in failures(results):
        if f.rule.startswith("synthesize") and len(f.scope) == 3:
            keys.add(f.scope)  # type: ignore[arg-type]
    return sorted(keys)


def _unreadable(base: Path, files: Iterable[str]) -> dict[str, str]:
    """Expected files that exist but fail their manifest or are not valid JSON: relative path -> why."""
    from . import manifest
    from .io import read_json

    bad: dict[str, str] = {}
    for rel in dict.fromkeys(files):
        p = base / rel
        if not p.is_file():
            continue
        why = manifest.problem(p)
        if why is None and p.suffix == ".json":
            try:
                read_json(p)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is named, not fatal
                why = str(exc).removeprefix(f"{p}: ")
        if why:
            bad[rel] = why
            log.warning("unreadable: %s: %s", p, why)
    return bad


def _usable(base: Path, rel: str, unreadable: dict[str, str]) -> bool:
    return rel not in unreadable and (base / rel).is_file()


def status(
    results_dir: str | Path,
    cells: Sequence[Key],
    expected: Callable[[Key], Iterable[str]],
    found_failures: Sequence[Failure] | None = None,
    unreadable: dict[str, str] | None = None,
) -> list[CellStatus]:
    """Per cell: which expected outputs are missing and which failed jobs explain it."""
    results = Path(results_dir)
    fails = list(found_failures if found_failures is not None else failures(results))
    datasets = {k[0] for k in cells}
    out = []
    for key in cells:
        st = CellStatus(key)
        bad = unreadable or {}
        st.missing = [
            f"{p} (unreadable: {bad[p]})" if p in bad else p
            for p in expected(key)
            if p in bad or not (results.parent / p).is_file()
        ]
        if st.missing:
            st.failures = [f for f in fails if _applies(f, key, datasets)]
        out.append(st)
    return out


def write_partial(
    results_dir: str | Path = paths.RESULTS,
    cells: Sequence[Key] | None = None,
    qa: bool | None = None,
    extras_of: Callable[[Key], Iterable[str]] | None = None,
    benchmarks_of: Callable[[Key], Iterable[str]] | None = None,
) -> Path | None:
    """Build results/partial/ (see the module docstring); returns the page, or None if nothing ran.

    ``benchmarks_of``: a cell's benchmark files (the workflow's); those that exist
    give the summary's cost columns (n/a where none exist); without it, no cost columns.
    """
    results = Path(results_dir)
    cells = sorted(cells) if cells is not None else discover_cells(results)
    if not cells:
        return None

    def cell_file(k: Key, template: str) -> str:  # the layout's file of cell k, below this results folder
        return f"{results.name}/" + paths.cell(template, *k).removeprefix(f"{paths.RESULTS}/")

    def extras(k: Key) -> list[str]:
        if extras_of is not None:
            return list(extras_of(k))
        # Without the plan's list (Plan.summary_extras): every file that can give summary columns, if it exists.
        return [cell_file(k, t) for t in summary_file_templates() if (results.parent / cell_file(k, t)).is_file()]

    use_qa = qa if qa is not None else any((results.parent / cell_file(k, paths.QA_METRICS)).is_file() for k in cells)

    def expected(k: Key) -> list[str]:
        files = [cell_file(k, paths.METRICS)]
        if use_qa:
            files.append(cell_file(k, paths.QA_METRICS))
        return files + extras(k)

    fails = failures(results)
    base = results.parent
    # An output that exists but cannot be trusted (truncated, edited, not JSON) counts as missing, by name.
    unreadable = _unreadable(base, [p for k in cells for p in expected(k)])
    states = status(results, cells, expected, fails, unreadable)
    have = [s for s in states if _usable(base, cell_file(s.key, paths.METRICS), unreadable)]
    rows = [
        {
            "metrics": str(base / cell_file(s.key, paths.METRICS)),
            "qa": str(base / cell_file(s.key, paths.QA_METRICS))
            if _usable(base, cell_file(s.key, paths.QA_METRICS), unreadable)
            else None,
        }
        for s in have
    ]
    extra_files = [str(base / p) for s in have for p in extras(s.key) if _usable(base, p, unreadable)]
    bench = [] if benchmarks_of is None else [p for s in have for p in benchmarks_of(s.key)]
    bench_files = [str(base / p) for p in dict.fromkeys(bench) if (base / p).is_file()]
    df = summary_mod.build(rows, extras=extra_files, benchmarks=bench_files, benchmark_root=str(results / "benchmarks"))
    if benchmarks_of is not None:
        for col in summary_mod.COST_COLUMNS:
            if col not in df.columns:
                df[col] = float("nan")
    by_key = {s.key: s.describe() for s in states}
    df["status"] = [by_key.get((r.dataset, r.generator, r.setting), "") for r in df.itertuples()] if len(df) else []

    out_dir = results / PARTIAL_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_mod.write(df, str(out_dir / "summary.csv"))
    failed = _failed_table(states, fails, cells, base)
    summary_mod.write(failed, str(out_dir / "failed.csv"))
    page = out_dir / "index.html"
    _render(df, failed, results, page, n_cells=len(cells))
    log.info("partial results: %d of %d cells complete -> %s", sum(s.complete for s in states), len(cells), page)
    return page


def _failed_table(
    states: Sequence[CellStatus], fails: Sequence[Failure], cells: Sequence[Key], base: Path
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for s in states:
        if s.complete:
            continue
        ds, gen, setting = s.key
        if not s.failures:
            rows.append(
                {
                    "dataset": ds,
                    "generator": gen,
                    "setting": setting,
                    "job": "",
                    "log": "",
                    "cause": "not run: missing " + ", ".join(s.missing),
                }
            )
        for f in s.failures:
            rows.append(
                {
                    "dataset": ds,
                    "generator": gen,
                    "setting": setting,
                    "job": f.rule,
                    "log": _rel(f.log, base),
                    "cause": f.cause,
                }
            )
    # Failed jobs of no cell (summary, report, a dataset's plots): listed too; logs
    # of cells no longer in the grid are not.
    datasets = {k[0] for k in cells}
    for f in fails:
        global_or_dataset = not f.scope or (len(f.scope) == 1 and f.scope[0] in datasets)
        if global_or_dataset and not any(f in st.failures for st in states):
            rows.append(
                {
                    "dataset": f.scope[0] if f.scope else "",
                    "generator": "",
                    "setting": "",
                    "job": f.rule,
                    "log": _rel(f.log, base),
                    "cause": f.cause,
                }
            )
    return pd.DataFrame(rows, columns=["dataset", "generator", "setting", "job", "log", "cause"])


def _rel(p: Path, base: Path) -> str:
    try:
        return str(p.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(p)


def _render(df: pd.DataFrame, failed: pd.DataFrame, results: Path, page: Path, n_cells: int) -> None:
    """The report page of the finished cells, the failures first (``report/templates/partial.html.j2``)."""
    rows = [
        {
            "dataset": r.dataset,
            "generator": r.generator,
            "setting": r.setting,
            "job": r.job,
            "href": str(Path("../..") / r.log) if r.log else "",
            "log": r.log,
            "cause": r.cause,
        }
        for r in failed.itertuples()
    ]
    n_failed = len({(r.dataset, r.generator, r.setting) for r in failed.itertuples() if r.setting})
    notice = {"n_finished": len(df), "n_cells": n_cells, "n_failed": n_failed, "failed": rows}
    report.render(df, results, page, {}, template="partial.html.j2", partial=notice)


def remove_superseded(results_dir: str | Path = paths.RESULTS) -> bool:
    """Delete results/partial once a full report newer than it exists."""
    results = Path(results_dir)
    partial, full = results / PARTIAL_DIR, results / "report" / "index.html"
    if not partial.is_dir() or not full.is_file() or STALE_MARK in full.read_text(encoding="utf-8"):
        return False
    pages = [partial / name for name in PARTIAL_FILES if (partial / name).is_file()]
    if not pages or max(p.stat().st_mtime for p in pages) > full.stat().st_mtime:
        return False
    from .manifest import sidecar

    for p in pages:
        p.unlink()
        sidecar(p).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        partial.rmdir()  # only if nothing else is in it
    return True


STALE_MARK = "privsynth-stale"


def mark_stale(results_dir: str | Path = paths.RESULTS) -> Path | None:
    """Mark the full report of an earlier run stale after a failed run (it would otherwise look current)."""
    import datetime
    import re

    from .io import write_text

    page = Path(results_dir) / "report" / "index.html"
    if not page.is_file():
        return None
    html = page.read_text(encoding="utf-8")
    if STALE_MARK in html:
        return page
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    banner = (
        f'<div class="{STALE_MARK}" style="background:#fdd;border:2px solid #c00;padding:0.8em;font-weight:bold">'
        f"STALE: the run of {when} failed, so this page shows the results of an earlier run; what finished "
        'since, and what failed: <a href="../partial/index.html">partial results</a></div>'
    )
    m = re.search(r"<body[^>]*>", html)
    at = m.end() if m else 0
    write_text(html[:at] + banner + html[at:], page)
    return page


def on_error(
    results_dir: str | Path,
    cells: Sequence[Key],
    qa: bool,
    extras_of: Callable[[Key], Iterable[str]],
    out: Any = None,
    benchmarks_of: Callable[[Key], Iterable[str]] | None = None,
) -> None:
    """The workflow's onerror hook: mark killed jobs, write the partial results, say where."""
    out = out or sys.stderr
    try:
        runstate.report_killed(Path(results_dir) / "logs", out=out)
        page = write_partial(results_dir, cells, qa, extras_of, benchmarks_of)
        if (stale := mark_stale(results_dir)) is not None:
            print(f"privsynth: {stale} is from an earlier run: marked STALE", file=out)
    except Exception as exc:  # noqa: BLE001 - never mask the run's own error
        print(f"privsynth: could not write partial results: {type(exc).__name__}: {exc}", file=out)
        return
    if page is not None:
        failed = pd.read_csv(page.parent / "failed.csv")
        print(
            f"privsynth: partial results of the finished cells in {page} (what did not finish, and why: "
            f"{page.parent / 'failed.csv'}, {len(failed)} row(s)); the next run retries it",
            file=out,
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    results = args[0] if args else paths.RESULTS
    page = write_partial(results)
    if page is None:
        print(f"no cells found under {results}", file=sys.stderr)
        return 1
    print(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
