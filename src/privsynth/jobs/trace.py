"""A tracer for the code-identity test: what privsynth code a job really ran.

With ``$PRIVSYNTH_TRACE`` set to a folder, ``jobs.run`` runs the job body under
``sys.setprofile`` (and ``threading.setprofile``) and writes
``<folder>/<rule>-<pid>.json``: the rule, its wildcards, the script, every Python function
executed from a file below privsynth's package folder or a ``$PRIVSYNTH_PLUGINS``
folder (file, first line, name), and every such file opened (templates).
tests/test_code_identity.py checks each one is inside the job's code identity
(``privsynth.identity``).  Unset (always, outside that test) it costs nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV = "PRIVSYNTH_TRACE"
_active: list[bool] = []  # audit hooks cannot be removed: the hook checks this


def _roots() -> tuple[str, ...]:
    package = Path(__file__).resolve().parents[1]
    plugins = [str(Path(d).resolve()) for d in os.environ.get("PRIVSYNTH_PLUGINS", "").split(os.pathsep) if d]
    return (str(package) + os.sep, *(p + os.sep for p in plugins))


@contextlib.contextmanager
def traced(rule: str, wildcards: dict[str, Any]) -> Iterator[None]:
    folder = os.environ.get(ENV)
    if not folder:
        yield
        return
    roots = _roots()
    functions: set[tuple[str, int, str]] = set()
    opened: set[str] = set()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            if code.co_filename.startswith(roots) and code.co_filename != __file__:
                functions.add((code.co_filename, code.co_firstlineno, code.co_name))

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if _active and event == "open" and isinstance(args[0], str):
            path = os.path.abspath(args[0])
            if path.startswith(roots) and not path.endswith((".py", ".pyc")):
                opened.add(path)

    sys.addaudithook(hook)
    _active.append(True)
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
        _active.clear()
        out = Path(folder) / f"{rule}-{os.getpid()}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        main = getattr(sys.modules.get("__main__"), "__file__", None)  # Snakemake's copy of the rule script
        record = {
            "rule": rule,
            "wildcards": wildcards,
            "script": main,
            "functions": sorted(functions),
            "opened": sorted(opened),
        }
        out.write_text(json.dumps(record, indent=1))
