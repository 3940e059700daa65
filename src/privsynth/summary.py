"""``results/summary.csv``: one row per dataset x generator x setting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .io import read_json, write_with

# Leading columns in this order; any other metric follows alphabetically.
LEADING = [
    "dataset", "generator", "setting", "base_setting", "repeat", "positive_control", "seed", "train_rows", "rows",
    "runtime_seconds", "fit_seconds", "sample_seconds", "epsilon", "delta",
    # training that stopped before it converged (generators that report it: mostlyai)
    "undertrained", "epochs", "stop_reason",
]  # fmt: skip
QA_KEYS = [
    "accuracy_overall", "accuracy_univariate", "accuracy_bivariate", "accuracy_trivariate",
    "similarity_discriminator_auc_training_synthetic", "distances_dcr_share",
    "distances_ims_training", "distances_ims_holdout",
]  # fmt: skip


KEY = ("dataset", "generator", "setting")


def build(cells: Sequence[Mapping[str, Any]], extras: Sequence[str] = ()) -> pd.DataFrame:
    """``cells``: dicts with ``metrics`` (path) and optional ``qa`` (path) per grid cell.

    ``extras``: flat JSON files carrying the KEY columns; their other keys are
    added as columns to the matching row (audit results, ML utility, ...).
    """
    rows = []
    for c in cells:
        row: dict[str, Any] = dict(read_json(c["metrics"]))
        if c.get("qa"):
            qa = read_json(c["qa"])
            row.update({f"qa_{k}": qa.get(k) for k in QA_KEYS})
        rows.append(row)
    by_key = {tuple(r[k] for k in KEY): r for r in rows}
    for path in extras:
        extra = dict(read_json(path))
        key = tuple(extra.pop(k) for k in KEY)
        by_key[key].update(extra)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=LEADING)
    lead = [c for c in LEADING if c in df.columns]
    qa_cols = [f"qa_{k}" for k in QA_KEYS if f"qa_{k}" in df.columns]
    rest = sorted(c for c in df.columns if c not in lead and c not in qa_cols)
    df = df[lead + qa_cols + rest].sort_values(["dataset", "generator", "setting"], kind="stable")
    # Mark the positive control in the label too, so no plot or table can miss it.
    df.insert(3, "label", df.apply(_label, axis=1))
    return df.reset_index(drop=True)


def _label(row: pd.Series) -> str:
    label = f"{row['generator']}/{row['setting']}"
    return f"{label} (positive control)" if bool(row.get("positive_control")) else label


def write(df: pd.DataFrame, path: str) -> None:
    write_with(lambda tmp: df.to_csv(tmp, index=False), path)
