"""``python -m privsynth``: check config files, or check them and then run Snakemake.

Snakemake reads every ``--configfile`` itself before privsynth's Snakefile runs,
so a missing file or a YAML syntax error ends in Snakemake's own traceback (or a
message with neither file nor line).  These commands read the files first and
stop with one line naming the file, the line and the fix::

    python -m privsynth check my.yaml              # the checks the workflow does, without Snakemake's DAG
    python -m privsynth snakemake --configfile my.yaml --cores 4   # check, then run snakemake
    python -m privsynth verify [--fix] [results] [-- snakemake args]  # outputs no longer as written
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .config import Grid, check_has_datasets, load_config_file, validate_config
from .errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "config" / "config.yaml"
SCHEMA = REPO / "config" / "schema.yaml"
USAGE = __doc__.split("::")[1].rstrip() if __doc__ else ""


def _merge(base: dict[str, Any], new: dict[str, Any]) -> None:
    # Snakemake's update_config: nested mappings merge, everything else replaces.
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v


def configfile_args(argv: list[str]) -> list[str]:
    """The file names given to ``--configfile``/``--configfiles`` in a snakemake command line."""
    files: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--configfile", "--configfiles"):
            i += 1
            while i < len(argv) and not argv[i].startswith("-"):
                files.append(argv[i])
                i += 1
            continue
        for flag in ("--configfile=", "--configfiles="):
            if a.startswith(flag):
                files.append(a[len(flag) :])
        i += 1
    return files


def check(files: list[str]) -> Grid:
    """Read ``files`` (or the default config) as the workflow would and validate them."""
    from snakemake.utils import validate

    config: dict[str, Any] = {}
    for f in files or [str(DEFAULT_CONFIG)]:
        loaded = load_config_file(f)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {f}: the top level must be a mapping of keys, not {type(loaded).__name__}")
        _merge(config, loaded)
    check_has_datasets(config, list(files))
    validate_config(config, validate, SCHEMA)
    grid = Grid(config, validate)
    from .audit.shadow.plan import AuditPlan

    AuditPlan(config, grid)  # as workflow/rules/audit_common.smk
    return grid


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "verify":
        from . import verify

        return verify.main(args[1:])
    if not args or args[0] in ("-h", "--help") or args[0] not in ("check", "snakemake"):
        print(USAGE.strip(), file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    cmd, rest = args[0], args[1:]
    files = rest if cmd == "check" else configfile_args(rest)
    try:
        grid = check(files)
    except ConfigError as exc:
        print(f"invalid config: {exc}", file=sys.stderr)
        return 1
    if cmd == "check":
        print(f"config OK: {len(grid.datasets)} datasets, {len(grid.cells)} cells")
        return 0
    from .locks import stale_lock_message

    if stale := stale_lock_message(rest, os.getcwd()):
        print(stale, file=sys.stderr)
        return 1
    os.execv(sys.executable, [sys.executable, "-m", "snakemake", *rest])
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
