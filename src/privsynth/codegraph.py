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

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .codefile import Module, Stmt, bindings, dump, load, parse, refs

__all__ = ["Graph", "Module", "Stmt", "dump", "parse"]

TEMPLATE_DIR = "templates"
_TEMPLATE_REF = re.compile(r"""{%-?\s*(?:include|extends|import|from)\s+["']([^"']+)["']""")


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
            self._modules[name] = load(name, path) if path is not None else None
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
        r = refs(node)
        local = {k: v for imp in r.imports for k, v in bindings(m, imp)}  # imports inside functions
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
