"""Every command README.md and docs/*.md show still works with this checkout (issue 25 item 5).

Each shell line of a fenced ``sh``/``bash`` (or unlabelled) block and each inline
code span that starts with a command is checked against what it calls: a
``make`` target must be in the Makefile; ``snakemake`` arguments must parse with
Snakemake's own parser, and the files, profiles and rules they name must exist;
``python -m privsynth`` subcommands must be in its usage; a benchmark script
must exist and declare every option shown; ``pytest`` paths and markers must
exist; ``pip install`` extras and pins must be the project's; an exported
variable must be one privsynth reads. Commands of other tools (``squeue``,
``sbatch``, ``conda env create``, ``chromium``) and blocks preceded by
``<!-- illustrative -->`` are illustrative: listed, not checked. Placeholders
(``my.yaml``, ``...``, ``<files>``, ``/path/to``) stand for the reader's own values.
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PROGRAMS = {"make", "snakemake", "python", "python3", "pytest", "pip", "bash", "export"}
OTHER_TOOLS = {"squeue", "sbatch", "conda", "chromium", "git"}  # not privsynth's: illustrative
ILLUSTRATIVE = "<!-- illustrative -->"
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


@dataclass(frozen=True)
class Command:
    where: str  # file:line
    text: str
    illustrative: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def _is_command(text: str) -> bool:
    words = text.split()
    while words and ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    return bool(words) and (words[0] in PROGRAMS | OTHER_TOOLS or words[0].startswith(".venv/bin/"))


def _shell_lines(block: str) -> list[str]:
    lines, joined = [], ""
    for raw in block.splitlines():
        line = re.sub(r"\s+#\s.*$", "", raw).strip()
        if line.endswith("\\"):
            joined += line[:-1] + " "
            continue
        lines.append(joined + line)
        joined = ""
    return [line for line in lines if line and not line.startswith("#")]


def doc_commands() -> list[Command]:
    out: list[Command] = []
    for doc in DOCS:
        rel = doc.relative_to(REPO)
        text = doc.read_text(encoding="utf-8")
        fence = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
        for m in fence.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            before = text[: m.start()].rstrip().splitlines()[-1:] or [""]
            if m.group(1) not in ("", "sh", "bash", "console"):
                continue
            for cmd in _shell_lines(m.group(2)):
                if _is_command(cmd):
                    out.append(Command(f"{rel}:{line}", cmd, before[0].strip() == ILLUSTRATIVE))
        prose = fence.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for m in re.finditer(r"(?<!`)`([^`\n]+)`(?!`)", prose):
            if _is_command(m.group(1).strip()):
                out.append(Command(f"{rel}:{prose.count(chr(10), 0, m.start()) + 1}", m.group(1).strip()))
    return out


# --- what the commands call -------------------------------------------------------------
def _placeholder(word: str) -> bool:
    return word in ("...", "sk-...") or "<" in word or "/path/to" in word or word.startswith(("my.", "/data/"))


@cache
def _make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(encoding="utf-8"), re.M))


@cache
def _rules() -> set[str]:
    files = [REPO / "Snakefile", *(REPO / "workflow/rules").rglob("*.smk")]
    return {r for f in files for r in re.findall(r"^\s*rule (\w+):", f.read_text(encoding="utf-8"), re.M)}


@cache
def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _options_of(script: Path) -> set[str]:
    """The option strings a script's argparse declares (its add_argument calls)."""
    opts = set()
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            opts |= {a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("-")}
    return opts | {"-h", "--help"}


def _check_snakemake(args: list[str]) -> str | None:
    from snakemake.cli import get_argument_parser

    args = [a for a in args if a != "..."]
    parsed = [("x" if _placeholder(a) else a) for a in args]
    try:
        ns = get_argument_parser().parse_args(parsed)
    except SystemExit:
        return f"snakemake does not accept {' '.join(args)!r}"
    for opt in ("configfile", "profile", "workflow_profile"):
        values = getattr(ns, opt, None) or []
        for v in [values] if isinstance(values, str) else values:
            if str(v) not in ("x", "none") and not (REPO / str(v)).exists():
                return f"{opt.replace('_', '-')} {v} does not exist"
    for opt in ("forcerun", "until", "omit_from"):
        if bad := {v for v in getattr(ns, opt, None) or [] if v not in _rules() and v != "x"}:
            return f"no rule {sorted(bad)[0]!r} in the workflow"
    return None


def _check_python(args: list[str]) -> str | None:
    if args[:2] == ["-m", "privsynth"]:
        sub = args[2] if len(args) > 2 else ""
        usage = __import__("privsynth.__main__", fromlist=["USAGE"]).USAGE
        if sub not in re.findall(r"python -m privsynth (\w+)", usage):
            return f"`python -m privsynth {sub}` is not in privsynth's usage"
        return _check_snakemake(args[3:]) if sub == "snakemake" else None
    if args[:1] == ["-m"] and args[1] == "pytest":
        return _check_pytest(args[2:])
    if args[:1] == ["-m"]:
        import importlib.util

        return None if importlib.util.find_spec(args[1]) else f"no module {args[1]}"
    script = REPO / args[0]
    if not script.is_file():
        return f"{args[0]} does not exist"
    declared = _options_of(script)
    bad = [a.split("=")[0] for a in args[1:] if a.startswith("-") and a.split("=")[0] not in declared]
    return f"{args[0]} declares no option {bad[0]}" if bad else None


def _check_pytest(args: list[str]) -> str | None:
    markers = {m.split(":")[0] for m in _pyproject()["tool"]["pytest"]["ini_options"]["markers"]}
    for i, a in enumerate(args):
        if a == "-m":
            if bad := set(re.findall(r"\w+", args[i + 1])) - {"and", "or", "not"} - markers:
                return f"no pytest marker {sorted(bad)[0]!r}"
        elif not a.startswith("-") and (i == 0 or args[i - 1] != "-m") and not (REPO / a.split("::")[0]).exists():
            return f"{a} does not exist"
    return None


def _check_pip(args: list[str]) -> str | None:
    sources = "\n".join(
        p.read_text(encoding="utf-8") for p in [REPO / "pyproject.toml", *(REPO / "tools").glob("*.sh")]
    )
    extras = set(_pyproject()["project"]["optional-dependencies"])
    for a in args[1:]:
        if m := re.fullmatch(r"'?\.\[([^\]]*)\]'?", a):
            if bad := {e for e in m.group(1).split(",") if e != "..."} - extras:
                return f"no extra {sorted(bad)[0]!r} in pyproject.toml"
        elif "==" in a and a not in sources:
            return f"{a} is pinned nowhere in pyproject.toml or tools/"
        elif args[0] == "uninstall" and not a.startswith("-") and a not in sources:
            return f"tools/ never removes {a}"
    return None


def _check_export(args: list[str]) -> str | None:
    name = args[0].split("=")[0]
    code = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "src").rglob("*.py"))
    return None if f'"{name}"' in code else f"privsynth reads no variable {name}"


def problem(cmd: Command) -> str | None:
    """Why ``cmd`` no longer matches the code (None: it does, or it is illustrative)."""
    words = shlex.split(cmd.text)
    while words and ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    prog, args = words[0].removeprefix(".venv/bin/"), words[1:]
    if cmd.illustrative or prog in OTHER_TOOLS:
        return None
    if prog == "make":
        return next((f"no make target {t!r}" for t in args if t not in _make_targets()), None)
    if prog == "snakemake":
        return _check_snakemake(args)
    if prog in ("python", "python3"):
        return _check_python(args)
    if prog == "pytest":
        return _check_pytest(args)
    if prog == "pip":
        return _check_pip(args)
    if prog == "bash":
        return None if (REPO / args[0]).is_file() else f"{args[0]} does not exist"
    if prog == "export":
        return _check_export(args)
    return f"unknown program {prog}"


COMMANDS = doc_commands()


def test_the_docs_show_commands_and_every_kind_is_checked() -> None:
    assert len(COMMANDS) > 50  # the extraction finds them (README's and docs' commands)
    progs = {shlex.split(c.text)[0] for c in COMMANDS}
    assert {"make", "snakemake", "python", "pip"} <= progs


@pytest.mark.parametrize("cmd", COMMANDS, ids=str)
def test_a_documented_command_matches_the_code(cmd: Command) -> None:
    assert problem(cmd) is None, f"{cmd}: {problem(cmd)}"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("make tests-fast", "no make target 'tests-fast'"),
        ("snakemake --profile profiles/nope", "profile profiles/nope does not exist"),
        ("snakemake --no-such-option", "snakemake does not accept '--no-such-option'"),
        ("snakemake -R report_plot", "no rule 'report_plot' in the workflow"),
        ("python -m privsynth validate my.yaml", "`python -m privsynth validate` is not in privsynth's usage"),
        ("python benchmarks/plan_speed.py --jobs 9", "benchmarks/plan_speed.py declares no option --jobs"),
        ("pytest -m 'not slow'", "no pytest marker 'slow'"),
        ("pip install -e .[qa,gpu]", "no extra 'gpu' in pyproject.toml"),
        ("pip install --no-deps edvart==4.0.3", "edvart==4.0.3 is pinned nowhere in pyproject.toml or tools/"),
        ("export PRIVSYNTH_CENSU=/x", "privsynth reads no variable PRIVSYNTH_CENSU"),
    ],
)
def test_a_stale_command_is_named(text: str, why: str) -> None:
    assert problem(Command("doc:1", text)) == why


# --- the README's stage table: every rule and every module has its row ------------------------
def _stage_table() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| stage | rules") :]
    table = table[: table.index("\n\n")]
    return [[c.strip() for c in line.split("|")[1:-1]] for line in table.splitlines()[2:]]


def _spans(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_stage_table_names_every_rule_and_every_module() -> None:
    import fnmatch

    rows = _stage_table()
    rule_patterns = {re.sub(r"<\w+>", "*", s) for r in rows for s in _spans(r[1])}
    missing = sorted(r for r in _rules() if not any(fnmatch.fnmatchcase(r, p) for p in rule_patterns))
    assert not missing, f"rules without a row in README's stage table: {missing}"
    smk = {s for r in rows for s in _spans(r[1]) if s.endswith(".smk") and "<" not in s}
    assert not [
        f for f in smk if not (REPO / "workflow/rules" / f).is_file()
    ], "the stage table names no such rule file"

    code = {s for r in rows for s in _spans(r[2]) if "<" not in s and s.endswith((".py", "/"))}
    pkg = REPO / "src/privsynth"
    assert not [c for c in code if not any(pkg.glob(c))], "the stage table names code that does not exist"
    modules = [p.relative_to(pkg).as_posix() for p in pkg.rglob("*.py") if p.name != "__init__.py"]
    uncovered = sorted(
        m for m in modules if not any(fnmatch.fnmatchcase(m, c + "*" if c.endswith("/") else c) for c in code)
    )
    assert not uncovered, f"modules without a row in README's stage table: {uncovered}"


# --- references to a heading of the docs resolve ---------------------------------------------
def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_every_reference_to_a_docs_heading_resolves() -> None:
    headings = {
        d.name: [h.strip() for h in re.findall(r"^#+ (.+)$", d.read_text(encoding="utf-8"), re.M)]
        for d in (REPO / "docs").glob("*.md")
    }
    sources = [REPO / "Snakefile", REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("workflow/**/*.smk")]
    sources += [*REPO.glob("src/**/*.py"), *REPO.glob("tests/*.py"), *REPO.glob("benchmarks/*.py")]
    refs = 0
    for src in sources:
        text = src.read_text(encoding="utf-8")
        for doc, title in re.findall(r"docs/(\w+\.md),? \(?\"([^\"]+)\"", text):
            refs += 1
            title = re.sub(r"\s+(#\s*)?", " ", title)  # a title wrapped over comment lines
            assert any(h.startswith(title) for h in headings.get(doc, [])), f"{src.name}: docs/{doc} has no {title!r}"
        for doc, anchor in re.findall(r"docs/(\w+\.md)#([\w-]+)", text):
            refs += 1
            assert anchor in {_slug(h) for h in headings.get(doc, [])}, f"{src.name}: docs/{doc} has no #{anchor}"
    assert refs >= 5


# --- the README's rerun claims (checked by tests/test_workflow.py's rerun test) ------------
def readme_rerun_claim(change: str) -> set[str]:
    """The rules the README's "Partial reruns" section says a dry run lists after ``change``
    ("one setting" or "split seed"); ``synthesize_*`` as written."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Partial reruns") :]
    section = section[: section.index("\n## ")]
    sentence = next(s for s in re.split(r"(?<=[.;])\s", section.replace("\n", " ")) if change in s)
    return {s for s in _spans(sentence) if re.fullmatch(r"[a-z_]+\*?", s) and s != "snakemake"}


def test_the_rerun_claims_name_rules() -> None:
    import fnmatch

    for change in ("one setting", "split seed"):
        claim = readme_rerun_claim(change)
        assert {"summary", "report"} <= claim, change
        assert all(any(fnmatch.fnmatchcase(r, c) for r in _rules()) for c in claim), claim
