"""The request: the schema's columns described in words, seeded real example rows as CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from ...schema import FINITE_TYPES, Schema

SYSTEM_PROMPT = (
    "You generate synthetic tabular data. Reply with CSV only: one header line with "
    "the column names exactly as given, then one data row per line. Comma-separated, "
    "double quotes around values that contain commas, no index column, no commentary."
)


def fmt_value(v: Any) -> str:
    """A value as CSV text: shortest round-trip floats, integral floats as integers."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def to_csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(df.columns))
    for row in df.itertuples(index=False, name=None):
        w.writerow([fmt_value(v) for v in row])
    return buf.getvalue()


def describe_schema(schema: Schema) -> str:
    lines = []
    for c in schema:
        if c["type"] in FINITE_TYPES:
            kind = "ordered category" if c["type"] == "finite/ordered" else "category"
            what = f"{kind}, one of {json.dumps([str(v) for v in c['representation']])}"
        else:
            kind = "integer" if c["type"] == "countable" else "number"
            what = f"{kind} between {fmt_value(c.get('min'))} and {fmt_value(c.get('max'))}"
        if c.get("nullable"):
            what += "; may be empty (missing)"
        lines.append(f"- {c['name']}: {what}")
    return "\n".join(lines)


def build_messages(schema: Schema, examples: pd.DataFrame, n_rows: int) -> list[dict[str, str]]:
    parts = [f"The table has {len(schema)} columns:", describe_schema(schema), ""]
    if len(examples):
        parts += [
            f"{len(examples)} example rows from the real table:",
            "```csv",
            to_csv(examples).rstrip("\n"),
            "```",
            "",
        ]
    parts.append(
        f"Write {n_rows} new, realistic rows of this table as CSV with the header line "
        f"{','.join(schema.names)}. Do not repeat the example rows."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(parts)}]
