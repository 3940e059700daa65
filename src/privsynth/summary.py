"""``results/summary.csv``: one row per dataset x generator x setting."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import bracket, paths
from .io import read_json, write_with

# Leading columns in this order; any other metric follows alphabetically.
LEADING = [
    "dataset",
    "generator",
    "setting",
    "base_setting",
    "repeat",
    "positive_control",
    "seed",
    "train_rows",
    "rows",
    "runtime_seconds",
    "fit_seconds",
    "sample_seconds",
    "epsilon",
    "delta",
    # the accountant ε after the last epoch trained, and the claim's check (privsynth.accounting)
    "epsilon_trained",
    "dp_check",
    # training that stopped before it converged (generators that report it: mostlyai)
    "undertrained",
    "epochs",
    "stop_reason",
]
QA_KEYS = [
    "accuracy_overall",
    "accuracy_univariate",
    "accuracy_bivariate",
    "accuracy_trivariate",
    "similarity_discriminator_auc_training_synthetic",
    "distances_dcr_share",
    "distances_ims_training",
    "distances_ims_holdout",
]


KEY = ("dataset", "generator", "setting")
# Measured cost per cell, from the jobs' Snakemake benchmark files (docs/report.md).
COST_COLUMNS = ["cost_wall_s", "cost_max_rss_mb", "synth_wall_s", "synth_max_rss_mb"]
SYNTH_RULE = "synthesize"  # the benchmark folder of every synthesize_* rule


def build(
    cells: Sequence[Mapping[str, Any]],
    extras: Sequence[str] = (),
    benchmarks: Sequence[str | Path] = (),
    benchmark_root: str | Path = paths.BENCHMARKS,
) -> pd.DataFrame:
    """``cells``: dicts with ``metrics`` (path) and optional ``qa`` (path) per grid cell.

    ``extras``: flat JSON files carrying the KEY columns; their other keys are
    added as columns to the matching row (audit results, ML utility, ...).
    ``benchmarks``: Snakemake benchmark files below ``benchmark_root``
    (``<rule>/<dataset>/<generator>/<setting>[/...].tsv``, or per dataset
    ``<rule>/<dataset>[/...].tsv``); when given, every row gets the
    ``COST_COLUMNS`` (see ``costs``).
    """
    rows = []
    for c in cells:
        # Nested parts of metrics.json (dp_trace, dp_recomputed) stay there, not in the CSV.
        row: dict[str, Any] = {k: v for k, v in read_json(c["metrics"]).items() if not isinstance(v, dict)}
        if c.get("qa"):
            qa = read_json(c["qa"])
            row.update({f"qa_{k}": qa.get(k) for k in QA_KEYS})
        rows.append(row)
    by_key = {tuple(r[k] for k in KEY): r for r in rows}
    for path in extras:
        extra = dict(read_json(path))
        key = tuple(extra.pop(k) for k in KEY)
        by_key[key].update(extra)
    if benchmarks:
        for key, cost in costs(list(by_key), benchmarks, benchmark_root).items():
            by_key[key].update(cost)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=LEADING)
    lead = [c for c in LEADING if c in df.columns]
    qa_cols = [f"qa_{k}" for k in QA_KEYS if f"qa_{k}" in df.columns]
    rest = sorted(c for c in df.columns if c not in lead and c not in qa_cols)
    df = df[lead + qa_cols + rest].sort_values(["dataset", "generator", "setting"], kind="stable")
    # Mark the positive control in the label too, so no plot or table can miss it.
    df.insert(3, "label", df.apply(_label, axis=1))
    # Every cell between its dataset's marginals floor and copy ceiling (privsynth.bracket).
    df = bracket.add_columns(df)
    return df.reset_index(drop=True)


def costs(
    keys: Sequence[tuple[str, ...]], benchmarks: Sequence[str | Path], root: str | Path = paths.BENCHMARKS
) -> dict[tuple[str, ...], dict[str, float]]:
    """Per cell: ``cost_wall_s`` (the sum of its jobs' wall-clock seconds),
    ``cost_max_rss_mb`` (the largest max RSS of them), and the same for its
    synthesis alone (``synth_wall_s``, ``synth_max_rss_mb``).

    A benchmark file whose scope is a cell counts for that cell; one whose scope
    is a dataset (a job for all its cells, e.g. the batched EDA) counts for each
    of the dataset's cells with an equal share of its time (and its full RSS).
    NaN where a cell has no benchmark (or the benchmark measured no memory).
    """
    known = set(keys)
    per_dataset: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for k in keys:
        per_dataset[k[0]].append(k)
    parts: dict[tuple[str, ...], list[tuple[str, float, float]]] = defaultdict(list)
    for path in benchmarks:
        rule, scope = paths.benchmark_scope(path, root)
        wall, rss = read_benchmark(path)
        if len(scope) >= 3 and tuple(scope[:3]) in known:
            parts[tuple(scope[:3])].append((rule, wall, rss))
        elif scope and len(scope) < 3:
            shared = per_dataset.get(scope[0], [])
            for k in shared:
                parts[k].append((rule, wall / len(shared), rss))
    out = {}
    for k in keys:
        p = parts.get(k, [])
        synth = [x for x in p if x[0] == SYNTH_RULE]
        out[k] = {
            "cost_wall_s": _total(w for _, w, _ in p),
            "cost_max_rss_mb": _peak(r for _, _, r in p),
            "synth_wall_s": _total(w for _, w, _ in synth),
            "synth_max_rss_mb": _peak(r for _, _, r in synth),
        }
    return out


def read_benchmark(path: str | Path) -> tuple[float, float]:
    """``(s, max_rss)`` of a Snakemake benchmark TSV (max RSS in MB; NaN if not measured)."""
    df = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
    wall = float(df["s"].mean()) if len(df) else math.nan
    rss = float(df["max_rss"].max()) if len(df) else math.nan
    return wall, rss


def _total(values: Any) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return round(sum(vals), 4) if vals else math.nan


def _peak(values: Any) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return max(vals) if vals else math.nan


def _label(row: pd.Series) -> str:
    label = f"{row['generator']}/{row['setting']}"
    return f"{label} (positive control)" if bool(row.get("positive_control")) else label


def write(df: pd.DataFrame, path: str) -> None:
    write_with(lambda tmp: df.to_csv(tmp, index=False), path)
