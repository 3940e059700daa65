"""Does a change plan the same jobs?  Compares ``snakemake -n`` of this checkout with another commit's.

For each config (default: config/config.yaml and config/gpu.yaml) it plans the
workflow in an empty working directory, once with this checkout and once with
the tree of ``--base`` (``git archive``), and compares every planned job: rule,
wildcards, inputs, outputs, log, benchmark, params, threads, resources and
priority.  The ``code`` param (privsynth.identity: a digest of the code a job
runs) is left out of the comparison, since a change of code changes it by
design; how many jobs' digests changed is printed.  Exit status 1 if any job
differs.

    python benchmarks/plan_jobs.py --base main
    python benchmarks/plan_jobs.py --base fbbdfdc config/config.yaml tests/configs/tiny.yaml

``python benchmarks/plan_jobs.py --dump CONFIG OUT.json`` writes one checkout's job
list (what the comparison runs for each side, with that side's ``src/`` first on
``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIGS = ("config/config.yaml", "config/gpu.yaml")
SKIP_PARAMS = ("code",)


def _plain(value):
    """A JSON-able form of a param, input list, resource value, ..."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _job(job) -> dict:
    params = dict(job.params.items())
    return {
        "rule": job.rule.name,
        "wildcards": _plain(dict(job.wildcards_dict)),
        "input": sorted(str(f) for f in job.input),
        "named_input": {k: _plain(v) for k, v in job.input.items()},
        "output": sorted(str(f) for f in job.output),
        "log": sorted(str(f) for f in job.log),
        "benchmark": str(job.benchmark) if job.benchmark else None,
        "params": {k: _plain(v) for k, v in sorted(params.items()) if k not in SKIP_PARAMS},
        "code": _plain(params.get("code")),
        "threads": job.threads,
        "resources": {k: _plain(v) for k, v in sorted(job.resources.items()) if not k.startswith("_")},
        "priority": job.priority,
    }


def dump(configfile: str, out: str) -> None:
    """Plan ``configfile`` with the Snakemake in this interpreter and write every job to ``out``."""
    import snakemake.cli  # before snakemake.workflow: their imports are circular

    workflow_mod = sys.modules["snakemake.workflow"]
    main = snakemake.cli.main

    original = workflow_mod.Workflow.execute
    jobs: list[dict] = []

    def execute(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        finally:
            if self.dag is not None:
                jobs.extend(_job(j) for j in self.dag.jobs)

    workflow_mod.Workflow.execute = execute
    snakefile, work = os.environ["PLAN_JOBS_SNAKEFILE"], os.environ["PLAN_JOBS_WORKDIR"]
    argv = ["-s", snakefile, "-d", work, "--configfile", configfile, "--cores", "2", "-n", "--quiet", "all"]
    try:
        main(argv)
    except SystemExit as exc:
        if exc.code:
            raise
    finally:
        key = lambda j: (j["rule"], json.dumps(j["wildcards"], sort_keys=True), j["output"])  # noqa: E731
        Path(out).write_text(json.dumps(sorted(jobs, key=key), indent=1, sort_keys=True))


def plan_of(tree: Path, configfile: Path, out: Path) -> list[dict]:
    """The job list of the checkout at ``tree`` (its Snakefile, its src/) for ``configfile``."""
    with tempfile.TemporaryDirectory(prefix="privsynth-jobs-") as work:
        env = {
            **os.environ,
            "PYTHONPATH": str(tree / "src"),
            "OMP_NUM_THREADS": "1",
            "PLAN_JOBS_SNAKEFILE": str(tree / "Snakefile"),
            "PLAN_JOBS_WORKDIR": work,
        }
        env.setdefault("PRIVSYNTH_CENSUS", str(REPO.parent / "shared" / "data" / "census.csv.gz"))
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--dump", str(configfile), str(out)],
            capture_output=True,
            text=True,
            env=env,
            cwd=work,
        )
    if proc.returncode != 0:
        sys.exit(f"planning {configfile} with {tree} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(out.read_text())


def differences(before: list[dict], after: list[dict]) -> list[str]:
    """What differs between two job lists (code digests aside), one line each."""
    key = lambda j: (j["rule"], json.dumps(j["wildcards"], sort_keys=True))  # noqa: E731
    a = {key(j): {k: v for k, v in j.items() if k != "code"} for j in before}
    b = {key(j): {k: v for k, v in j.items() if k != "code"} for j in after}
    out = [f"only before: {k[0]} {k[1]}" for k in sorted(a.keys() - b.keys())]
    out += [f"only after: {k[0]} {k[1]}" for k in sorted(b.keys() - a.keys())]
    for k in sorted(a.keys() & b.keys()):
        for field in sorted(a[k].keys() | b[k].keys()):
            if a[k].get(field) != b[k].get(field):
                out.append(f"{k[0]} {k[1]}: {field}: {a[k].get(field)!r} -> {b[k].get(field)!r}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", nargs=2, metavar=("CONFIG", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--base", default="main", help="the commit to compare with (default: main)")
    ap.add_argument("--keep", type=Path, help="write both job lists here (before-<name>.json, after-<name>.json)")
    ap.add_argument("configs", nargs="*", default=list(DEFAULT_CONFIGS))
    args = ap.parse_args()
    if args.dump:
        dump(*args.dump)
        return 0
    failed = False
    with tempfile.TemporaryDirectory(prefix="privsynth-base-") as tmp:
        base = Path(tmp) / "tree"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.base], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        keep = args.keep or Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        for cfg in args.configs:
            name = Path(cfg).stem
            before = plan_of(base, (REPO / cfg).resolve(), keep / f"before-{name}.json")
            after = plan_of(REPO, (REPO / cfg).resolve(), keep / f"after-{name}.json")
            diff = differences(before, after)
            codes = sum(
                1
                for x, y in zip(before, after, strict=False)
                if x["rule"] == y["rule"] and x["wildcards"] == y["wildcards"] and x["code"] != y["code"]
            )
            print(
                f"{cfg}: {len(before)} jobs with {args.base}, {len(after)} with this checkout: "
                f"{'the same' if not diff else f'{len(diff)} differences'} (code digests changed: {codes} jobs)"
            )
            for line in diff[:50]:
                print("  " + line)
            failed |= bool(diff)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
