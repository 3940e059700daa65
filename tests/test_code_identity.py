"""Code identity that cannot lie: every privsynth function a job ran is inside its digest.

A small grid (synthesis by built-in and plug-in generators, QA, pairs, utility,
both audits, summary, report) runs with ``$PRIVSYNTH_TRACE`` set: each job's body
runs under ``sys.setprofile`` and writes which privsynth functions it executed
and which package files (templates) it opened (``privsynth.jobs.trace``).  Each
of them must be a statement of the code that job's ``code`` param digests
(``privsynth.identity.code_of_job``); one that is not would be code whose
change reruns nothing.  Also run by hand with ``--trace-dir`` kept, see
``check_traces``.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from test_reruns import _run

from privsynth import identity
from privsynth.codegraph import Stmt

PLUGINS = REPO / "tests" / "plugins"
SCRIPTS = REPO / "workflow" / "scripts"

CONFIG: dict[str, Any] = {
    "seed": 0,
    "datasets": {
        "wdbc": {
            "source": {"kind": "wdbc"},
            "target": "target",
            "generators": {
                "copy": {"default": {}},
                "marginals": {"default": {}},
                "sleepy": {"default": {"seconds": 0}},
            },
            "audit": {
                "n": 40,
                "n_shadow": 5,
                "n_eval": 5,
                "generators": ["copy", "marginals"],
                "targets": {"outliers": 1, "random": 0},
                "one_run": {"enabled": True, "m": 100, "generators": ["copy", "marginals"]},
            },
        }
    },
    "qa": {"enabled": True},
    "eda": {"enabled": False, "compare": False},
}
# Rules the grid runs; the test fails if one of them left no trace.
RULES = {
    "fetch_data",
    "prepare_data",
    "synthesize_baseline",
    "synthesize_plugin",
    "fidelity_qa",
    "fidelity_pairs",
    "utility_baseline",
    "utility",
    "audit_shadow_sets",
    "audit_fit",
    "audit_attack",
    "audit_skipped",
    "audit_one_run_canaries",
    "audit_one_run_train",
    "audit_one_run_attack",
    "audit_one_run_skipped",
    "audit_nobox_skipped",
    "summary",
    "report_plots",
    "report",
}


def _script(record: dict[str, Any]) -> Path:
    name = Path(record["script"]).name
    if name.startswith("tmp") and name.count(".") > 1:  # Snakemake's copy, .snakemake/scripts/tmpXXXX.<name>.py
        name = name.split(".", 1)[1]
    return SCRIPTS / name


def escapes(record: dict[str, Any], src: Path) -> list[str]:
    """What a traced job ran or opened that its code identity does not hold."""
    code = identity.code_of_job(_script(record), record["wildcards"].get("generator"), src=src)
    graph = code.graph
    out = []
    for file, line, name in record["functions"]:
        module = graph.module_of_file(Path(file))
        if module is None:
            out.append(f"{file}:{line} {name} (a file the code graph does not know)")
            continue
        index = module.stmt_at(line)
        node = module.body[index] if index is not None else None
        body_of_class = isinstance(node, ast.ClassDef) and node.name == name and module.lines[index][0] == line
        if name == "<module>" or body_of_class:  # imported during the job: its module-level code must count
            missing = [i for i in module.code if Stmt(module.name, i) not in code.statements]
            if missing:
                out.append(f"{module.name} (module-level code, imported by the job)")
            continue
        if index is None or Stmt(module.name, index) not in code.statements:
            out.append(f"{module.name}:{line} {name}")
    out += [f"{f} (opened)" for f in record["opened"] if Path(f) not in code.templates]
    return out


def check_traces(folder: Path, src: Path) -> dict[str, list[str]]:
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    return {f"{r['rule']} {r['wildcards']}": e for r in records if (e := escapes(r, src))}


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("trace")
    env = {"PRIVSYNTH_TRACE": str(base / "trace"), "PRIVSYNTH_PLUGINS": str(PLUGINS)}
    _run(REPO, base / "work", CONFIG, env=env)
    return base / "trace"


@pytest.mark.slow
def test_every_function_a_job_ran_is_in_its_code_identity(traced, monkeypatch):
    monkeypatch.setenv("PRIVSYNTH_PLUGINS", str(PLUGINS))
    rules = {json.loads(p.read_text())["rule"] for p in traced.glob("*.json")}
    assert RULES <= rules, f"no trace from {sorted(RULES - rules)}"
    assert check_traces(traced, REPO / "src" / "privsynth") == {}


def test_the_tracer_records_and_the_check_catches_an_escape(tmp_path, monkeypatch):
    """The check is not vacuous: a function outside the job's code is reported."""
    from privsynth import summary
    from privsynth.jobs import trace

    monkeypatch.setenv(trace.ENV, str(tmp_path))
    with trace.traced("fetch_data", {"dataset": "wdbc"}):
        summary.__name__  # noqa: B018 - nothing runs: no function recorded
        identity.canonical({"a": 1})  # identity is not part of fetch_data's code
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert any(name == "canonical" for _, _, name in record["functions"])
    record["script"] = "/x/.snakemake/scripts/tmpabc.fetch_data.py"
    found = escapes(record, Path(identity.SRC))
    assert found and all("privsynth.identity" in e for e in found), found
    del os.environ[trace.ENV]
