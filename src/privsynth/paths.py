"""The results layout: every file the pipeline writes, named once.

Rules, jobs, EDA and the report all take their paths from here.  Each name is a
template with Snakemake-style wildcards (``{dataset}``, ``{generator}``,
``{setting}``, ...): rules use them as they are, Python code fills them with
``fill`` (or ``cell``).  The stage that writes a file is the stage whose name
starts the path below the cell or dataset folder (``qa/`` is ``fidelity_qa``,
``audit/`` the shadow-model audit, ``audit/one_run`` the one-run audit, ``audit/nobox`` the
no-box section).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Any

RESULTS = "results"

# --- per dataset: results/<dataset>/data/ ------------------------------------------
DATA = f"{RESULTS}/{{dataset}}/data"
RAW = f"{DATA}/raw.parquet"
TRAIN = f"{DATA}/train.parquet"
HOLDOUT = f"{DATA}/holdout.parquet"
SCHEMA = f"{DATA}/schema.json"
UTILITY_BASELINE = f"{DATA}/utility_baseline.json"
EDA_REAL = f"{DATA}/eda.html"

# The shadow-model and one-run audits' per-dataset inputs: results/<dataset>/audit/
DATASET_AUDIT = f"{RESULTS}/{{dataset}}/audit"
SHADOW_SETS = f"{DATASET_AUDIT}/shadow_sets.parquet"
AUDIT_TARGETS = f"{DATASET_AUDIT}/targets.json"
AUDIT_POOLS = f"{DATASET_AUDIT}/pools.parquet"
CANARIES = f"{DATASET_AUDIT}/one_run/canaries.parquet"

# The MOSTLY AI tutorial table: results/<dataset>/mostlyai/
MOSTLYAI_COMPARISON_CSV = f"{RESULTS}/{{dataset}}/mostlyai/comparison.csv"
MOSTLYAI_COMPARISON_MD = f"{RESULTS}/{{dataset}}/mostlyai/comparison.md"

# --- per cell: results/<dataset>/<generator>/<setting>/ ----------------------------
CELL = f"{RESULTS}/{{dataset}}/{{generator}}/{{setting}}"
SYNTHETIC = f"{CELL}/synthetic.parquet"
METRICS = f"{CELL}/metrics.json"
GENERATOR_ZIP = f"{CELL}/generator.zip"
QA_METRICS = f"{CELL}/qa/metrics.json"
QA_REPORT = f"{CELL}/qa/report.html"
EDA_SYNTHETIC = f"{CELL}/eda.html"
EDA_COMPARE = f"{CELL}/compare.html"
UTILITY = f"{CELL}/utility.json"
PAIRS = f"{CELL}/pairs.json"  # pairwise fidelity (privsynth.pairs)

# Shadow-model audit (audit/)
AUDIT = f"{CELL}/audit"
AUDIT_JSON = f"{AUDIT}/audit.json"
AUDIT_SCORES = f"{AUDIT}/scores.parquet"
AUDIT_ROC = f"{AUDIT}/roc.png"
AUDIT_SUMMARY = f"{AUDIT}/summary.json"
AUDIT_SHADOW_BATCH = f"{AUDIT}/shadow/batch_{{batch}}.parquet"
AUDIT_SHADOW_FITS = f"{AUDIT}/shadow/batch_{{batch}}.fits.json"
AUDIT_SKIPPED = f"{CELL}/audit_skipped.json"

# One-run canary audit (audit/one_run/)
ONE_RUN = f"{AUDIT}/one_run"
ONE_RUN_JSON = f"{AUDIT}/one_run.json"
ONE_RUN_TRAIN = f"{ONE_RUN}/train.parquet"
ONE_RUN_TRAIN_INFO = f"{ONE_RUN}/train.json"
ONE_RUN_SYNTHETIC = f"{ONE_RUN}/synthetic.parquet"
ONE_RUN_METRICS = f"{ONE_RUN}/metrics.json"
ONE_RUN_SCORES = f"{ONE_RUN}/scores.parquet"
ONE_RUN_SUMMARY = f"{ONE_RUN}/summary.json"
ONE_RUN_SKIPPED = f"{AUDIT}/one_run_skipped.json"

# No-box section of cells without a generator to refit (external files): audit/nobox*
NOBOX_JSON = f"{AUDIT}/nobox.json"
NOBOX_SUMMARY = f"{AUDIT}/nobox_summary.json"
NOBOX_SKIPPED = f"{AUDIT}/nobox_skipped.json"

# --- whole run ----------------------------------------------------------------------
SUMMARY = f"{RESULTS}/summary.csv"
REPORT_DIR = f"{RESULTS}/report"
REPORT = f"{REPORT_DIR}/index.html"
REPORT_PLOT = f"{REPORT_DIR}/plots/{{dataset}}/{{plot}}.svg"
PARTIAL = f"{RESULTS}/partial"
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"


def log(rule: str, scope: str = "") -> str:
    """``results/logs/<rule>[/<scope>].log``; ``scope`` may hold wildcards."""
    return f"{LOGS}/{rule}/{scope}.log" if scope else f"{LOGS}/{rule}.log"


def benchmark(rule: str, scope: str = "") -> str:
    """``results/benchmarks/<rule>[/<scope>].tsv`` (Snakemake ``benchmark:`` files)."""
    return f"{BENCHMARKS}/{rule}/{scope}.tsv" if scope else f"{BENCHMARKS}/{rule}.tsv"


# Log/benchmark scopes: one file per dataset, per cell, or per audit batch of a cell.
PER_DATASET = "{dataset}"
PER_CELL = "{dataset}/{generator}/{setting}"
PER_BATCH = f"{PER_CELL}/batch_{{batch}}"


def benchmark_scope(path: str | PurePath, root: str | PurePath = BENCHMARKS) -> tuple[str, tuple[str, ...]]:
    """``(rule, scope parts)`` of a benchmark file below ``root`` (the inverse of ``benchmark``).

    ``results/benchmarks/audit_fit/ds/gen/set/batch_0.tsv`` is
    ``("audit_fit", ("ds", "gen", "set", "batch_0"))``.
    """
    rel = Path(os.path.relpath(path, root))
    if not rel.parts or rel.parts[0] == "..":
        raise ValueError(f"{path} is not below {root}")
    parts = (*rel.parts[:-1], rel.stem)
    return parts[0], tuple(parts[1:])


def fill(template: str, **wildcards: Any) -> str:
    """``template`` with its wildcards filled (every one must be given)."""
    return template.format(**wildcards)


def cell(template: str, dataset: str, generator: str, setting: str, **more: Any) -> str:
    """A per-cell ``template`` filled for one cell."""
    return template.format(dataset=dataset, generator=generator, setting=setting, **more)


def of(template: str, cell: Any, **more: Any) -> str:
    """``template`` filled from anything with ``dataset``, ``generator``, ``setting`` attributes.

    A grid cell (``config.Cell``) or a rule's wildcards; per-dataset templates
    take only the dataset from it.
    """
    have = {k: getattr(cell, k) for k in ("dataset", "generator", "setting") if hasattr(cell, k)}
    return template.format(**have, **more)
