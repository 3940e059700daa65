"""``python -m privsynth verify [--fix]`` on a real run (issue 23 item 5; docs/failures.md).

A truncated intermediate of a finished tiny run looks done to Snakemake; verify names
it, and ``--fix`` reruns exactly its job, then what reads it, after which verify is clean.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import AFTER_ONE_CELL, load_test_config, snakemake_command, snakemake_env


def _job_stats(text: str) -> list[dict[str, int]]:
    """Every 'Job stats' table of a run's log, in order: rule -> jobs."""
    tables = []
    for block in text.split("Job stats:")[1:]:
        counts = {}
        for line in block.splitlines()[3:]:
            parts = line.split()
            if len(parts) != 2 or parts[0] == "total":
                break
            counts[parts[0]] = int(parts[1])
        tables.append(counts)
    return tables


def _verify(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "privsynth", "verify", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=snakemake_env(),
        timeout=1200,
    )


def test_verify_names_a_truncated_intermediate_and_fix_reruns_exactly_its_jobs(tmp_path: Path, run_workflow):
    run_workflow(tmp_path, load_test_config("tiny"))  # wdbc: copy and marginals
    res = tmp_path / "results"
    assert _verify(tmp_path).returncode == 0

    syn = res / "wdbc/marginals/default/synthetic.parquet"
    size, st = syn.stat().st_size, syn.stat()
    metrics = syn.with_name("metrics.json")
    written = {p: p.read_bytes() for p in (syn, metrics)}
    syn.write_bytes(syn.read_bytes()[: size // 2])
    os.utime(syn, ns=(st.st_atime_ns, st.st_mtime_ns))  # damage that keeps the time (a copy, a bad disk)
    untouched = [res / "wdbc/copy/default/synthetic.parquet", res / "wdbc/data/train.parquet"]
    before = {p: p.stat().st_mtime_ns for p in untouched}
    # Snakemake alone sees nothing to do: the damage is what verify is for.
    assert "Nothing to be done" in run_workflow(tmp_path, load_test_config("tiny"), "-n").stdout

    proc = _verify(tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        f"results/wdbc/marginals/default/synthetic.parquet: {size // 2} bytes, {size} when it was written "
        "(truncated or changed)",
        "verify: 1 output(s) cannot be trusted; `python -m privsynth verify --fix` recomputes them",
    ]

    cmd = snakemake_command(tmp_path, tmp_path / "config.yaml")[3:]  # the arguments after `python -m snakemake`
    proc = _verify(tmp_path, "--fix", "--", *cmd)
    assert proc.returncode == 0, proc.stderr[-4000:]
    forced, after = _job_stats(proc.stdout + proc.stderr)
    assert forced == {"synthesize_baseline": 1}  # exactly the job of the damaged file
    # Then what reads it: that cell's jobs, the summary and the report. Snakemake skips a reader
    # whose rewritten inputs hash as recorded: the seeded baseline's file always does, its
    # metrics.json only when the ms-rounded timings repeat (the CI run of stop 28 hit that).
    assert syn.read_bytes() == written[syn]
    readers = {"fidelity_pairs", "utility"}  # of this cell's files they read only those two
    expected = dict(AFTER_ONE_CELL)
    if metrics.read_bytes() == written[metrics]:
        expected = {k: v for k, v in expected.items() if k not in readers}
    assert after == expected
    assert {p: p.stat().st_mtime_ns for p in untouched} == before  # the other cell and the data are kept
    assert re.search(r"ERROR", proc.stderr) is None
    proc = _verify(tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "verify: every output under results matches its manifest"
