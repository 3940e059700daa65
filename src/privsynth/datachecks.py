"""Data problems named by their real cause (issue 23): not a regular file, a wrong separator,
duplicate column names, infinite values, a checksum that cannot apply.

Called by ``privsynth.datasets`` where it reads a source; each raises one line naming the
file or the key to change.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError

# Separators a CSV may use instead of a comma (source.sep names the one to use).
OTHER_SEPARATORS = (";", "\t", "|")


def check_regular_file(p: Path, dataset: str) -> None:
    """A path that exists but is not a file gets its real kind, not "file not found"."""
    try:
        mode = p.stat().st_mode
    except OSError:
        raise DataError(f"datasets.{dataset}.source.path: file not found: {p}") from None
    if stat.S_ISREG(mode):
        return
    kind = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise DataError(f"datasets.{dataset}.source.path: {p} is {kind}, not a regular file; point it at the data file")


def check_columns_read(df: pd.DataFrame, path: Path, dataset: str, source: Mapping[str, Any]) -> None:
    """After ``pd.read_csv``: a wrong separator or duplicate header names (pandas renames them ``age.1``)."""
    sep = source.get("sep") or ","
    if df.shape[1] == 1:
        header = str(df.columns[0])
        for other in OTHER_SEPARATORS:
            if other != sep and other in header:
                shown = {"\t": "\\t"}.get(other, other)
                raise DataError(
                    f"{path}: one column named {header[:60]!r}: the file looks separated by {shown!r}, not "
                    f"{sep!r}; set datasets.{dataset}.source.sep: {shown!r}"
                )
    names = header_names(path, source)
    seen: set[str] = set()
    dup = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if dup:
        raise DataError(
            f"{path}: duplicate column name(s) {', '.join(map(repr, dict.fromkeys(dup)))} in the header; rename them "
            "in the file (pandas would silently call the second one "
            f"{dup[0]}.1)"
        )


def header_names(path: Path, source: Mapping[str, Any]) -> list[str]:
    """The header line as written (``pd.read_csv`` renames duplicates)."""
    first = pd.read_csv(
        path, nrows=1, header=None, dtype=str, encoding=source.get("encoding") or "utf-8", sep=source.get("sep") or ","
    )
    return [str(v) for v in first.iloc[0].tolist()] if len(first) else []


def check_finite(df: pd.DataFrame, dataset: str) -> None:
    """Infinite values (``inf`` in a CSV) have no schema type: name the column and the fix."""
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s):
            n = int(np.isinf(s.to_numpy(dtype=float, na_value=math.nan)).sum())
            if n:
                raise DataError(
                    f"column {col!r}: {n} infinite values (inf or -inf) in the data; privsynth needs finite numbers: "
                    f"replace them in the source file (e.g. by empty cells, read as missing), or remove the column "
                    f"with datasets.{dataset}.schema.drop: [{col}]"
                )


def check_sha256_applies(dataset: str, source: Mapping[str, Any]) -> None:
    """The bundled WDBC (scikit-learn's copy, no file) has no bytes to verify: a sha256 there is rejected."""
    if source.get("kind") == "wdbc" and not source.get("path") and source.get("sha256"):
        raise ConfigError(
            f"datasets.{dataset}.source.sha256: kind wdbc without a path reads scikit-learn's bundled copy, which "
            "has no file to verify; remove sha256, or set source.path to a local CSV to check"
        )


WDBC_COLUMNS = 31  # scikit-learn's breast cancer table: 30 features and the target


def source_columns(source: Mapping[str, Any], census_columns: int) -> int | None:
    """Columns a source will have, known without reading its data (None when it is not)."""
    if source.get("columns"):
        return len(source["columns"])
    if source["kind"] == "census":
        return census_columns
    if source["kind"] == "wdbc":
        return WDBC_COLUMNS
    p = Path(source.get("path") or "").expanduser()
    try:
        return len(header_names(p, source)) if p.is_file() else None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError):
        return None  # fetch_data reports an unreadable file
