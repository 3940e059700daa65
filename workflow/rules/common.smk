# Config validation and the grid; functions used by the rules.
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# privsynth is imported as installed (tools/install.sh); the conda envs
# (envs/*.yaml, --sdm conda) pip-install it from this checkout: ${PRIVSYNTH_REPO}.
os.environ.update(PRIVSYNTH_REPO=workflow.basedir)

from privsynth import config as config_checks  # noqa: E402
from privsynth import paths  # noqa: E402
from privsynth.config import Grid  # noqa: E402
from privsynth.errors import ConfigError  # noqa: E402
from privsynth import identity  # noqa: E402
from privsynth import partial as partial_results  # noqa: E402
from privsynth import runstate  # noqa: E402

# Every config problem stops the workflow with one line, the dotted key first.
try:
    # Re-read the files Snakemake loaded, strictly: duplicate keys are errors.
    config_checks.check_config_files(list(workflow.configfiles))
    config_checks.check_has_datasets(config, list(workflow.overwrite_configfiles))
    config_checks.validate_config(config, validate, Path(workflow.basedir) / "config/schema.yaml")
    GRID = Grid(config, validate)
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None

NAME = "[A-Za-z0-9][A-Za-z0-9_.-]*"


def code_of(script):
    """The `code` param for the script workflow/scripts/<script>.py (a digest of the
    privsynth code its jobs run, derived from that code by privsynth.identity)."""
    path = Path(workflow.basedir) / "workflow" / "scripts" / f"{script}.py"
    return identity.code_param(path, enabled=config.get("code_identity", True))


def synth_job(wildcards):
    return GRID.synth_slice(wildcards.dataset, wildcards.generator, wildcards.setting)


def gpu_of(wildcards):
    return GRID.gpu(wildcards.dataset, wildcards.generator, wildcards.setting)


# Plug-in points that .smk files included after this one extend -
# - SUMMARY_EXTRAS: functions cell -> path of a flat JSON (with dataset/generator/
#   setting keys) whose other keys become summary.csv columns for that cell;
# - SUMMARY_BENCHMARKS: functions cell -> benchmark files of that cell's jobs
#   (summary.csv's cost_* columns; a per-dataset file is shared by its cells);
# - TARGETS: extra files `rule all` builds.
SUMMARY_EXTRAS = []
SUMMARY_BENCHMARKS = [lambda c: [paths.of(paths.benchmark("synthesize", paths.PER_CELL), c)]]
TARGETS = []


def cell_benchmarks(c):
    """Benchmark files of one cell's jobs, in a fixed order."""
    return [p for fn in SUMMARY_BENCHMARKS for p in fn(c)]


def summary_inputs(wildcards):
    cells = list(GRID.cells.values())
    inputs = {"metrics": [paths.of(paths.METRICS, c) for c in cells]}
    if config["qa"]["enabled"]:
        inputs["qa"] = [paths.of(paths.QA_METRICS, c) for c in cells]
    inputs["extra"] = [fn(c) for fn in SUMMARY_EXTRAS for c in cells]
    inputs["benchmarks"] = list(dict.fromkeys(p for c in cells for p in cell_benchmarks(c)))
    return inputs


def all_targets():
    return [paths.SUMMARY, *TARGETS]
