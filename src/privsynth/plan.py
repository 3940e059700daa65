"""The workflow's plan: built once from the validated config, read by everything that asks what runs.

``Plan.start`` is the workflow's start-up sequence (``workflow/rules/common.smk``
calls it, and so do ``python -m privsynth check``, the tests and the
benchmarks): the strict re-read of the config files, the check that a
``--configfile`` lists its datasets, the schema check that fills defaults, then
the plan.  The plan holds

- the cells (``config.Grid``) and each job's config slice: ``plan.grid``
  (data, synthesis, QA, utility), ``plan.audit`` (shadow-model audit,
  ``audit.shadow.plan.AuditPlan``), ``plan.one_run`` (one-run audit,
  ``audit.one_run.plan.OneRunPlan``), ``plan.nobox_slice`` (no-box section);
- per cell, the files whose keys become its summary.csv columns
  (``summary_extras``) and the benchmark files of its jobs (``benchmarks``,
  the cost columns);
- the final targets (``targets``, what ``rule all`` builds), the summary job's
  inputs and the files the report links to.

The rule files only read it: none appends to a list another one reads, so the
order of the ``include:`` lines decides nothing.  ``privsynth.partial`` asks the
same plan which files a cell's summary row is made of.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import generators, paths
from .audit.nobox import plan as nobox_plan
from .audit.one_run.plan import OneRunPlan
from .audit.shadow.plan import AuditPlan
from .config import Cell, Grid, Validator, check_config_files, check_has_datasets, validate_config
from .eda import rules as eda_rules
from .report import artefacts
from .validation import Validation

Key = tuple[str, str, str]

# Per-cell files other than metrics.json (and qa/metrics.json) whose keys become summary.csv columns,
# in the order they are merged: (stage, the file of a cell the stage covers, the file saying why not).
SUMMARY_FILES = (
    ("audit", paths.AUDIT_SUMMARY, paths.AUDIT_SKIPPED),
    ("one_run", paths.ONE_RUN_SUMMARY, paths.ONE_RUN_SKIPPED),
    ("nobox", paths.NOBOX_SUMMARY, paths.NOBOX_SKIPPED),
    ("utility", paths.UTILITY, None),
    ("pairs", paths.PAIRS, None),
)
# Benchmark files of the rules that have one (their ``benchmark:``), per cell unless the scope says otherwise;
# the rule files take theirs from here, so the summary's cost inputs are the files the rules write.
BENCHMARKS = {
    "synthesize": paths.benchmark("synthesize", paths.PER_CELL),  # every synthesize_* rule
    "fidelity_qa": paths.benchmark("fidelity_qa", paths.PER_CELL),
    "fidelity_pairs": paths.benchmark("fidelity_pairs", paths.PER_CELL),
    "eda_real": paths.benchmark("eda", "{dataset}/data"),
    "eda_synthetic": paths.benchmark("eda", paths.PER_CELL),  # eda.batch: false
    "eda_batch": paths.benchmark("eda", "{dataset}/synthetic"),  # one job per dataset (eda.batch)
    "eda_compare": paths.benchmark("eda_compare", paths.PER_CELL),
    "audit_fit": paths.benchmark("audit_fit", paths.PER_BATCH),
    "audit_attack": paths.benchmark("audit_attack", paths.PER_CELL),
    "audit_one_run_fit": paths.benchmark("audit_one_run_fit", paths.PER_CELL),
    "audit_one_run_attack": paths.benchmark("audit_one_run_attack", paths.PER_CELL),
    "audit_nobox": paths.benchmark("audit_nobox", paths.PER_CELL),
    "utility": paths.benchmark("utility", paths.PER_CELL),
}
TRAIN_SIZES_SVG = f"{paths.RESULTS}/{{dataset}}/train_sizes.svg"
TRAIN_SIZES_CSV = f"{paths.RESULTS}/{{dataset}}/train_sizes.csv"


def _key(c: Cell) -> Key:
    return (c.dataset, c.generator, c.setting)


class Plan:
    """Everything the workflow plans, computed once (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any], validate: Validator | None = None) -> None:
        self.config = config
        self.grid = Grid(config, validate)
        self.audit = AuditPlan(config, self.grid)
        self.one_run = OneRunPlan(config, self.grid)
        self.cells: dict[Key, Cell] = self.grid.cells
        self.datasets: list[str] = self.grid.datasets
        self.nobox: set[Key] = {_key(c) for c in nobox_plan.cells(self.grid)}
        self.qa: bool = bool(config["qa"]["enabled"])
        eda = config["eda"]
        self.eda_batch: bool = bool(eda.get("batch", True))
        self.train_size_axes = {ds: a for ds, a in self.grid.axes.items() if a is not None}
        stages = {
            "audit": bool(self.audit.audited or self.audit.no_refit),
            "one_run": bool(self.one_run.audited or self.one_run.no_refit),
            "nobox": bool(self.nobox),
            "utility": True,
            "pairs": bool(config["fidelity_pairs"]["enabled"]),
        }
        covered = {"audit": self.audit.audited, "one_run": self.one_run.audited, "nobox": self.nobox}
        # (template per cell of each stage that runs, in SUMMARY_FILES order) for every cell
        self._extras: dict[Key, list[str]] = {
            k: [
                paths.of(done if none is None or k in covered[stage] else none, c)
                for stage, done, none in SUMMARY_FILES
                if stages[stage]
            ]
            for k, c in self.cells.items()
        }
        self._benchmarks = {k: self._cell_benchmarks(c, eda) for k, c in self.cells.items()}
        self.targets: list[str] = self._targets(eda)

    @classmethod
    def start(
        cls,
        config: dict[str, Any],
        schema: str | Path,
        configfiles: Sequence[str | Path] = (),
        overwrite_configfiles: Sequence[str | Path] = (),
    ) -> Plan:
        """The workflow's start-up: ``configfiles`` re-read strictly, ``config`` checked against
        ``schema`` (its defaults filled in, as every generator's settings are), then the plan.

        ``overwrite_configfiles``: the ``--configfile`` files, which replace the default config.
        Raises ConfigError (one line, the dotted key first).
        """
        check_config_files(list(configfiles))
        check_has_datasets(config, list(overwrite_configfiles))
        validate = Validation()
        validate_config(config, validate, schema)
        return cls(config, validate)

    # --- per cell ---------------------------------------------------------------
    def cell(self, dataset: str, generator: str, setting: str) -> Cell:
        return self.grid.cell(dataset, generator, setting)

    def summary_extras(self, key: Key) -> list[str]:
        """Files whose keys (besides dataset/generator/setting) become the cell's summary.csv columns."""
        return list(self._extras[tuple(key)])  # type: ignore[index]

    def benchmarks(self, key: Key) -> list[str]:
        """Benchmark files of the cell's jobs, in a fixed order (a per-dataset file is shared by its cells)."""
        return list(self._benchmarks[tuple(key)])  # type: ignore[index]

    def _cell_benchmarks(self, c: Cell, eda: Mapping[str, Any]) -> list[str]:
        k, b = _key(c), BENCHMARKS
        rules = ["synthesize"]
        if self.qa:
            rules.append("fidelity_qa")
        if eda["enabled"] and eda["synthetic"]:
            rules.append("eda_batch" if self.eda_batch else "eda_synthetic")
        if eda["compare"]:
            rules.append("eda_compare")
        files = [paths.of(b[r], c) for r in rules]
        if k in self.audit.audited:
            files += [paths.of(b["audit_fit"], c, batch=i) for i in self.audit.batches(c.dataset)]
            files.append(paths.of(b["audit_attack"], c))
        if k in self.one_run.audited:
            if k not in self.one_run.release:
                files.append(paths.of(b["audit_one_run_fit"], c))
            files.append(paths.of(b["audit_one_run_attack"], c))
        if k in self.nobox:
            files.append(paths.of(b["audit_nobox"], c))
        files.append(paths.of(b["utility"], c))
        if self.config["fidelity_pairs"]["enabled"]:
            files.append(paths.of(b["fidelity_pairs"], c))
        return files

    # --- whole run --------------------------------------------------------------
    def _targets(self, eda: Mapping[str, Any]) -> list[str]:
        cells = list(self.cells.values())
        out = [paths.SUMMARY]
        out += [paths.fill(paths.MOSTLYAI_COMPARISON_CSV, dataset=ds) for ds in self.datasets if self.mostlyai(ds)]
        out += eda_rules.targets(self.config, self.datasets, [paths.of(paths.CELL, c) for c in cells])
        out += [paths.of(paths.AUDIT_JSON, c) for c in cells if _key(c) in self.audit.audited]
        out += [paths.of(paths.ONE_RUN_JSON, c) for c in cells if _key(c) in self.one_run.audited]
        out += [paths.of(paths.NOBOX_JSON, c) for c in cells if _key(c) in self.nobox]
        out.append(paths.REPORT)
        out += [paths.fill(TRAIN_SIZES_SVG, dataset=ds) for ds in self.train_size_axes]
        return out

    def summary_inputs(self) -> dict[str, list[str]]:
        """The summary job's inputs: every cell's metrics (and QA metrics), summary files and benchmarks."""
        keys = list(self.cells)
        inputs = {"metrics": [paths.cell(paths.METRICS, *k) for k in keys]}
        if self.qa:
            inputs["qa"] = [paths.cell(paths.QA_METRICS, *k) for k in keys]
        n = len(self._extras[keys[0]])
        inputs["extra"] = [self._extras[k][i] for i in range(n) for k in keys]  # stage by stage
        inputs["benchmarks"] = list(dict.fromkeys(p for k in keys for p in self._benchmarks[k]))
        return inputs

    def report_inputs(self) -> list[str]:
        """What the report page links to: every target but the report's own files, the summary's
        inputs, and the files their rules write beside them (``report.artefacts``)."""
        report = f"{paths.REPORT_DIR}/"
        files = [t for t in self.targets[1:] if not t.startswith(report)]
        return artefacts.inputs(files + [p for group in self.summary_inputs().values() for p in group])

    def mostlyai(self, dataset: str) -> list[Cell]:
        """The dataset's MOSTLY AI cells (its tutorial table's rows)."""
        return self.grid.of(generator="mostlyai", dataset=dataset)

    # --- per job: what input functions return --------------------------------------
    def synth_train(self, dataset: str, generator: str, setting: str) -> str:
        """The training set of a cell's main synthesis: the audit training set where the release is the audit run."""
        if self.one_run.release_is_audit(dataset, generator, setting):
            return paths.cell(paths.ONE_RUN_TRAIN, dataset, generator, setting)
        return paths.fill(paths.TRAIN, dataset=dataset)

    def one_run_output(self, dataset: str, generator: str, setting: str) -> dict[str, str]:
        """Synthetic output and metrics of the one-run audit's run: the release, or the separate audit fit."""
        if self.one_run.release_is_audit(dataset, generator, setting):
            synthetic, metrics = paths.SYNTHETIC, paths.METRICS
        else:
            synthetic, metrics = paths.ONE_RUN_SYNTHETIC, paths.ONE_RUN_METRICS
        return {
            "synthetic": paths.cell(synthetic, dataset, generator, setting),
            "metrics": paths.cell(metrics, dataset, generator, setting),
        }

    def generator_inputs(self, dataset: str, generator: str, setting: str) -> list[str]:
        """Files a cell's generator reads besides its training set (e.g. the negative control's reference),
        declared in its schema's x-privsynth block: planning imports no plug-in code."""
        return generators.declared(generator).files(self.cell(dataset, generator, setting).settings)

    def nobox_slice(self, dataset: str, generator: str, setting: str) -> dict[str, Any]:
        return nobox_plan.job_slice(self.grid, dataset, generator, setting)

    def nobox_members(self, dataset: str, generator: str, setting: str) -> str:
        return nobox_plan.members_path(self.grid, dataset, generator, setting)

    def audit_files(self, template: str, dataset: str, generator: str, setting: str) -> list[str]:
        """``template`` (an audit batch's file) for every batch of an audited cell."""
        return [paths.cell(template, dataset, generator, setting, batch=b) for b in self.audit.batches(dataset)]


def summary_file_templates() -> list[str]:
    """Every per-cell file that can give summary.csv columns, in merge order (``SUMMARY_FILES``):
    what ``privsynth.partial`` looks for when it has no plan (a results folder alone)."""
    return [t for _, done, none in SUMMARY_FILES for t in (done, none) if t is not None]
