"""Every conda env (envs/*.yaml) installs privsynth itself, and every rule uses one.

Each env's pip list is one line: this checkout, editable, with the extra of its
rule family (``-e ${PRIVSYNTH_REPO}[great]``; envs/core.yaml without an extra).
So the dependency lists live only in pyproject.toml, and `--sdm conda` on a
cluster installs what `tools/install.sh` installs for the tests.  The path is
an environment variable because Snakemake copies each env file to its conda
prefix before `conda env create`, so a path relative to envs/ would not resolve;
the workflow sets it (workflow/rules/common.smk) and pip expands `${VAR}` in
requirements.  Creating the envs needs conda, which the test machines do not
have: these checks are static.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
VAR = "PRIVSYNTH_REPO"
SELF = re.compile(r"^-e \$\{" + VAR + r"\}(?:\[(?P<extras>[A-Za-z0-9_,-]+)\])?$")

# Envs that also carry other families' extras: EDA shares one environment with
# mostlyai-qa (issue 7: it proves edvart runs with mostlyai-qa's plotly>=6).
SHARED_ENVS = {"eda": ["qa"]}
# Extras only the driver machine (snakemake itself) or the tests need: no rule's env.
DRIVER_EXTRAS = {"workflow", "slurm", "test"}


def _env(path: Path) -> dict:
    env = yaml.safe_load(path.read_text())
    assert isinstance(env, dict) and "dependencies" in env, f"{path.name}: not a conda environment file"
    return env


def _pip_list(env: dict, path: Path) -> list[str]:
    pips = [d["pip"] for d in env.get("dependencies", []) if isinstance(d, dict) and "pip" in d]
    assert len(pips) == 1, f"{path.name}: expected exactly one 'pip:' list under dependencies"
    assert "pip" in env["dependencies"], f"{path.name}: 'pip' itself must be a conda dependency"
    return list(pips[0])


def _installed_extras(path: Path) -> list[str]:
    """The extras an env installs privsynth with (asserting it installs privsynth and nothing else)."""
    pip = _pip_list(_env(path), path)
    assert len(pip) == 1 and SELF.match(pip[0].strip()), (
        f"{path.name}: the pip list must be exactly one line, privsynth from this checkout with its "
        f"rule family's extra (e.g. '-e ${{{VAR}}}[{path.stem}]'), got {pip}; dependencies belong in "
        "pyproject.toml [project.optional-dependencies]"
    )
    extras = SELF.match(pip[0].strip())["extras"]
    return extras.split(",") if extras else []


def test_env_files_exist():
    names = [p.stem for p in ENV_FILES]
    assert "core" in names, "envs/core.yaml (data, baselines, summary) is missing"


@pytest.mark.parametrize("path", ENV_FILES, ids=[p.stem for p in ENV_FILES])
def test_env_installs_privsynth_with_its_extra(path: Path):
    env = _env(path)
    assert env.get("channels"), f"{path.name}: list the channels (conda-forge, nodefaults)"

    # Same Python as the project requires.
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and re.match(r"python\b", d)]
    assert pythons, f"{path.name}: pin python (e.g. python=3.11)"
    version = re.sub(r"^python\s*[=<>!~]*", "", pythons[0])
    requires = PYPROJECT["project"]["requires-python"]
    assert SpecifierSet(requires).contains(
        Version(version)
    ), f"{path.name}: {pythons[0]} does not satisfy requires-python {requires}"

    extras = _installed_extras(path)
    unknown = [e for e in extras if e not in EXTRAS]
    assert not unknown, f"{path.name}: no extra {unknown} in pyproject.toml [project.optional-dependencies]"
    want = [] if path.stem == "core" else [*SHARED_ENVS.get(path.stem, []), path.stem]
    assert sorted(extras) == sorted(
        want
    ), f"{path.name} installs privsynth[{','.join(extras)}]; its rule family's extras are [{','.join(want)}]"


def test_every_rule_family_extra_has_an_env():
    """An extra for a rule family but no env: `--sdm conda` would run those rules without it."""
    covered = {e for p in ENV_FILES for e in _installed_extras(p)}
    missing = sorted(set(EXTRAS) - DRIVER_EXTRAS - covered)
    assert not missing, f"pyproject extras no envs/*.yaml installs: {missing}"


def test_workflow_sets_the_repo_variable():
    """The env files' ${PRIVSYNTH_REPO} is set by the workflow to the checkout it runs from."""
    sources = [REPO / "Snakefile", *(REPO / "workflow").rglob("*.smk")]
    # (Set with update: snakemake --lint reads os.environ["..."] as a variable the workflow needs.)
    setters = [p for p in sources if f"os.environ.update({VAR}=workflow.basedir)" in p.read_text()]
    assert setters, f"no workflow file sets os.environ.update({VAR}=workflow.basedir)"


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
