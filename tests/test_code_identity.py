"""Code identity that cannot lie: every privsynth function a job ran is inside its digest.

A small grid (synthesis by built-in and plug-in generators, pairs, utility,
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
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from test_reruns import _copy_repo, _run
from test_workflow import _planned

from privsynth import identity
from privsynth.codefile import Stmt

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
    # QA (mostlyai-qa) takes minutes per cell under the tracer: traced by hand (docs/failures.md).
    "qa": {"enabled": False},
    "eda": {"enabled": False, "compare": False},
}
# Rules the grid runs; the test fails if one of them left no trace.
RULES = {
    "fetch_data",
    "prepare_data",
    "synthesize_baseline",
    "synthesize_plugin",
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
        if not file.endswith(".py"):  # a jinja template, compiled to Python code
            if Path(file) not in code.templates:
                out.append(f"{file} (a template)")
            continue
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
def traced(tmp_path_factory, run_workflow) -> tuple[Path, Path, Path]:
    """A repo copy (tests edit its code), a workdir where CONFIG ran under the tracer, the traces."""
    base = tmp_path_factory.mktemp("trace")
    repo = _copy_repo(base / "repo")
    env = {"PRIVSYNTH_TRACE": str(base / "trace"), "PRIVSYNTH_PLUGINS": str(PLUGINS)}
    _run(repo, base / "work", CONFIG, env=env)
    return repo, base / "work", base / "trace"


def test_every_function_a_job_ran_is_in_its_code_identity(traced, monkeypatch):
    repo, _, trace = traced
    monkeypatch.setenv("PRIVSYNTH_PLUGINS", str(PLUGINS))
    rules = {json.loads(p.read_text())["rule"] for p in trace.glob("*.json")}
    assert RULES <= rules, f"no trace from {sorted(RULES - rules)}"
    assert check_traces(trace, repo / "src" / "privsynth") == {}


# --- edit X -> exactly these jobs rerun (dry runs against the traced run) ------------------


def edit_function(path: Path, dotted: str) -> None:
    """Add a statement at the top of function ``dotted`` (``Class.method`` works) of ``path``."""
    text = path.read_text()
    node: Any = ast.parse(text)
    for part in dotted.split("."):
        node = next(n for n in node.body if getattr(n, "name", None) == part)
    first = node.body[0]
    lines = text.splitlines(keepends=True)
    lines.insert(first.lineno - 1, " " * first.col_offset + "_edited = None\n")
    path.write_text("".join(lines))


def _planned_after(traced, target: str) -> dict[str, int]:
    """Jobs a dry run plans after editing ``target`` (``file:function``, or a template file)."""
    repo, work, _ = traced
    file, _, function = target.partition(":")
    path = repo / "src" / "privsynth" / file
    original = path.read_text()
    try:
        if function:
            edit_function(path, function)
        else:
            path.write_text(original + "\n{# edited #}\n")
        return _planned(_run(repo, work, CONFIG, "-n", env={"PRIVSYNTH_PLUGINS": str(PLUGINS)}))
    finally:
        path.write_text(original)


_GRID = {"summary": 1, "report_plots": 1, "report": 1, "all": 1}  # one per grid, after every cell
EXPECTED: dict[str, dict[str, int]] = {
    # Synthesis of the three cells, both audits' sets and fits (and what follows them).
    "LOAD_SCHEMA": {
        "audit_one_run_canaries": 1,
        "audit_shadow_sets": 1,
        "synthesize_baseline": 2,
        "synthesize_plugin": 1,
        "audit_fit": 2,
        "audit_one_run_train": 2,
        "fidelity_pairs": 3,
        "utility": 3,
        "audit_attack": 2,
        "audit_one_run_fit": 2,
        "audit_one_run_attack": 2,
        **_GRID,
    },
    # The shadow sets (and the fits and attacks on them) and the one-run attacks; no synthesis.
    "WITH_DEFAULTS": {"audit_one_run_attack": 2, "audit_shadow_sets": 1, "audit_fit": 2, "audit_attack": 2, **_GRID},
}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        # The three drifted cases: the shadow sets and the canaries read the
        # schema; the one-run attack completes its options; the summary's cost columns.
        ("datasets.py:load_schema", "LOAD_SCHEMA"),
        ("defaults.py:with_defaults", "WITH_DEFAULTS"),
        ("paths.py:benchmark_scope", _GRID),
        ("report/templates/one_run.html.j2", {"report": 1, "all": 1}),
    ],
)
def test_an_edit_reruns_exactly_the_jobs_that_run_it(traced, target, expected):
    assert _planned_after(traced, target) == (EXPECTED[expected] if isinstance(expected, str) else expected)


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


# --- the same at digest level, without a run (fast) ------------------------------------------


@pytest.fixture
def src_copy(tmp_path) -> Path:
    src = tmp_path / "privsynth"
    shutil.copytree(identity.SRC, src, ignore=shutil.ignore_patterns("__pycache__"))
    return src


def _digests(src: Path, generator: str = "marginals") -> dict[str, str]:
    graph = identity.graph(src)  # one for all scripts: each file read once
    return {s.stem: identity.code_of_job(s, generator, graph=graph).digest() for s in sorted(SCRIPTS.glob("*.py"))}


def _changed(src: Path, edit: Any) -> list[str]:
    before = _digests(src)
    edit()
    after = _digests(src)
    return sorted(k for k in before if before[k] != after[k])


@pytest.mark.parametrize(
    ("target", "scripts"),
    [
        (
            "datasets.py:load_schema",
            [
                "audit_attack",
                "audit_fit",
                "audit_nobox",
                "audit_one_run_attack",
                "audit_one_run_canaries",
                "audit_one_run_fit",
                "audit_shadow_sets",
                "synthesize",
                "synthesize_mostlyai",
            ],
        ),
        ("defaults.py:with_defaults", ["audit_one_run_attack", "audit_shadow_sets"]),
        ("paths.py:benchmark_scope", ["summary"]),
        (
            "generators/marginals.py:MarginalsGenerator.fit",
            ["audit_fit", "audit_one_run_fit", "synthesize", "synthesize_mostlyai"],
        ),
        ("synthesize.py:synthesize", ["audit_one_run_fit", "synthesize", "synthesize_mostlyai"]),
        ("utility.py:evaluate", ["utility", "utility_baseline"]),
        ("audit/common/attacks/density.py:Density.score", ["audit_attack", "audit_shadow_sets"]),
        ("report/templates/one_run.html.j2", ["report"]),
        ("report/templates/style.css", ["report"]),  # included by index.html.j2
    ],
)
def test_an_edit_changes_the_code_identity_of_exactly_the_scripts_that_run_it(src_copy, target, scripts):
    file, _, function = target.partition(":")
    path = src_copy / file
    if function:
        assert _changed(src_copy, lambda: edit_function(path, function)) == scripts
    else:
        assert _changed(src_copy, lambda: path.write_text(path.read_text() + "\n/* edited */\n")) == scripts


def test_comments_docstrings_and_unused_definitions_change_nothing(src_copy):
    path = src_copy / "datasets.py"
    text = path.read_text()
    edited = text.replace('"""', '"""Reworded. ', 1) + "\n# a comment\n\n\ndef unused_helper():\n    return 1\n"
    assert _changed(src_copy, lambda: path.write_text(edited)) == []


def test_a_new_module_is_picked_up_without_a_table(src_copy):
    """A job that starts calling a new module: editing that module reruns the job."""
    (src_copy / "newstats.py").write_text("def shrink(x):\n    return x\n")
    job = src_copy / "jobs" / "summary.py"
    text = job.read_text()
    body = "def summary_job(sm: Any) -> None:\n"
    assert body in text
    job.write_text(text.replace(body, body + "    from .. import newstats\n\n    newstats.shrink(1)\n"))
    assert _changed(src_copy, lambda: edit_function(src_copy / "newstats.py", "shrink")) == ["summary"]


def test_the_generator_is_read_through_its_entry_point(src_copy, monkeypatch):
    """A plug-in generator's own file is part of its synthesis jobs' identity (not of other generators')."""
    monkeypatch.setenv("PRIVSYNTH_PLUGINS", str(PLUGINS))
    script = SCRIPTS / "synthesize.py"
    sleepy = identity.code_of_job(script, "sleepy", src=src_copy)
    assert "privsynth_plugin_sleepy" in {s.module for s in sleepy.statements}
    assert "privsynth_plugin_sleepy" not in {s.module for s in identity.code_of_job(script, "copy").statements}
    # Code that does not load a generator does not depend on it.
    assert (
        identity.code_of_job(SCRIPTS / "utility.py", "sleepy").digest()
        == identity.code_of_job(SCRIPTS / "utility.py", "copy").digest()
    )
