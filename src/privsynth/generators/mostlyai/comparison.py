"""The MOSTLY AI differential-privacy tutorial's table: one row per setting of a dataset."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ...io import read_json, write_text, write_with
from .progress import finite, undertraining

log = logging.getLogger("privsynth.mostlyai")

COMPARISON_COLUMNS = [
    "setting",
    "accuracy",
    "accuracy_source",
    "training_seconds",
    "epsilon",
    "delta",
    "epochs",
    "stop_reason",
    "undertrained",
    "sdk_accuracy",
    "qa_accuracy",
    "val_loss",
    "runtime_seconds",
    "noise_multiplier",
    "max_grad_norm",
    "max_epsilon",
    "device",
    "undertrained_reason",
]
ACCURACY_SOURCES = {"sdk": "SDK model report", "qa": "privsynth QA"}


def comparison_table(metrics: list[Mapping[str, Any]], qa: list[Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """The tutorial's table: one row per setting (runtime = training time of the last checkpoint).

    ``accuracy`` is what the tutorial prints: the SDK's ``g.accuracy`` (its model
    report: mostlyai-qa of generated vs training rows) when that report ran,
    otherwise privsynth's own mostlyai-qa accuracy of the released sample;
    ``accuracy_source`` says which, and both raw values stay in their columns.
    """
    rows = []
    for i, m in enumerate(metrics):
        row = {c: m.get(c) for c in COMPARISON_COLUMNS}
        sdk = finite(m.get("accuracy"))
        q = finite(qa[i].get("accuracy_overall")) if qa else None
        row["sdk_accuracy"], row["qa_accuracy"] = sdk, q
        if sdk is not None:
            row["accuracy"], row["accuracy_source"] = sdk, ACCURACY_SOURCES["sdk"]
        elif q is not None:
            row["accuracy"], row["accuracy_source"] = q, ACCURACY_SOURCES["qa"]
        else:
            row["accuracy"], row["accuracy_source"] = None, None
        if row["undertrained"] is None and m.get("stop_reason") is not None:
            # metrics.json of an older run: derive the flag from what it recorded
            why = undertraining(str(m["stop_reason"]), float(m.get("epochs") or 0), None)
            row["undertrained"], row["undertrained_reason"] = why is not None, why
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _cell(v: Any, col: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if col == "delta":
        return f"{v:.0e}"
    if col in ("accuracy", "sdk_accuracy", "qa_accuracy"):
        return f"{v:.3f}"
    if col in ("epsilon", "val_loss"):
        return f"{v:.2f}"
    if col in ("training_seconds", "runtime_seconds"):
        return f"{v:.0f}"
    if col == "epochs":
        return f"{v:g}"
    if col == "undertrained":
        return "**UNDERTRAINED**" if bool(v) else "no"
    # "|" would end a markdown cell early (to_markdown does not escape it)
    return str(v).replace("|", "\\|")


_MD_COLUMNS = {
    "setting": "setting",
    "accuracy": "accuracy",
    "accuracy_source": "accuracy from",
    "training_seconds": "runtime (s)",
    "epsilon": "epsilon",
    "delta": "delta",
    "epochs": "epochs",
    "stop_reason": "stopped because",
    "undertrained": "undertrained",
    "val_loss": "val loss",
    "runtime_seconds": "job wall (s)",
}


def comparison_markdown(df: pd.DataFrame, dataset: str) -> str:
    shown = pd.DataFrame({head: [_cell(v, col) for v in df[col]] for col, head in _MD_COLUMNS.items()})
    lines = [
        f"# MOSTLY AI on {dataset}",
        "",
        "runtime = training time at the last checkpoint (as in the MOSTLY AI DP tutorial);",
        "accuracy = the tutorial's accuracy: the SDK's model report (mostlyai-qa of generated vs training rows)",
        "when it ran (model_report: true), else privsynth's mostlyai-qa fidelity report of the released sample",
        "('accuracy from' says which; comparison.csv has both);",
        "job wall = the whole job (analysis, training, model report, generation).",
        "",
        shown.to_markdown(index=False, disable_numparse=True),
    ]
    under = df[df["undertrained"].fillna(False).astype(bool)]
    if len(under):
        lines += [
            "",
            f"**{len(under)} of {len(df)} settings are UNDERTRAINED**: their accuracy says more about the cap "
            "than about the generator (a time cap counts seconds, so it depends on how busy the machine was):",
            "",
        ]
        lines += [f"- {r['setting']}: {_cell(r['undertrained_reason'], 'reason')}" for _, r in under.iterrows()]
    return "\n".join(lines) + "\n"


def write_comparison(
    metrics_paths: Sequence[str | Path],
    qa_paths: Sequence[str | Path],
    dataset: str,
    out_csv: str | Path,
    out_md: str | Path,
) -> pd.DataFrame:
    """The table of the settings whose metrics.json (and QA metrics, if any) are given, as CSV and markdown."""
    metrics = [read_json(p) for p in metrics_paths]
    qa = [read_json(p) for p in qa_paths] or None
    df = comparison_table(metrics, qa)
    write_with(lambda tmp: df.to_csv(tmp, index=False), out_csv)
    write_text(comparison_markdown(df, dataset), out_md)
    log.info("comparison of %d settings on %s:\n%s", len(df), dataset, comparison_markdown(df, dataset))
    return df
