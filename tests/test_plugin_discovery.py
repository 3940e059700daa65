"""Plug-ins are discovered and planned without importing their code (issue 23 item 3).

What the planner needs from a generator (refittable, the audit's default attacks, the
files it reads) is declared in its schema's ``x-privsynth`` block
(privsynth.generators.declared); the plug-in's module is imported only in its job.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import planned, snakemake_env, tiny_config
from test_workflow import WDBC

from privsynth import generators
from privsynth.errors import ConfigError

SCHEMA = """$schema: "https://json-schema.org/draft/2020-12/schema"
type: object
additionalProperties: false
properties:
  ref: {type: string}
  sample_size: {type: [integer, "null"], default: null}
x-privsynth:
  refittable: true
  audit_attacks: [exact_match]
  input_files: [ref]
"""
# Module-level code that leaves a trace: it must run in the job, never while planning.
TATTLE = """import os
from pathlib import Path

from privsynth.generators.base import Generator

with open(Path(__file__).with_name("imported.txt"), "a") as fh:
    fh.write(f"{os.getpid()}\\n")


class Tattle(Generator):
    name = "tattle"

    def fit(self, train, schema, settings, seed):
        self._rows = train.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        self._ref = Path(settings["ref"]).read_text()

    def sample(self, n):
        return self._rows.sample(n=n, replace=True, random_state=1).reset_index(drop=True)


GENERATOR = Tattle
"""
BOOM = 'raise RuntimeError("module code ran")\n'


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "plugins"
    d.mkdir()
    for name, code in (("tattle", TATTLE), ("boom", BOOM)):
        (d / f"{name}.py").write_text(code)
        (d / f"{name}.yaml").write_text(SCHEMA)
    (d / "ref.txt").write_text("a file the plug-in reads\n")
    monkeypatch.setenv("PRIVSYNTH_PLUGINS", str(d))
    return d


def test_the_static_block_is_what_planning_reads(plugin_dir: Path) -> None:
    from privsynth.audit.common.cells import refittable

    d = generators.declared("tattle")
    assert (d.refittable, d.audit_attacks) == (True, ("exact_match",))
    assert d.files({"ref": "r.txt"}) == ["r.txt"]
    assert refittable("tattle")
    (plugin_dir / "boom.yaml").write_text(SCHEMA.replace("refittable: true", "refittable: false"))
    assert not refittable("boom")
    assert not (plugin_dir / "imported.txt").exists()
    assert "boom" in generators.available()  # listed, and its module (which raises) never ran


def test_a_plugin_that_cannot_be_refitted_gets_the_no_box_defaults(plugin_dir: Path) -> None:
    from snakemake.utils import validate

    from privsynth.audit.nobox import plan as nobox_plan
    from privsynth.config import Grid

    (plugin_dir / "boom.yaml").write_text(SCHEMA.replace("refittable: true", "refittable: false"))
    wdbc = {**yaml.safe_load(yaml.safe_dump(WDBC)), "generators": {"boom": {"a": {}}}}
    cfg = tiny_config(wdbc=wdbc)
    validate(cfg, str(Path(__file__).parents[1] / "config" / "schema.yaml"))
    grid = Grid(cfg, validate)
    assert nobox_plan.is_nobox(grid, "wdbc", "boom", "a")
    job = nobox_plan.job_slice(grid, "wdbc", "boom", "a")  # its schema has no nobox_* settings
    assert (job["confidence"], job["max_rows"], job["confirmed"]) == (0.95, 2000, False)


def test_builtins_declare_the_same_block() -> None:
    assert not generators.declared("external").refittable
    assert generators.declared("holdout").files({"path": "h.parquet"}) == ["h.parquet"]
    assert "levenshtein" in generators.declared("great").audit_attacks
    assert generators.declared("copy") == generators.declared("marginals")  # the defaults
    for name in generators.builtin():  # no class keeps a second copy of what the schema declares
        cls = generators.load(name)
        assert not {"refittable", "audit_attacks", "input_files"} & set(vars(cls)), name


BAD_BLOCKS = [
    ("not a mapping", "x-privsynth: [refittable]\n", "must be a mapping (refittable, audit_attacks, input_files)"),
    ("unknown key", "x-privsynth: {refitable: false}\n", "unknown key 'refitable' (known: refittable, "),
    ("refittable not a bool", "x-privsynth: {refittable: 'no'}\n", "refittable: must be true or false, got 'no'"),
    (
        "input file not a setting",
        "x-privsynth: {input_files: [reference]}\n",
        "input_files: 'reference' is not a setting of this schema (its properties: ref, sample_size)",
    ),
]


@pytest.mark.parametrize(("block", "message"), [r[1:] for r in BAD_BLOCKS], ids=[r[0] for r in BAD_BLOCKS])
def test_a_bad_static_block_is_one_line_naming_the_file(plugin_dir: Path, block: str, message: str) -> None:
    path = plugin_dir / "tattle.yaml"
    path.write_text(SCHEMA.split("x-privsynth:")[0] + block)
    with pytest.raises(ConfigError) as err:
        generators.declared("tattle")
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{path}: x-privsynth") and message in text, text


def test_an_unknown_attack_is_one_line_naming_the_file(plugin_dir: Path) -> None:
    from privsynth.audit.common.threat_model import AuditProtocol

    path = plugin_dir / "tattle.yaml"
    path.write_text(SCHEMA.replace("[exact_match]", "[tapas]"))
    with pytest.raises(ConfigError) as err:
        AuditProtocol.from_config({}).attacks_for(generators.declared("tattle"))
    assert str(err.value).startswith(f"{path}: x-privsynth.audit_attacks: unknown attack 'tapas' (known: groundhog, ")


def test_dry_run_and_check_import_no_plugin_code_a_real_run_does(tmp_path: Path, plugin_dir: Path, run_workflow):
    ref = str(plugin_dir / "ref.txt")
    wdbc = {**yaml.safe_load(yaml.safe_dump(WDBC)), "generators": {"tattle": {"a": {"ref": ref}}, "boom": {"a": {}}}}
    cfg = tiny_config(wdbc=wdbc)
    trace = plugin_dir / "imported.txt"

    plan = planned(run_workflow(tmp_path, cfg, "-n"))
    assert plan["synthesize_plugin"] == 2
    assert not trace.exists()  # tattle's module code did not run, and boom's raise did not stop planning
    proc = subprocess.run(
        [sys.executable, "-m", "privsynth", "check", str(tmp_path / "config.yaml")],
        capture_output=True,
        text=True,
        env=snakemake_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and "config OK: 1 datasets, 2 cells" in proc.stdout, proc.stderr
    assert not trace.exists()

    proc = run_workflow(tmp_path, cfg, "--keep-going", check=False)
    assert proc.returncode != 0  # boom's job fails ...
    assert len(trace.read_text().split()) == 1  # ... and tattle's module ran once: in its job
    assert (tmp_path / "results/wdbc/tattle/a/synthetic.parquet").is_file()
    log = (tmp_path / "results/logs/synthesize/wdbc/boom/a.log").read_text().splitlines()
    assert log[-1] == (
        f"ERROR: {plugin_dir / 'boom.py'}: importing plug-in generator 'boom' failed: RuntimeError: module code ran"
    )
    assert not (tmp_path / "results/wdbc/boom/a").exists()
