"""Results checked before they are trusted: size and sha256 of every output, verified by its readers.

``privsynth.io`` writes a sidecar ``.<name>.manifest.json`` (size, sha256) next to
every output it writes, just before the output is moved into place, so a file
that was truncated, edited or deleted afterwards no longer matches it.  The
summary and the report verify their inputs against the sidecars, the error hook
skips (and names) unreadable files, and ``python -m privsynth verify`` lists every
missing or corrupt output (``--fix`` recomputes exactly those).  Files without a
sidecar (written before manifests existed) are trusted as before.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from .errors import DataError

SUFFIX = ".manifest.json"


def sidecar(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.parent / f".{p.name}{SUFFIX}"


def output_of(side: Path) -> Path:
    """The output a sidecar describes."""
    return side.parent / side.name[1 : -len(SUFFIX)]


def digest(path: str | os.PathLike[str]) -> dict[str, object]:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"size": os.path.getsize(path), "sha256": h.hexdigest()}


def record(written: Path, target: Path) -> None:
    """Write ``target``'s sidecar for the bytes now in ``written`` (atomically; before ``target`` appears)."""
    side = sidecar(target)
    tmp = side.with_name(side.name + ".part")
    tmp.write_text(json.dumps(digest(written)) + "\n")
    os.replace(tmp, side)


def problem(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with ``path`` against its sidecar (None: it matches, or it has none)."""
    p, side = Path(path), sidecar(path)
    if not side.is_file():
        return None if p.exists() else "missing"
    try:
        want = json.loads(side.read_text())
    except (OSError, ValueError):
        return f"its manifest {side} is unreadable"
    if not p.is_file():
        return "missing (deleted after it was written)"
    size = p.stat().st_size
    if size != want.get("size"):
        return f"{size} bytes, {want.get('size')} when it was written (truncated or changed)"
    if digest(p)["sha256"] != want.get("sha256"):
        return "changed since it was written (sha256 differs)"
    return None


def verify(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse to read inputs that no longer match what their job wrote (one line naming the file)."""
    for p in paths:
        if p and (why := problem(p)):
            raise DataError(f"{p}: {why}; run `python -m privsynth verify --fix` to recompute it")


def scan(root: str | os.PathLike[str]) -> dict[Path, str]:
    """Every output below ``root`` that no longer matches its sidecar: path -> problem."""
    bad: dict[Path, str] = {}
    for side in sorted(Path(root).rglob(f".*{SUFFIX}")):
        out = output_of(side)
        if why := problem(out):
            bad[out] = why
    return bad
