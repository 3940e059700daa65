"""One Python file read for ``privsynth.codegraph``: its top-level statements, names and imports.

``load`` reads a module (nothing is imported) into a ``Module``: each top-level
statement, which names it defines (functions, classes, plain assignments), the
names its imports bind (``name -> (module, attribute)``, relative imports
resolved), its module-level code (statements that are not a plain definition,
and definitions decorated by the package's own code), and the modules it
imports at import time.  ``refs`` lists the names, attribute chains, strings
and imports of one statement, type annotations left out (they do not run).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_DEF = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True, order=True)
class Stmt:
    """One top-level statement: module (dotted name) and its index in the module body."""

    module: str
    index: int


@dataclass
class Module:
    name: str
    path: Path
    package: bool
    body: list[ast.stmt]
    defs: dict[str, list[int]] = field(default_factory=dict)  # name -> statements defining it
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (module, attr)
    code: list[int] = field(default_factory=list)  # module-level code (not a plain definition)
    imported: set[str] = field(default_factory=set)  # modules imported at import time
    lines: list[tuple[int, int, int]] = field(default_factory=list)  # (first line, last line, index)

    def stmt_at(self, lineno: int) -> int | None:
        """The top-level statement that holds line ``lineno``."""
        for first, last, i in self.lines:
            if first <= lineno <= last:
                return i
        return None


def _strip_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, *_DEF)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    # A docstring-only body keeps a statement, at the docstring's place (load reads lineno).
                    node.body = body[1:] or [ast.copy_location(ast.Pass(), body[0])]
    return tree


@functools.cache
def parse(path: Path, mtime_ns: int) -> ast.Module:
    """``path``'s syntax tree without docstrings (cached by modification time)."""
    return _strip_docstrings(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


def dump(node: ast.AST) -> str:
    """What a statement is, without positions: comments and formatting do not count."""
    return ast.dump(node, include_attributes=False)


def _resolve_from(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name if module.package else module.name.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


def bindings(module: Module, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, tuple[str, str | None]]]:
    """Local name -> (module, attribute or None) for one import statement."""
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.asname:
                yield a.asname, (a.name, None)
            else:  # `import a.b` binds a, and makes a.b reachable as an attribute chain
                yield a.name.split(".")[0], (a.name.split(".")[0], None)
        return
    source = _resolve_from(module, node)
    for a in node.names:
        if a.name != "*":
            yield a.asname or a.name, (source, a.name)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for n in ast.walk(node):
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            yield n


def _defined_names(node: ast.stmt) -> list[str] | None:
    """Names a plain definition defines; None for module-level code."""
    if isinstance(node, _DEF):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = []
        for t in targets:
            elts = t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]
            if not all(isinstance(e, ast.Name) for e in elts):
                return None
            names.extend(e.id for e in elts)  # type: ignore[attr-defined]
        return names
    return None


def _type_checking(node: ast.stmt) -> bool:
    t = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING")
        or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")
    )


def _own(m: Module, decorator: ast.expr) -> bool:
    """Whether a decorator is the package's own code (not functools.cache, dataclass, ...)."""
    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    while isinstance(node, ast.Attribute):
        node = node.value
    if not isinstance(node, ast.Name):
        return True
    if node.id in m.defs:
        return True
    target = m.imports.get(node.id)
    return target is not None and target[0].split(".")[0] == m.name.split(".")[0]


def load(name: str, path: Path) -> Module:
    tree = parse(path, path.stat().st_mtime_ns)
    m = Module(name, path, path.name == "__init__.py", list(tree.body))
    for i, node in enumerate(tree.body):
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        m.lines.append((first, node.end_lineno or node.lineno, i))
        if _type_checking(node):  # `if TYPE_CHECKING:` never runs
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for local, target in bindings(m, node):
                m.imports[local] = target
                m.imported.add(target[0] if target[1] is None else f"{target[0]}.{target[1]}")
            continue
        names = _defined_names(node)
        if names is None:
            m.code.append(i)
            names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
            names += [n.name for n in ast.walk(node) if isinstance(n, _DEF)]
            for imp in _imports_in(node):  # `try: import x`, `if ...: from y import z`
                for local, target in bindings(m, imp):
                    m.imports.setdefault(local, target)
                    m.imported.add(target[0] if target[1] is None else f"{target[0]}.{target[1]}")
        elif isinstance(node, _DEF) and any(_own(m, d) for d in node.decorator_list):
            m.code.append(i)  # the package's own decorator runs at import (a registry, say)
        for n in names:
            m.defs.setdefault(n, []).append(i)
    return m


class _Refs(ast.NodeVisitor):
    """Names and attribute chains (``a.b.c``) a statement reads, annotations left out."""

    def __init__(self) -> None:
        self.chains: list[list[str]] = []
        self.strings: set[str] = set()
        self.imports: list[ast.Import | ast.ImportFrom] = []

    def visit_Import(self, node: ast.Import) -> None:
        self.imports.append(node)

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_Name(self, node: ast.Name) -> None:
        self.chains.append([node.id])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain: list[str] = []
        cur: ast.AST = node
        while isinstance(cur, ast.Attribute):
            chain.append(cur.attr)
            cur = cur.value
        if isinstance(cur, ast.Name):
            self.chains.append([cur.id, *reversed(chain)])
        else:
            self.visit(cur)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and len(node.value) < 200:
            self.strings.add(node.value)

    def visit_arg(self, node: ast.arg) -> None:  # annotations do not run
        return

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for stmt in node.body:
            self.visit(stmt)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function


def refs(node: ast.AST) -> _Refs:
    r = _Refs()
    r.visit(node)
    return r
