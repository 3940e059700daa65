"""Helpers of workflow/rules/eda.smk: the config slices, the batch rules' names, inputs, links and targets."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .. import paths

_REPORT_KEYS = ("sections", "synthetic_sections", "wide_columns", "wide_skip", "max_rows", "timeout")


def report_slice(config: Mapping[str, Any], synthetic: bool = False) -> dict[str, Any]:
    """The part of ``eda`` that changes a report: toggling eda.compare reruns no report."""
    return {k: config["eda"].get(k) for k in _REPORT_KEYS if synthetic or k != "synthetic_sections"}


def batch_rule_name(dataset: str) -> str:
    """``eda_synthetic_<dataset>``: the rule that reports on every synthetic set of a dataset."""
    return "eda_synthetic_" + re.sub(r"\W", "_", dataset)


def compare_inputs(config: Mapping[str, Any], dataset: str, generator: str, setting: str) -> dict[str, str]:
    inputs = {
        "train": paths.fill(paths.TRAIN, dataset=dataset),
        "synthetic": paths.cell(paths.SYNTHETIC, dataset, generator, setting),
        "metrics": paths.cell(paths.METRICS, dataset, generator, setting),
    }
    # Reuse the fidelity report's marginals and correlation matrices when there is one.
    if config["qa"]["enabled"]:
        inputs["qa"] = paths.cell(paths.QA_REPORT, dataset, generator, setting)
    return inputs


def _relative(template: str, start: str) -> str:
    """``template``'s path relative to the folder of ``start`` (same wildcards)."""
    return os.path.relpath(template, os.path.dirname(start)).replace(os.sep, "/")


def compare_links(config: Mapping[str, Any]) -> dict[str, str]:
    """Links from compare.html to the EDA reports the config builds (relative paths)."""
    e = config["eda"]
    links = {"real EDA": _relative(paths.EDA_REAL, paths.EDA_COMPARE)} if e["enabled"] else {}
    if e["enabled"] and e["synthetic"]:
        links["synthetic EDA"] = _relative(paths.EDA_SYNTHETIC, paths.EDA_COMPARE)
    return links


def targets(config: Mapping[str, Any], datasets: Sequence[str], cell_dirs: Sequence[str]) -> list[str]:
    """EDA reports and comparison pages the config builds; ``cell_dirs``: ``results/<d>/<g>/<s>`` of every cell."""
    e = config["eda"]
    out: list[str] = []
    if e["enabled"]:
        out += [paths.fill(paths.EDA_REAL, dataset=ds) for ds in datasets]
        if e["synthetic"]:
            out += [f"{d}/{_in_cell(paths.EDA_SYNTHETIC)}" for d in cell_dirs]
    if e["compare"]:
        out += [f"{d}/{_in_cell(paths.EDA_COMPARE)}" for d in cell_dirs]
    return out


def _in_cell(template: str) -> str:
    """A per-cell template's path inside the cell folder."""
    return template[len(paths.CELL) + 1 :]
