"""The package's import graph has no cycle, and only ``privsynth.jobs`` sees Snakemake.

The graph is built from the source (no import runs): every ``import privsynth...``
and ``from . import ...`` at module level *and inside functions* (a local import
does not make a cycle go away, it only hides it until the function runs), with
relative imports resolved.  Importing ``a.b.c`` also runs the packages ``a.b``
(``__init__``), so those are edges too.  Imports under ``if TYPE_CHECKING:`` are
left out: they never run.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = "privsynth"
JOBS = f"{PACKAGE}.jobs"
# Attributes of Snakemake's job object (the ``snakemake`` global of a script).
SM_ATTRS = {"input", "output", "params", "threads", "log", "wildcards", "resources", "rule", "scriptdir", "config"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _type_checking(node: ast.AST) -> bool:
    t = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING")
        or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")
    )


def _import_nodes(tree: ast.AST):
    """Every Import/ImportFrom node, at any depth, except under ``if TYPE_CHECKING:``."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if _type_checking(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        todo.extend(ast.iter_child_nodes(node))


def _known(name: str) -> str | None:
    """``name`` if it is a module of the package, else its longest prefix that is."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        return {t for a in node.names if a.name.split(".")[0] == PACKAGE and (t := _known(a.name))}
    if node.level:
        base = module if _is_package(module) else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module or ""
    if source.split(".")[0] != PACKAGE:
        return set()
    out = set()
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        target = sub if sub in MODULES else _known(source)
        if target:
            out.add(target)
    return out


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]  # not the top package itself


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        mine = set(_ancestors(module)) | ({module} if _is_package(module) else set())
        for node in _import_nodes(ast.parse(path.read_text(), filename=str(path))):
            for target in _targets(module, node):
                # Importing a.b.c runs a.b first, unless that is a package this module is in
                # (already being imported when this module runs).
                for t in [*_ancestors(target), target]:
                    if t != module and t not in mine and t in MODULES:
                        graph[module].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a cycle path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(_cycle_path(graph, sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _cycle_path(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """One cycle through the component's first module (breadth-first back to it)."""
    start, members = comp[0], set(comp)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp


def test_the_graph_sees_relative_local_and_package_imports():
    g = import_graph()
    assert f"{PACKAGE}.errors" in g[f"{PACKAGE}.jobs"]  # from ..errors import (in a package __init__)
    assert f"{PACKAGE}.audit.shadow.stages" in g[f"{PACKAGE}.jobs.audit"]  # from ..audit.shadow import stages
    assert f"{PACKAGE}.audit.shadow" in g[f"{PACKAGE}.jobs.audit"]  # ... runs privsynth/audit/shadow/__init__.py
    assert f"{PACKAGE}.audit" in g[f"{PACKAGE}.jobs.audit"]  # ... and privsynth/audit/__init__.py first
    assert f"{PACKAGE}.audit.common.stats" in g[f"{PACKAGE}.audit.shadow.stats"]  # from ..common.stats import
    assert f"{PACKAGE}.audit.common" in g[f"{PACKAGE}.audit.shadow.stats"]  # a sibling package's __init__ runs
    assert f"{PACKAGE}.audit" not in g[f"{PACKAGE}.audit.shadow.stages"]  # its own packages: no edge
    assert f"{PACKAGE}.audit.shadow" not in g[f"{PACKAGE}.audit.shadow.stages"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles (module -> module it imports):\n" + "\n".join(" -> ".join(c) for c in found)


def _snakemake_uses(path: Path) -> list[str]:
    """Where a module takes Snakemake's job object: a parameter ``sm``/``snakemake`` or ``sm.input`` etc."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            out |= {f"{node.name}({a.arg})" for a in args if a.arg in ("sm", "snakemake")}
        elif isinstance(node, ast.Attribute) and node.attr in SM_ATTRS:
            if isinstance(node.value, ast.Name) and node.value.id in ("sm", "snakemake"):
                out.add(f"{node.value.id}.{node.attr}")
    return sorted(out)


def test_only_the_jobs_layer_sees_the_snakemake_object():
    bad = {
        name: uses
        for name, path in MODULES.items()
        if not (name == JOBS or name.startswith(f"{JOBS}.")) and (uses := _snakemake_uses(path))
    }
    assert not bad, "Snakemake's job object outside privsynth.jobs (move these adapters to jobs/<stage>.py):\n" + (
        "\n".join(f"{m}: {', '.join(u)}" for m, u in sorted(bad.items()))
    )


SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_scripts_only_run_a_jobs_adapter(script: Path):
    """Imports from ``privsynth.jobs`` and one call: ``run(snakemake, <stage>.<name>_job)``.

    (``from privsynth.jobs import run, <stage>``; ``jobs.run`` after ``from privsynth import jobs``
    is the same function.)
    """
    tree = ast.parse(script.read_text())
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    shape = (
        f"{script.name}: expected `from privsynth.jobs import run, <stage>` and `run(snakemake, <stage>.<name>_job)`"
    )
    *imports, call = body
    stages: dict[str, str] = {}  # name in the script -> module of privsynth.jobs
    for imp in imports:
        assert isinstance(imp, ast.ImportFrom) and imp.level == 0, shape
        if imp.module == PACKAGE:
            assert [a.name for a in imp.names] == ["jobs"], shape
        else:
            assert imp.module == JOBS, shape
            stages |= {a.asname or a.name: a.name for a in imp.names if a.name != "run"}
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call), shape
    fn, args = call.value.func, call.value.args
    is_run = (isinstance(fn, ast.Name) and fn.id == "run") or (
        isinstance(fn, ast.Attribute) and fn.attr == "run" and isinstance(fn.value, ast.Name) and fn.value.id == "jobs"
    )
    assert is_run and len(args) == 2 and isinstance(args[0], ast.Name) and args[0].id == "snakemake", shape
    adapter = args[1]
    assert isinstance(adapter, ast.Attribute) and isinstance(adapter.value, ast.Name), shape
    assert adapter.value.id in stages and adapter.attr.endswith("_job"), shape
    stage = stages[adapter.value.id]
    module = importlib.import_module(f"{JOBS}.{stage}")
    assert callable(getattr(module, adapter.attr, None)), f"{script.name}: no {JOBS}.{stage}.{adapter.attr}"
