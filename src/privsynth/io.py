"""Atomic file output: a job either writes a complete file or none at all."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from . import manifest
from .errors import DataError


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it into place only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    # mkstemp creates 0600; give outputs the usual umask-based mode so shared
    # results stay readable by the group.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # The sidecar first: a crash in between leaves a mismatch that verify reports, never a silent one.
        manifest.record(tmp_path, target)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean_floats(obj: Any) -> Any:
    # JSON has no NaN/inf: write null so every reader can parse the file.
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_floats(v) for v in obj]
    return obj


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    text = json.dumps(_clean_floats(obj), indent=2, sort_keys=False, default=_json_default)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at char {exc.pos}): truncated or corrupt") from None


def write_parquet(df: pd.DataFrame, path: str | os.PathLike[str], index: bool = False) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=index)


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_with(writer: Callable[[Path], None], path: str | os.PathLike[str]) -> None:
    """Let ``writer`` fill a temporary file, then move it to ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)
