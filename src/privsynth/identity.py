"""What a job's results depend on, in the form Snakemake's ``params`` trigger compares.

Snakemake (9.x) reruns a job when the set of ``repr()`` strings of its params
differs from the one recorded in ``.snakemake/metadata`` for its outputs.  Two
things follow, and this module handles both for every rule at once
(``finalize_params``, called at the end of the Snakefile):

- **Canonical params.**  ``repr`` of a dict keeps insertion order and ``repr(1)``
  is not ``repr(1.0)``, so a config re-dumped with other key order, or ``1.0``
  written for ``1``, would rerun jobs.  ``canonical`` sorts mapping keys
  recursively, turns sets into sorted lists and integral floats into ints.
- **Code identity.**  Snakemake watches a rule's script, not the library code the
  script calls.  Each rule gets one more param, ``code``: a digest of the
  privsynth code its jobs run (``FAMILIES``), so changing that code reruns
  exactly those jobs.  Digests are over the syntax tree without docstrings, so
  comments, docstrings and formatting do not count.  ``code_identity: false`` in
  the config leaves the param out (see docs/failures.md, "What reruns and why").
"""

from __future__ import annotations

import ast
import functools
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent
TEMPLATE_SUFFIXES = {".j2", ".css", ".js"}

# What the jobs of each rule run, as privsynth modules (paths below src/privsynth,
# without .py; a package means all its modules), optionally narrowed to
# ``module:function`` (that function plus whatever top-level code of the same
# module it refers to, transitively).
# ``{generator}`` is the module of the job's generator (built in or plug-in).
# Plumbing that does not change results (io, errors, slurm, jobs.run, the
# generator registry) is deliberately in no family.  The adapters (``jobs/<stage>``)
# are listed with the plain functions they call (``module:function``).
# The prepared split and schema as the synthesis and audit-fit jobs read them.
_READ = ["datasets:load_split", "datasets:load_schema"]
_SYNTH = [
    "synthesize",
    "train_sizes:subsample",
    "contract",
    "accounting",  # the DP claim's check, written into metrics.json beside the claim
    *_READ,
    "jobs/synthesize:synthesize_job",
    "schema",
    "generators/base",
    "{generator}",
]
FAMILIES: dict[str, list[str]] = {
    "fetch_data": ["jobs/data:fetch_job", "datasets:fetch", "datachecks"],
    "prepare_data": ["jobs/data:prepare_job", "datasets:prepare", "datachecks", "utility:check_target", "schema"],
    "synthesize_baseline": _SYNTH,
    "synthesize_negative_control": _SYNTH,
    "synthesize_great": _SYNTH,
    "synthesize_openai": _SYNTH,
    "synthesize_plugin": _SYNTH,
    "synthesize_external": _SYNTH,
    "synthesize_mst": _SYNTH,
    "synthesize_copula": _SYNTH,
    "synthesize_mostlyai": [
        "jobs/mostlyai:synthesize_job",
        "jobs/synthesize:synthesize_cell",
        "synthesize",
        "train_sizes:subsample",
        "contract",
        *_READ,
        "schema",
        "generators/base",
        "{generator}",
        "accounting",
    ],
    "mostlyai_comparison": [
        "jobs/mostlyai:comparison_job",
        "generators/mostlyai/comparison",
        "generators/mostlyai/progress:undertraining",
        "generators/mostlyai/progress:finite",
    ],
    "fidelity_qa": ["jobs/fidelity:fidelity_qa_job", "datasets:load_split", "fidelity"],
    "eda_real": ["jobs/eda:eda_job", "eda", "display"],
    "eda_synthetic": ["jobs/eda:eda_job", "eda", "display"],
    # eda.batch: one rule per dataset, eda_synthetic_<dataset> (eda.batch_rule_name; see code_identity)
    "eda_synthetic_batch": ["jobs/eda:eda_batch_job", "eda", "display"],
    "eda_compare": ["jobs/eda:compare_job", "eda", "display"],
    "utility_baseline": ["jobs/utility:baseline_job", "utility"],
    "utility": ["jobs/utility:cell_job", "utility", "utility_ci"],
    "fidelity_pairs": ["jobs/pairs:pairs_job", "pairs", "eda/stats", "datasets:load_split"],
    "audit_shadow_sets": [
        "jobs/audit:shadow_sets_job",
        "audit/shadow:shadow_sets",
        "audit/threat_model",
        "audit/encoding",
        "schema",
    ],
    "audit_fit": ["jobs/audit:fit_batch_job", "audit/shadow:fit_batch", "schema", "generators/base", "{generator}"],
    "audit_attack": [
        "jobs/audit:attack_job",
        "audit/shadow:attack",
        "audit/attacks",
        "audit/encoding",
        "audit/knowledge",
        "audit/report",
        "audit/stats",
        "audit/threat_model",
        "schema",
    ],
    "audit_skipped": ["jobs/audit:skipped_job", "audit/shadow:skipped_summary"],
    "audit_one_run_canaries": [
        "jobs/audit_one_run:canaries_job",
        "audit/canary:canaries",
        "audit/one_run",
        "audit/threat_model",
        "audit/encoding",
        "schema",
    ],
    "audit_one_run_train": [
        "jobs/audit_one_run:train_job",
        "audit/canary:audit_train",
        "audit/one_run",
        "audit/one_run_layout",
    ],
    "audit_one_run_fit": [
        "jobs/audit_one_run:fit_job",
        "jobs/synthesize:synthesize_cell",
        "synthesize",
        "train_sizes:subsample",
        "contract",
        *_READ,
        "schema",
        "generators/base",
        "{generator}",
        "accounting",
    ],
    "audit_one_run_attack": [
        "jobs/audit_one_run:attack_job",
        "audit/canary:attack",
        "audit/one_run",
        "audit/one_run_attacks",
        "audit/one_run_layout",
        "audit/one_run_verdict",
        "audit/fdp",
        "audit/bounds",
        "audit/stats:auc",
        "audit/encoding",
        "audit/one_run_report",
        "audit/threat_model",
        "schema",
    ],
    "audit_one_run_skipped": ["jobs/audit_one_run:skipped_job", "audit/canary:skipped_summary"],
    "audit_nobox": [
        "jobs/nobox:nobox_job",
        "audit/nobox",
        "audit/bounds",
        "audit/stats:auc",
        "audit/one_run_attacks",
        "audit/encoding",
        "audit/threat_model:row_hashes",
        "generators/external:read_rows",
        "datasets:load_split",
        "datasets:load_schema",
        "schema",
    ],
    "audit_nobox_skipped": ["jobs/nobox:skipped_job", "audit/nobox:skipped_summary"],
    "summary": ["jobs/summary:summary_job", "summary", "bracket"],
    "report_plots": ["jobs/report:plots_job", "report", "display", "audit/one_run_report", "audit/one_run_verdict"],
    "report_train_sizes": ["jobs/report:train_sizes_job", "report/train_sizes", "train_sizes", "display"],
    "report": [
        "jobs/report:report_job",
        "report",
        "display",
        "audit/one_run_report",
        "audit/one_run_verdict",
        "audit/nobox_report",
    ],
}


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

    return wrapper


# --- code identity --------------------------------------------------------------


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                if isinstance(body[0].value.value, str):
                    node.body = body[1:] or [ast.Pass()]
    return tree


@functools.cache
def _parsed(path: Path, mtime_ns: int) -> ast.Module:
    return _strip_docstrings(ast.parse(path.read_text(), filename=str(path)))  # type: ignore[return-value]


def _tree(path: Path) -> ast.Module:
    return _parsed(path, path.stat().st_mtime_ns)


def _top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    defs: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        defs[n.id] = node
    return defs


def _closure(tree: ast.Module, name: str) -> list[ast.stmt]:
    """Top-level definition ``name`` and the same module's definitions it uses."""
    defs = _top_level(tree)
    if name not in defs:
        raise KeyError(name)
    seen: dict[int, ast.stmt] = {}
    todo = [name]
    while todo:
        node = defs.get(todo.pop())
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        todo.extend(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defs)
    return sorted(seen.values(), key=lambda n: n.lineno)


def module_path(module: str, generator: str | None = None) -> Path:
    if module == "{generator}":
        if generator is None:
            raise ValueError("{generator} needs a generator")
        for builtin in (SRC / "generators" / generator, SRC / "generators" / f"{generator}.py"):
            if builtin.is_dir() or builtin.is_file():  # a package (all its modules) or a module
                return builtin
        from . import generators

        return generators.code_path(generator)
    package = SRC / module
    return package if package.is_dir() else SRC / f"{module}.py"


def digest(entries: Iterable[str], generator: str | None = None) -> str:
    """Short digest of the code ``entries`` (see ``FAMILIES``) name."""
    h = hashlib.sha256()
    for entry in entries:
        module, _, func = entry.partition(":")
        path = module_path(module, generator)
        if func and path.is_dir():  # a function of a package: its __init__
            path = path / "__init__.py"
        label = module if module != "{generator}" else f"generator {generator}"
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            tree = _tree(f)
            nodes = _closure(tree, func) if func else tree.body
            h.update(f"{label}/{f.relative_to(path).as_posix() if path.is_dir() else ''}:{func}\n".encode())
            for node in nodes:
                h.update(ast.dump(node, include_attributes=False).encode())
        if path.is_dir():  # a package's page templates and assets shape its output too
            for f in sorted(p for p in path.rglob("*") if p.suffix in TEMPLATE_SUFFIXES):
                h.update(f"{label}/{f.relative_to(path).as_posix()}\n".encode() + f.read_bytes())
    return h.hexdigest()[:16]


@functools.cache
def _script_modules(script: str) -> tuple[str, ...]:
    """privsynth modules a rule script imports (besides the job runner), for rules not in FAMILIES."""
    tree = ast.parse(Path(script).read_text())
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "privsynth":
            base = node.module.split(".")[1:]
            for alias in node.names:
                parts = [*base, alias.name]
                if (SRC.joinpath(*parts).with_suffix(".py")).is_file():
                    found.append("/".join(parts))
                elif base and SRC.joinpath(*base).with_suffix(".py").is_file():
                    found.append("/".join(base))
    return tuple(sorted(set(found) - {"jobs"}))


def code_identity(rule: str, wildcards: Mapping[str, Any], script: str | None = None) -> str | None:
    entries = FAMILIES.get(rule)
    if entries is None and rule.startswith("eda_synthetic_"):  # eda.batch's per-dataset rules
        entries = FAMILIES["eda_synthetic_batch"]
    if entries is None:
        entries = list(_script_modules(script)) if script else []
    if not entries:
        return None
    generator = wildcards.get("generator")
    return f"privsynth code {digest(entries, generator)}"


# --- wiring into the workflow ---------------------------------------------------


def finalize_params(workflow: Any, config: Mapping[str, Any]) -> None:
    """Make every rule's params canonical and add its ``code`` identity param.

    Called once at the end of the Snakefile, after every rule is defined, so
    rules added later (new generators, new audits) are covered without edits.
    """
    with_code = bool(config.get("code_identity", True))
    for rule in workflow.rules:
        params = rule.params
        for i, item in enumerate(params):
            params[i] = _canonical_callable(item) if callable(item) else canonical(item)
        for name, (start, end) in list(params._names.items()):
            params._set_name(name, start, end)
        if not with_code or "code" in params._names:
            continue
        script = _script_path(rule)
        if rule.name not in FAMILIES and script is None:
            continue
        rule.set_params(code=_code_param(rule.name, script))


def _script_path(rule: Any) -> str | None:
    script = getattr(rule, "script", None)
    if not script:
        return None
    p = Path(str(script))
    if not p.is_absolute():
        p = Path(rule.snakefile).parent / p
    return str(p) if p.is_file() else None


def _code_param(rule_name: str, script: str | None) -> Callable[[Any], str | None]:
    def code(wildcards: Any) -> str | None:
        return code_identity(rule_name, dict(wildcards.items()), script)

    return code
