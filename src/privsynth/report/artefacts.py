"""Which files the report links to, per cell and per dataset.

The report job is given its files as declared inputs (``Artefacts.declared``:
the workflow's targets and the files the same rules write beside them,
``inputs``); ``Artefacts.existing`` looks for the known files of a results
folder instead, for pages built outside the workflow (``privsynth.partial``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .. import paths

Key = tuple[str, str, str]
Link = tuple[str, Path]  # (link text, file)

# (per-cell path template, link text), in the order the links are shown
CELL_ARTEFACTS = [
    (paths.QA_REPORT, "QA report"),
    (paths.QA_METRICS, "QA metrics"),
    (paths.EDA_SYNTHETIC, "EDA"),
    (paths.EDA_COMPARE, "real vs synthetic"),
    (paths.AUDIT_JSON, "audit"),
    (paths.AUDIT_SUMMARY, "audit summary"),
    (paths.AUDIT_ROC, "audit ROC"),
    (paths.AUDIT_SCORES, "audit scores"),
    (paths.UTILITY, "utility"),
    (paths.METRICS, "metrics"),
]
# Other files of a cell that are linked, with their path inside the cell folder as the text.
CELL_EXTRA_PATTERNS = ("*.html", "qa/*.html", "audit/*", "eda/*.html")
# Files the pipeline writes that match CELL_EXTRA_PATTERNS (the one-run audit's results).
CELL_EXTRAS = (paths.ONE_RUN_JSON, paths.ONE_RUN_SKIPPED)
DATASET_ARTEFACTS = [
    (paths.EDA_REAL, "EDA of the real data"),
    (paths.MOSTLYAI_COMPARISON_MD, "MOSTLY AI tutorial table (md)"),
    (paths.MOSTLYAI_COMPARISON_CSV, "MOSTLY AI tutorial table (csv)"),
    (paths.AUDIT_TARGETS, "audit targets"),
    (paths.SCHEMA, "schema"),
    (paths.UTILITY_BASELINE, "real-train utility baseline"),
]

# Files written by the rule that writes a declared target, that the page links too:
# target template -> sibling templates (same wildcards).
SIBLINGS = {
    paths.AUDIT_JSON: (paths.AUDIT_SCORES, paths.AUDIT_ROC, paths.AUDIT_SUMMARY, paths.AUDIT_TARGETS),
    paths.QA_METRICS: (paths.QA_REPORT,),
    paths.MOSTLYAI_COMPARISON_CSV: (paths.MOSTLYAI_COMPARISON_MD,),
    paths.METRICS: (paths.SCHEMA,),  # a cell's synthesis read its dataset's prepared schema
    paths.UTILITY: (paths.UTILITY_BASELINE,),  # the utility job compares with the baseline
}


def _parse(template: str, path: str) -> dict[str, str] | None:
    """Wildcards of ``path`` if it fits ``template`` (one path component per wildcard)."""
    return _match(_parts(template), PurePosixPath(path).parts)


@functools.lru_cache(maxsize=256)
def _parts(template: str) -> tuple[str, ...]:
    """A path template's parts (templates are few: each is split once)."""
    return PurePosixPath(template).parts


def _match(t: tuple[str, ...], p: tuple[str, ...]) -> dict[str, str] | None:
    if len(t) != len(p):
        return None
    wc: dict[str, str] = {}
    for a, b in zip(t, p, strict=True):
        if a.startswith("{") and a.endswith("}") and a.count("{") == 1:
            if wc.setdefault(a[1:-1], b) != b:
                return None
        elif a != b:
            return None
    return wc


def inputs(targets: Iterable[str]) -> list[str]:
    """``targets`` and the files their rules write beside them that the page links (``SIBLINGS``)."""
    out = dict.fromkeys(str(t) for t in targets)
    # Each path split once, matched against templates of its length whose last part it ends like.
    templates = [(_parts(t), t.rsplit("/", 1)[-1], siblings) for t, siblings in SIBLINGS.items()]
    for t in list(out):
        parts = PurePosixPath(t).parts
        for tparts, last, siblings in templates:
            if len(tparts) != len(parts) or ("{" not in last and last != parts[-1]):
                continue
            wc = _match(tparts, parts)
            if wc is not None:
                out.update(dict.fromkeys(s.format(**wc) for s in siblings))
    return list(out)


@dataclass
class Artefacts:
    """Links of each cell and dataset, and each dataset's MOSTLY AI tutorial table (csv) if any."""

    cells: dict[Key, list[Link]] = field(default_factory=dict)
    datasets: dict[str, list[Link]] = field(default_factory=dict)
    comparisons: dict[str, Path] = field(default_factory=dict)

    def of_cell(self, dataset: str, generator: str, setting: str) -> list[Link]:
        return self.cells.get((dataset, generator, setting), [])

    def of_dataset(self, dataset: str) -> list[Link]:
        return self.datasets.get(dataset, [])

    @classmethod
    def declared(
        cls, files: Iterable[str | os.PathLike[str]], results: str | os.PathLike[str] | None = None
    ) -> Artefacts:
        """From the report job's input files, spelled as ``privsynth.paths`` spells them (``results/...``).

        ``results``: the folder those paths are in, if not ``results/`` of the working directory.
        """
        found: dict[str, Path] = {}
        for f in files:
            p = Path(f)
            if results is not None:
                try:
                    p_rel = PurePosixPath(paths.RESULTS, p.relative_to(results).as_posix())
                except ValueError:
                    continue
            else:
                p_rel = PurePosixPath(p.as_posix())
            found[str(p_rel)] = p
        out = cls()
        for ds in sorted({w["dataset"] for rel in found for t, _ in DATASET_ARTEFACTS if (w := _parse(t, rel))}):
            filled = [(paths.fill(t, dataset=ds), text) for t, text in DATASET_ARTEFACTS]
            out.datasets[ds] = [(text, found[rel]) for rel, text in filled if rel in found]
            csv = paths.fill(paths.MOSTLYAI_COMPARISON_CSV, dataset=ds)
            if csv in found:
                out.comparisons[ds] = found[csv]
        extras: dict[Key, list[tuple[Path, str]]] = {}
        for rel, p in found.items():
            parts = PurePosixPath(rel).parts
            if len(parts) < 5 or parts[0] != paths.RESULTS:
                continue
            inner = PurePosixPath(*parts[4:])
            if any(
                inner.match(pat) and len(inner.parts) == len(PurePosixPath(pat).parts) for pat in CELL_EXTRA_PATTERNS
            ):
                extras.setdefault((parts[1], parts[2], parts[3]), []).append((p, inner.as_posix()))
        keys = {k for rel in found for t, _ in CELL_ARTEFACTS if (k := _key(_parse(t, rel)))} | set(extras)
        for key in sorted(keys):
            filled = [(paths.cell(t, *key), text) for t, text in CELL_ARTEFACTS]
            known = [(text, found[rel]) for rel, text in filled if rel in found]
            have = {p for _, p in known}
            out.cells[key] = known + [(text, p) for p, text in sorted(extras.get(key, [])) if p not in have]
        return out

    @classmethod
    def existing(cls, results: str | os.PathLike[str], cells: Sequence[Key]) -> Artefacts:
        """The known files of ``cells`` (and their datasets) that exist below ``results``."""
        root = Path(results)
        candidates = [t for t, _ in CELL_ARTEFACTS] + list(CELL_EXTRAS)
        files = [_under(root, paths.cell(t, *key)) for key in cells for t in candidates]
        files += [
            _under(root, paths.fill(t, dataset=ds))
            for ds in dict.fromkeys(k[0] for k in cells)
            for t, _ in DATASET_ARTEFACTS
        ]
        return cls.declared([f for f in files if f.is_file()], root)


def _key(wc: dict[str, str] | None) -> Key | None:
    return (wc["dataset"], wc["generator"], wc["setting"]) if wc and "generator" in wc else None


def _under(root: Path, path: str) -> Path:
    """``path`` (``results/...``) below the results folder ``root`` (whatever its name)."""
    return root / PurePosixPath(path).relative_to(paths.RESULTS)
