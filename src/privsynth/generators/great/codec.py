"""Rows as be-great text: reversible renaming of names and labels its format cannot carry.

be-great renders a row as "col is value, col is value" and parses it back by
splitting on "," and " is "; names or values containing these must be renamed.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

import pandas as pd

from ...schema import FINITE_TYPES, Schema, _value_str

log = logging.getLogger(__package__)  # one logger for the package, as before the split

_UNSAFE = re.compile(r",| is |\n|\r|<\|endoftext\|>")
PLACEHOLDER = "placeholder"  # be-great's marker for a column the model did not produce


def _safe_text(text: str) -> str:
    out = _UNSAFE.sub(lambda m: ";" if m.group(0) == "," else " ", str(text)).strip()
    return re.sub(r"\s+", " ", out) or "_"


def _unique(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for n in names:
        seen[n] += 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


class Codec:
    """Reversible renaming of columns and category labels that be-great cannot parse."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        inner = _unique([_safe_text(n) for n in schema.names])
        self.to_inner = dict(zip(schema.names, inner, strict=True))
        self.to_outer = {v: k for k, v in self.to_inner.items()}
        self.cat_in: dict[str, dict[str, str]] = {}
        self.cat_out: dict[str, dict[str, str]] = {}
        for col in schema:
            if col["type"] in FINITE_TYPES:
                labels = [str(v) for v in col["representation"]]
                safe = _unique([_safe_text(v) for v in labels])
                self.cat_in[col["name"]] = dict(zip(labels, safe, strict=True))
                self.cat_out[col["name"]] = dict(zip(safe, labels, strict=True))
        renamed = [n for n in schema.names if self.to_inner[n] != n]
        if renamed:
            log.info("columns renamed for be-great's text format: %s", {n: self.to_inner[n] for n in renamed})

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for col in self.schema:
            name = col["name"]
            s = df[name]
            if name in self.cat_in:
                # Categories as text so be-great treats them as categorical (not numeric).
                s = s.map(lambda v, m=self.cat_in[name]: None if pd.isna(v) else m.get(_value_str(v), str(v)))
                s = s.astype(object)
            out[self.to_inner[name]] = s
        return pd.DataFrame(out, index=df.index)

    def decode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for col in self.schema:
            name = col["name"]
            s = df[self.to_inner[name]]
            if name in self.cat_out:
                m = self.cat_out[name]
                s = s.map(lambda v, m=m: v if pd.isna(v) else m.get(str(v).strip(), str(v).strip()))
            out[name] = s
        return pd.DataFrame(out, index=df.index)
