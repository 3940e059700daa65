"""The code a function can run, found by reading the source (nothing is imported).

``Graph.closure(roots)`` is the transitive closure of top-level statements that
``roots`` reach: a name a statement uses is looked up in its module (a
function, class or assignment of that name), then in the module's imports
(``from x import y``, ``import x as m`` and ``m.attr``, relative or absolute,
at module level or inside the function); ``from pkg import module`` followed by
``module.func`` reaches ``func`` only.  Using a module as a value (``f(mod)``)
reaches all of it.  Every module reached also brings its module-level code (the
statements that are not a plain definition: calls, ``if``/``try`` blocks,
subscript assignments) and that of every module it imports at import time, its
packages' ``__init__`` included.  String constants naming a file of a
``templates`` folder (``get_template("index.html.j2")``) reach that file, and a
template reaches what it ``include``s, ``extends`` or ``import``s.

What this does not see (privsynth.identity says how each case is covered):
dispatch through a name computed at run time (``importlib.import_module``,
``getattr(obj, name)``), and methods of an object whose class the function never
names (an instance handed in).  Type annotations are left out: they do not run.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE_DIR = "templates"
_TEMPLATE_REF = re.compile(r"""{%-?\s*(?:include|extends|import|from)\s+["']([^"']+)["']""")
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
                    node.body = body[1:] or [ast.Pass()]
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


def _bindings(module: Module, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, tuple[str, str | None]]]:
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


def _load(name: str, path: Path) -> Module:
    tree = parse(path, path.stat().st_mtime_ns)
    m = Module(name, path, path.name == "__init__.py", list(tree.body))
    for i, node in enumerate(tree.body):
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        m.lines.append((first, node.end_lineno or node.lineno, i))
        if _type_checking(node):  # `if TYPE_CHECKING:` never runs
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for local, target in _bindings(m, node):
                m.imports[local] = target
                m.imported.add(target[0] if target[1] is None else f"{target[0]}.{target[1]}")
            continue
        names = _defined_names(node)
        if names is None:
            m.code.append(i)
            names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
            names += [n.name for n in ast.walk(node) if isinstance(n, _DEF)]
            for imp in _imports_in(node):  # `try: import x`, `if ...: from y import z`
                for local, target in _bindings(m, imp):
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


def _refs(node: ast.AST) -> _Refs:
    r = _Refs()
    r.visit(node)
    return r


class Graph:
    """The modules below ``roots`` (top-level package name -> its directory), read on demand."""

    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = dict(roots)
        self.files: dict[str, Path] = {}  # extra modules by file (plug-ins): name -> path
        self.scripts: dict[str, list[Stmt]] = {}  # rule scripts read as modules: name -> their roots
        self._modules: dict[str, Module | None] = {}
        self._templates: dict[str, list[Path]] | None = None
        self._references: dict[Stmt, tuple[list[Stmt], set[str], set[str]]] = {}
        self._dumps: dict[Stmt, str] = {}
        self._closures: dict[str, tuple[set[Stmt], set[Path]]] = {}

    def fingerprint(self, stmt: Stmt) -> str:
        """One line that changes when the statement's code does: module and a hash of ``dump`` (computed once)."""
        if stmt not in self._dumps:
            text = dump(self.module(stmt.module).body[stmt.index])  # type: ignore[union-attr]
            self._dumps[stmt] = f"{stmt.module} {hashlib.sha256(text.encode()).hexdigest()}\n"
        return self._dumps[stmt]

    # --- modules ---

    def add_file(self, name: str, path: Path) -> None:
        """A module that is not below a root (a plug-in file), known as ``name``."""
        self.files[name] = path

    def path_of(self, name: str) -> Path | None:
        if name in self.files:
            p = self.files[name]
            return p / "__init__.py" if p.is_dir() else p
        top, _, rest = name.partition(".")
        root = self.roots.get(top)
        if root is None:
            return None
        base = root.joinpath(*rest.split(".")) if rest else root
        for p in (base / "__init__.py", base.with_suffix(".py")):
            if p.is_file():
                return p
        return None

    def module(self, name: str) -> Module | None:
        if name not in self._modules:
            path = self.path_of(name)
            self._modules[name] = _load(name, path) if path is not None else None
        return self._modules[name]

    def module_of_file(self, path: Path) -> Module | None:
        """The module read from ``path`` (a tracer's frame), if it is one of this graph's."""
        path = path.resolve()
        for name, p in self.files.items():
            if (p / "__init__.py" if p.is_dir() else p).resolve() == path:
                return self.module(name)
        for top, root in self.roots.items():
            try:
                rel = path.relative_to(root.resolve()).with_suffix("")
            except ValueError:
                continue
            parts = [top, *rel.parts]
            if parts[-1] == "__init__":
                parts.pop()
            return self.module(".".join(parts))
        return None

    # --- templates ---

    def templates(self) -> dict[str, list[Path]]:
        """Files of every ``templates`` folder below the roots, by their name inside that folder."""
        if self._templates is None:
            found: dict[str, list[Path]] = {}
            for root in self.roots.values():
                for folder in sorted(root.rglob(TEMPLATE_DIR)):
                    if folder.is_dir():
                        for f in sorted(folder.rglob("*")):
                            if f.is_file() and "__pycache__" not in f.parts:
                                found.setdefault(f.relative_to(folder).as_posix(), []).append(f)
            self._templates = found
        return self._templates

    def _template_closure(self, names: Iterable[str]) -> set[Path]:
        index = self.templates()
        todo = [n for n in names if n in index]
        seen: set[Path] = set()
        while todo:
            for f in index.get(todo.pop(), []):
                if f not in seen:
                    seen.add(f)
                    todo.extend(_TEMPLATE_REF.findall(f.read_text(encoding="utf-8", errors="replace")))
        return seen

    # --- closure ---

    def _whole(self, name: str) -> list[Stmt]:
        m = self.module(name)
        return [Stmt(name, i) for i in range(len(m.body))] if m else []

    def _attr(self, module: str, chain: list[str], depth: int = 0) -> list[Stmt]:
        """What ``module.chain[0].chain[1]...`` reaches."""
        if not chain:
            return self._whole(module)
        sub = f"{module}.{chain[0]}"
        m = self.module(module)
        if m is not None and chain[0] in m.defs:
            return [Stmt(module, i) for i in m.defs[chain[0]]]
        if m is not None and chain[0] in m.imports and depth < 20:  # a re-export
            return self._target(m.imports[chain[0]], chain[1:], depth + 1)
        if self.path_of(sub) is not None:
            return self._attr(sub, chain[1:], depth + 1)
        return self._whole(module) if m is not None else []

    def _target(self, target: tuple[str, str | None], rest: list[str], depth: int = 0) -> list[Stmt]:
        source, attr = target
        if attr is None:
            return self._attr(source, rest, depth)
        if self.path_of(f"{source}.{attr}") is not None and not (
            (m := self.module(source)) is not None and attr in m.defs
        ):
            return self._attr(f"{source}.{attr}", rest, depth)
        return self._attr(source, [attr], depth)

    def references(self, stmt: Stmt) -> tuple[list[Stmt], set[str], set[str]]:
        """Statements and modules one statement reaches directly, and the strings it holds."""
        if stmt not in self._references:
            self._references[stmt] = self._find_references(stmt)
        return self._references[stmt]

    def _find_references(self, stmt: Stmt) -> tuple[list[Stmt], set[str], set[str]]:
        m = self.module(stmt.module)
        assert m is not None
        node = m.body[stmt.index]
        r = _refs(node)
        local = {k: v for imp in r.imports for k, v in _bindings(m, imp)}  # imports inside functions
        out: list[Stmt] = []
        for chain in r.chains:
            head, rest = chain[0], chain[1:]
            if head in local and head not in m.defs:
                out.extend(self._target(local[head], rest))
            elif head in m.defs:
                out.extend(Stmt(m.name, i) for i in m.defs[head])
            elif head in m.imports:
                out.extend(self._target(m.imports[head], rest))
        modules = {t[0] if t[1] is None else f"{t[0]}.{t[1]}" for t in local.values()}
        return out, modules | {s.module for s in out}, r.strings

    def _import_time(self, name: str, seen: set[str]) -> Iterator[str]:
        """``name``, its packages and every module they import at import time (known modules only)."""
        parts = name.split(".")
        todo = [".".join(parts[:k]) for k in range(1, len(parts) + 1)]
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            m = self.module(n)
            if m is None:
                continue
            yield n
            for dep in m.imported:
                p = dep.split(".")
                todo.extend(".".join(p[:k]) for k in range(1, len(p) + 1))

    def closure(self, roots: Iterable[Stmt], key: str | None = None) -> tuple[set[Stmt], set[Path]]:
        """Statements and template files ``roots`` reach (remembered under ``key``, if given)."""
        if key is not None:
            if key not in self._closures:
                self._closures[key] = self.closure(roots)
            return self._closures[key]
        todo = list(roots)
        seen: set[Stmt] = set()
        modules: set[str] = set()
        strings: set[str] = set()
        while todo:
            s = todo.pop()
            if s in seen:
                continue
            seen.add(s)
            found, mods, texts = self.references(s)
            todo.extend(found)
            strings |= texts
            for name in mods | {s.module}:
                for n in self._import_time(name, modules):
                    todo.extend(Stmt(n, i) for i in self.module(n).code)  # type: ignore[union-attr]
        return seen, self._template_closure(strings)

    def roots_of(self, module: str, names: Iterable[str]) -> list[Stmt]:
        return [s for n in names for s in self._attr(module, [n])]
