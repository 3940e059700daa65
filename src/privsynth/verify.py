"""``python -m privsynth verify [--fix] [results] [-- snakemake args]``: outputs that can no longer be trusted.

Snakemake decides what to run from timestamps and its metadata; an output that
was deleted, truncated or edited after its job finished looks done to it (its
downstream files are newer), so the summary and the report would go on listing
it.  This lists every output that no longer matches its manifest
(``privsynth.manifest``) and every cell of summary.csv whose files are gone;
``--fix`` reruns exactly the jobs of those files (``snakemake --force <files>``),
then the workflow, which brings the summary and the report up to date.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import manifest, paths

Runner = Callable[..., Any]


def problems(results: str | Path = paths.RESULTS) -> dict[Path, str]:
    """Output path -> what is wrong with it (missing, truncated, changed)."""
    root = Path(results)
    bad = manifest.scan(root)
    table = root / "summary.csv"
    if table.is_file() and manifest.problem(table) is None:
        import pandas as pd

        for r in pd.read_csv(table, usecols=["dataset", "generator", "setting"], dtype=str).itertuples():
            cell = root / r.dataset / r.generator / r.setting
            for name in (Path(paths.METRICS).name, Path(paths.SYNTHETIC).name):
                f = cell / name
                if not f.exists() and f not in bad:
                    bad[f] = "missing (its cell is listed in summary.csv)"
    return dict(sorted(bad.items()))


def main(argv: Sequence[str], run: Runner = subprocess.run) -> int:
    args = list(argv)
    extra: list[str] = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1 :]
    fix = "--fix" in args
    rest = [a for a in args if a != "--fix"]
    results = rest[0] if rest else paths.RESULTS
    bad = problems(results)
    for f, why in bad.items():
        print(f"{f}: {why}")
    if not bad:
        print(f"verify: every output under {results} matches its manifest")
        return 0
    if not fix:
        print(f"verify: {len(bad)} output(s) cannot be trusted; `python -m privsynth verify --fix` recomputes them")
        return 1
    snakemake = [sys.executable, "-m", "snakemake", *(extra or ["--cores", "1"])]
    # Exactly those files' jobs first; then the workflow reruns what depends on them (newer inputs).
    for cmd in ([*snakemake, "--force", *map(str, bad)], snakemake):
        if run(cmd).returncode != 0:
            print(f"verify --fix: {' '.join(cmd)} failed", file=sys.stderr)
            return 1
    return 0 if not problems(results) else 1
