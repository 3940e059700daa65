"""The reply: CSV rows found in the model's text, typed and checked against the schema."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ...schema import Schema, coerce_frame, validate_frame


class MalformedReply(Exception):
    """A reply that holds no usable CSV table (costs one retry, not the job)."""


_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def _norm(name: str) -> str:
    return name.strip().strip('"').strip("'").strip().lower()


def _split(line: str) -> list[str]:
    return next(csv.reader([line], skipinitialspace=True), [])


def parse_reply(text: str, names: Sequence[str]) -> tuple[list[list[str]], int]:
    """CSV rows (in schema column order) from a reply, and the count of malformed lines.

    Accepts a bare CSV or one inside a markdown fence, with commentary around it.
    Raises MalformedReply when no header line with exactly the schema's columns exists.
    """
    if not text or not text.strip():
        raise MalformedReply("empty reply")
    want = [_norm(n) for n in names]
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    seen: list[str] = []
    for block in candidates:
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if "," not in line and len(names) > 1:
                continue
            header = [_norm(f) for f in _split(line)]
            if sorted(header) == sorted(want) and len(set(header)) == len(header):
                order = [header.index(w) for w in want]
                rows, bad = [], 0
                for raw in lines[i + 1 :]:
                    if not raw.strip():
                        continue
                    if raw.lstrip().startswith("```"):
                        break
                    fields = [f.strip() for f in _split(raw)]
                    if len(fields) != len(names):
                        bad += 1
                        continue
                    rows.append([fields[j] for j in order])
                return rows, bad
            if len(seen) < 1 and len(header) > 1:
                seen.append(",".join(header))
    got = f" (first header-like line: {seen[0][:120]!r})" if seen else ""
    raise MalformedReply(f"no CSV header with the {len(names)} expected columns{got}")


def validate_rows(rows: list[list[str]], schema: Schema) -> tuple[pd.DataFrame, dict[str, int]]:
    """Typed frame of the valid rows, and counts of why the others failed."""
    raw = pd.DataFrame(rows, columns=schema.names, dtype=object)
    if raw.empty:
        return coerce_frame(raw, schema), {}
    raw = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    given = raw.ne("")
    typed = coerce_frame(raw.where(given, np.nan), schema)
    # coerce_frame turns unparseable text into NaN; such a value is wrong, not missing.
    valid = pd.Series(True, index=raw.index)
    reasons: dict[str, int] = {}
    for name in schema.names:
        bad = given[name] & typed[name].isna() & valid
        if bad.any():
            reasons[f"{name}: unparseable value"] = int(bad.sum())
            valid &= ~bad
    check = validate_frame(typed, schema)
    newly = ~check.valid & valid
    if newly.any():
        # validate_frame counts reasons over all rows; recount over rows not failed yet.
        sub = validate_frame(typed[newly], schema)
        for k, v in sub.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    valid &= check.valid
    return typed[valid], reasons


def fmt_reasons(reasons: Mapping[str, int]) -> str:
    """The most frequent reasons rows were invalid, as one line."""
    return ", ".join(f"{k} ({v})" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])[:6])
