"""What a job's results depend on, in the form Snakemake's ``params`` trigger compares.

Snakemake (9.x) reruns a job when the set of ``repr()`` strings of its params
differs from the one recorded in ``.snakemake/metadata`` for its outputs.  Two
things follow:

- **Canonical params** (``finalize_params``, called at the end of the Snakefile).
  ``repr`` of a dict keeps insertion order and ``repr(1)`` is not ``repr(1.0)``,
  so a config re-dumped with other key order, or ``1.0`` written for ``1``, would
  rerun jobs.  ``canonical`` sorts mapping keys recursively, turns sets into
  sorted lists and integral floats into ints.
- **Code identity** (``code_param``: the ``code=code_of("<script>")`` param every
  rule lists).  Snakemake watches a rule's script, not the library code the
  script calls.  The ``code`` param is a digest of the privsynth code the rule's
  jobs run, *derived from the code*: the job function the rule's script hands to
  ``privsynth.jobs.run``, and everything it reaches (``privsynth.codegraph``:
  functions, classes, module-level code, page templates), plus the generator's
  own code (found through its entry point) for a ``{generator}`` job that loads
  it.  Nothing is listed by hand, so a new module, rule or generator is covered
  without edits.  Digests are over the syntax tree without docstrings, so
  comments, docstrings and formatting do not count.  Computed once per script
  and generator per workflow start.  The runner (``jobs.run``: logging, the
  ERROR line, timeouts, scratch space) is left out by design: it decides how a
  job is run and reported, not what its outputs hold.  ``code_identity: false``
  in the config makes the param ``None`` (docs/failures.md, "Reruns: what runs
  again, and why").

tests/test_code_identity.py runs jobs under a tracer and checks that every
privsynth function a job executed (and every template it opened) is inside
its digest.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import codegraph
from .codegraph import Graph, Stmt

SRC = Path(__file__).resolve().parent
PACKAGE = "privsynth"
RUNNER = ("privsynth.jobs", "run")  # the job runner: how a job runs, not what it computes
LOADER = ("privsynth.generators", "load")  # a job that reaches it runs its {generator}'s code

# --- canonical params -----------------------------------------------------------


def canonical(obj: Any) -> Any:
    """``obj`` with sorted mapping keys (recursively) and normalised numbers.

    Two configs that mean the same give equal results *and* equal ``repr``.
    """
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, Mapping):
        items = [(canonical(k), canonical(v)) for k, v in obj.items()]
        return dict(sorted(items, key=lambda kv: (type(kv[0]).__name__, str(kv[0]))))
    if isinstance(obj, (set, frozenset)):
        return sorted((canonical(v) for v in obj), key=lambda v: (type(v).__name__, repr(v)))
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(canonical(v) for v in obj)
    if hasattr(obj, "item") and callable(obj.item) and not hasattr(obj, "__len__"):  # numpy scalars
        return canonical(obj.item())
    if isinstance(obj, float):
        if math.isfinite(obj) and obj.is_integer() and abs(obj) < 2**53:
            return int(obj)  # 1.0 -> 1 (and -0.0 -> 0)
        return obj
    return obj


def _canonical_callable(fn: Callable[..., Any]) -> Callable[..., Any]:
    # functools.wraps keeps the signature (inspect.signature follows __wrapped__),
    # which Snakemake reads to pass wildcards/input/output and to tell params
    # derived from files (left out of its trigger) from the others.
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return canonical(fn(*args, **kwargs))

    _signature_once(wrapper)
    return wrapper


def _signature_once(fn: Callable[..., Any]) -> None:
    """Give Snakemake ``fn``'s parameters once: it reads them (``inspect.signature``) three times
    per job and callable, a twentieth of planning a large grid (snakemake.common.overwrite_function_params)."""
    from snakemake.common import overwrite_function_params

    overwrite_function_params(fn, inspect.signature(fn).parameters)  # type: ignore[arg-type]


# --- code identity --------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """What one rule's jobs (for one generator) run: statements and template files."""

    statements: frozenset[Stmt]
    templates: frozenset[Path]
    generator: str | None
    graph: Graph

    def digest(self) -> str:
        h = hashlib.sha256()
        for line in sorted(self.graph.fingerprint(s) for s in self.statements):
            h.update(line.encode())
        for f in sorted(self.templates):
            h.update(f"template {f.parent.name}/{f.name}\n".encode() + f.read_bytes())
        return h.hexdigest()[:16]


def _script_roots(graph: Graph, script: Path) -> list[Stmt]:
    """The rule script as a module whose ``run(snakemake, body)`` calls are replaced by ``body``."""
    name = f"__script__.{script.stem}"
    if name in graph.scripts:
        return graph.scripts[name]
    tree = codegraph.parse(script, script.stat().st_mtime_ns)
    graph.add_file(name, script)
    module = graph.module(name)
    assert module is not None
    runner = {k for k, v in module.imports.items() if v == RUNNER}
    code = []
    for i in module.code:
        node = tree.body[i]
        call = node.value if isinstance(node, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in runner:
            # the job body: what run()'s arguments but the first (the snakemake object) reach
            module.body.append(ast.Expr(ast.Tuple(elts=call.args[1:], ctx=ast.Load())))
            code.append(len(module.body) - 1)
        else:
            code.append(i)
    module.code = code
    graph.scripts[name] = [Stmt(name, i) for i in code]
    return graph.scripts[name]


def _generator_roots(graph: Graph, generator: str) -> list[Stmt]:
    from . import generators  # the registry, read lazily (it lists plug-in directories)

    module, attr, file = generators.code_entry(generator)
    top = module.split(".")[0]
    if file is not None:
        graph.add_file(module, file)
    elif top not in graph.roots:  # an installed package: its directory, found without importing it
        path = generators.code_path(generator)  # <top>/.../<last>.py or <top>/.../<last>/
        depth = module.count(".")
        graph.roots[top] = path.parents[depth - 1] if depth else path
    return graph.roots_of(module, [attr.split(".")[0]])


def graph(src: Path | None = None) -> Graph:
    """A code graph of privsynth (or of a copy of it, ``src``); it reads each file once."""
    return Graph({PACKAGE: src or SRC})


def code_of_job(
    script: str | Path, generator: str | None = None, src: Path | None = None, graph: Graph | None = None
) -> Code:
    """What the jobs of the rule with ``script`` run (for ``generator``), read from the code now.

    ``graph``: one to share between calls (files edited after it read them are not re-read).
    """
    graph = graph or Graph({PACKAGE: src or SRC})
    script = Path(script)
    statements, templates = graph.closure(_script_roots(graph, script), key=f"script {script}")
    loader = set(graph.roots_of(*LOADER[:1], LOADER[1:]))
    if generator is not None and loader & statements:
        more, more_templates = graph.closure(_generator_roots(graph, generator), key=f"generator {generator}")
        statements, templates = statements | more, templates | more_templates
    return Code(frozenset(statements), frozenset(templates), generator, graph)


_GRAPH: list[Graph] = []  # one per workflow start: every file is read once


@functools.cache
def _cached_digest(script: str, generator: str | None) -> str:
    if not _GRAPH:
        _GRAPH.append(graph())
    return f"privsynth code {code_of_job(script, generator, graph=_GRAPH[0]).digest()}"


def code_param(script: str | Path, enabled: bool = True) -> Callable[[Any], str | None]:
    """The ``code`` param of a rule whose script is ``script``: a function of the wildcards only.

    (A param that is a function of ``input`` or ``output`` would be "derived", which
    Snakemake leaves out of its params trigger.)
    """
    path = str(Path(script).resolve())
    if not Path(path).is_file():
        raise FileNotFoundError(f"code_of: no rule script {path}")

    def code(wildcards: Any) -> str | None:
        return _cached_digest(path, getattr(wildcards, "generator", None)) if enabled else None

    code.script = path  # type: ignore[attr-defined]
    return code


# --- wiring into the workflow ---------------------------------------------------


def finalize_params(workflow: Any) -> None:
    """Make every rule's params canonical; check that every rule with a script lists its ``code`` param.

    Every param and input function's parameters are handed to Snakemake once (``_signature_once``).

    Called once at the end of the Snakefile, after every rule is defined.  Each param
    is replaced by its canonical form, as a list item and as the named attribute
    (``params.keys()``) Snakemake reads it through; nothing else of the rule is touched.
    """
    missing = []
    for rule in workflow.rules:
        params = rule.params
        done: dict[int, Any] = {}
        for i, item in enumerate(params):
            params[i] = done[id(item)] = _canonical_callable(item) if callable(item) else canonical(item)
        for name in list(params.keys()):  # Snakemake reads a named param through its attribute
            value = getattr(params, name)
            setattr(params, name, done.get(id(value)) or (_canonical_callable(value) if callable(value) else value))
        for item in rule.input:  # input functions: their parameters read once too
            if callable(item):
                _signature_once(item)
        script = _script_path(rule)
        if script is not None and not any(_code_of(p) == script for p in params):
            missing.append(f"{rule.name} (add code=code_of({Path(script).stem!r}) to its params)")
    if missing:
        raise ValueError("rules without their code identity param: " + "; ".join(missing))


def _code_of(param: Any) -> str | None:
    return getattr(getattr(param, "__wrapped__", param), "script", None)


def _script_path(rule: Any) -> str | None:
    script = getattr(rule, "script", None)
    if not script:
        return None
    p = Path(str(script))
    if not p.is_absolute():
        p = Path(rule.snakefile).parent / p
    return str(p.resolve()) if p.is_file() else None
