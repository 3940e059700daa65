r"""Compare two results folders file by file, timing fields aside (issue 25: "the default run's outputs
compared file by file").

    python benchmarks/compare_results.py BEFORE/results AFTER/results
    python benchmarks/compare_results.py A B --rename tpr_at_1pct_fpr_note=tpr_at_1pct_fpr_reason

* ``*.json``: parsed and compared field by field (nested keys and list items by position);
* ``*.csv``: column by column, rows in file order (``summary.csv``, tables);
* ``*.parquet``: column by column (pandas);
* ``*.tsv`` (Snakemake's ``benchmark:`` files) and ``*.log`` are run-dependent and are skipped, and so are the
  manifests ``.<name>.manifest.json`` (a hash of the file they describe, which is compared itself:
  the hash changes with any timing in it); every other file
  (``*.svg``, ``*.png``, ``*.html``, ...) is compared byte for byte and reported as one line.

Timing fields are left out everywhere: a key or column whose name matches ``--timing`` (default:
``seconds``, ``timing``, ``runtime``, ``elapsed``, ``cpu_time``, ``wall``, the resource columns
``max_rss_mb`` etc., ``_s`` at the end), with everything below it.  ``--rename OLD=NEW`` reads the
key or column ``OLD`` of the first folder as ``NEW`` (a field renamed on purpose); ``OLD`` is a
regular expression matched against the key or against its dotted path (``aggregate\.worst\.\w+\.note``);
``--ignore REGEX`` leaves out more keys.  An HTML page with a generation time or cost cells differs
byte for byte: read it with ``diff``.  Floats are equal
when both are NaN/null or within ``--rtol`` (default 0: exactly equal).

Prints one line per difference (``path: field: before -> after``) and a count; exit status 1 when
anything differs, so a refactoring can show that its outputs did not change.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Keys and columns that differ from run to run: timings and the benchmark files' resource columns.
TIMING = r"(^|_)(seconds|timing|runtime|elapsed|cpu_time|wall|max_rss_mb|max_vms_mb|max_uss_mb|max_pss_mb|io_in|io_out|mean_load)(_|$)|_s$"
SKIP_SUFFIXES = {".tsv", ".log"}
MANIFEST = re.compile(r"\..+\.manifest\.json")


def _equal(a: Any, b: Any, rtol: float) -> bool:
    a, b = (v.tolist() if hasattr(v, "tolist") else v for v in (a, b))  # numpy scalars and arrays (parquet cells)
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(_equal(x, y, rtol) for x, y in zip(a, b, strict=True))
        )
    na = a is None or (isinstance(a, float) and math.isnan(a))
    nb = b is None or (isinstance(b, float) and math.isnan(b))
    if na or nb:
        return na and nb
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (rtol > 0 and math.isclose(a, b, rel_tol=rtol))
    return a == b


class Compare:
    def __init__(self, timing: str, ignore: list[str], renames: dict[str, str], rtol: float) -> None:
        self.skip = re.compile("|".join([timing, *ignore]))
        self.renames = renames
        self.rtol = rtol

    def _key(self, k: str, where: str = "") -> str:
        path = f"{where}.{k}" if where else str(k)
        for old, new in self.renames.items():
            if re.fullmatch(old, str(k)) or re.fullmatch(old, path):
                return new
        return k

    def json(self, a: Any, b: Any, where: str = "") -> Iterator[str]:
        if isinstance(a, dict) and isinstance(b, dict):
            a = {self._key(k, where): v for k, v in a.items()}
            for k in sorted(set(a) | set(b), key=str):
                if self.skip.search(str(k)):
                    continue
                sub = f"{where}.{k}" if where else str(k)
                if k not in a:
                    yield f"{sub}: (absent) -> {b[k]!r}"
                elif k not in b:
                    yield f"{sub}: {a[k]!r} -> (absent)"
                else:
                    yield from self.json(a[k], b[k], sub)
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                yield f"{where}: {len(a)} items -> {len(b)} items"
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                yield from self.json(x, y, f"{where}[{i}]")
        elif not _equal(a, b, self.rtol):
            yield f"{where}: {a!r} -> {b!r}"

    def frame(self, a: Any, b: Any) -> Iterator[str]:
        a = a.rename(columns=lambda c: self._key(c))
        cols = [c for c in dict.fromkeys([*a.columns, *b.columns]) if not self.skip.search(str(c))]
        if len(a) != len(b):
            yield f"{len(a)} rows -> {len(b)} rows"
        for c in cols:
            if c not in a.columns or c not in b.columns:
                yield f"column {c}: {'(absent)' if c not in a.columns else 'present'} -> " + (
                    "(absent)" if c not in b.columns else "present"
                )
                continue
            for i, (x, y) in enumerate(zip(a[c].tolist(), b[c].tolist(), strict=False)):
                if not _equal(x, y, self.rtol):
                    yield f"{c}[{i}]: {x!r} -> {y!r}"

    def file(self, pa: Path, pb: Path) -> Iterator[str]:
        suffix = pa.suffix
        if suffix == ".json":
            yield from self.json(json.loads(pa.read_text()), json.loads(pb.read_text()))
        elif suffix in (".csv", ".parquet"):
            import pandas as pd

            read = pd.read_csv if suffix == ".csv" else pd.read_parquet
            yield from self.frame(read(pa), read(pb))
        elif pa.read_bytes() != pb.read_bytes():
            yield "bytes differ"


def compare(before: Path, after: Path, cmp: Compare) -> list[str]:
    files_a = {p.relative_to(before) for p in before.rglob("*") if p.is_file()}
    files_b = {p.relative_to(after) for p in after.rglob("*") if p.is_file()}
    out = []
    for rel in sorted(files_a | files_b):
        if rel.suffix in SKIP_SUFFIXES or MANIFEST.fullmatch(rel.name):
            continue
        if rel not in files_b:
            out.append(f"{rel}: only in {before}")
        elif rel not in files_a:
            out.append(f"{rel}: only in {after}")
        else:
            out += [f"{rel}: {d}" for d in cmp.file(before / rel, after / rel)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--timing", default=TIMING, help="regex of timing keys/columns to leave out")
    ap.add_argument("--ignore", action="append", default=[], help="regex of further keys/columns to leave out")
    ap.add_argument("--rename", action="append", default=[], help="OLD=NEW: a key/column renamed on purpose")
    ap.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for numbers (default: exact)")
    args = ap.parse_args(argv)
    renames = dict(r.split("=", 1) for r in args.rename)
    diffs = compare(args.before, args.after, Compare(args.timing, args.ignore, renames, args.rtol))
    for d in diffs:
        print(d)
    print(f"{len(diffs)} difference(s) between {args.before} and {args.after}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
