"""Every conda env (envs/*.yaml) agrees with pyproject.toml and is used by a rule.

envs/core.yaml pip-installs exactly [project.dependencies]; envs/<name>.yaml
exactly those plus the extra [project.optional-dependencies].<name>.  So
`--sdm conda` on a cluster installs the same versions the tests ran with.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _norm(req: str) -> str:
    """Canonical form: lower-case name, sorted extras, specifiers in a fixed order."""
    r = Requirement(req)
    name = re.sub(r"[-_.]+", "-", r.name).lower()
    extras = f"[{','.join(sorted(r.extras))}]" if r.extras else ""
    spec = ",".join(sorted(str(s) for s in r.specifier))
    marker = f"; {r.marker}" if r.marker else ""
    return f"{name}{extras}{spec}{marker}"


def _pip_list(env: dict, path: Path) -> list[str]:
    pips = [d["pip"] for d in env.get("dependencies", []) if isinstance(d, dict) and "pip" in d]
    assert len(pips) == 1, f"{path.name}: expected exactly one 'pip:' list under dependencies"
    assert "pip" in env["dependencies"], f"{path.name}: 'pip' itself must be a conda dependency"
    return list(pips[0])


# Envs that also carry other families' extras: EDA shares one environment with
# mostlyai-qa (issue 7: it proves edvart runs with mostlyai-qa's plotly>=6).
SHARED_ENVS = {"eda": ["qa"]}


def test_env_files_exist():
    names = [p.stem for p in ENV_FILES]
    assert "core" in names, "envs/core.yaml (data, baselines, summary) is missing"


@pytest.mark.parametrize("path", ENV_FILES, ids=[p.stem for p in ENV_FILES])
def test_env_matches_pyproject(path: Path):
    env = yaml.safe_load(path.read_text())
    assert isinstance(env, dict) and "dependencies" in env, f"{path.name}: not a conda environment file"
    assert env.get("channels"), f"{path.name}: list the channels (conda-forge, nodefaults)"

    # Same Python as the project requires.
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and re.match(r"python\b", d)]
    assert pythons, f"{path.name}: pin python (e.g. python=3.11)"
    version = re.sub(r"^python\s*[=<>!~]*", "", pythons[0])
    requires = PYPROJECT["project"]["requires-python"]
    assert SpecifierSet(requires).contains(
        Version(version)
    ), f"{path.name}: {pythons[0]} does not satisfy requires-python {requires}"

    expected = list(PYPROJECT["project"]["dependencies"])
    if path.stem != "core":
        extras = PYPROJECT["project"].get("optional-dependencies", {})
        assert path.stem in extras, (
            f"{path.name} has no matching extra: add [project.optional-dependencies] {path.stem} "
            "to pyproject.toml (the env's pip list = core dependencies + that extra)"
        )
        for extra in SHARED_ENVS.get(path.stem, []):
            expected += extras[extra]
        expected += extras[path.stem]
    got = [_norm(r) for r in _pip_list(env, path)]
    want = [_norm(r) for r in expected]
    assert len(got) == len(set(got)), f"{path.name}: duplicate pip requirements"
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    assert (
        not missing and not extra
    ), f"{path.name} disagrees with pyproject.toml: missing {missing}, not in pyproject {extra}"


def _conda_directives() -> dict[Path, set[Path]]:
    """Env file -> rule files whose `conda:` directive names it."""
    used: dict[Path, set[Path]] = {}
    for smk in [REPO / "Snakefile", *(REPO / "workflow").rglob("*.smk")]:
        lines = smk.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == "conda:":
                target = lines[i + 1].strip()
                if not target.startswith(("'", '"')):
                    continue  # a function choosing an env per job: see test_env_functions_exist
                used.setdefault((smk.parent / target.strip("\"'")).resolve(), set()).add(smk)
    return used


def test_env_functions_exist():
    """`conda: some_function` directives name a function defined in the workflow."""
    sources = "\n".join(p.read_text() for p in (REPO / "workflow").rglob("*.smk"))
    for smk in (REPO / "workflow").rglob("*.smk"):
        lines = smk.read_text().splitlines()
        for i, line in enumerate(lines):
            target = lines[i + 1].strip() if line.strip() == "conda:" else ""
            if target and not target.startswith(("'", '"')):
                assert f"def {target}(" in sources, f"{smk.name}: conda: {target} is not a defined function"


def test_conda_directives_point_at_env_files():
    used = _conda_directives()
    assert used, "no rule has a conda: directive"
    for env, files in used.items():
        assert env.is_file(), f"conda: {env} in {sorted(map(str, files))} does not exist"
        assert env.parent == REPO / "envs", f"conda: {env} is not under envs/"


def test_every_env_file_is_used():
    used = set(_conda_directives())
    unused = [p.name for p in ENV_FILES if p.resolve() not in used]
    assert not unused, f"envs/ files no rule uses (remove or add a conda: directive): {unused}"
