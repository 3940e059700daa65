# The plan (config validated once, every cell, slice, summary input and target) and
# the functions the rules share.
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

# privsynth is imported as installed (tools/install.sh); the conda envs
# (envs/*.yaml, --sdm conda) pip-install it from this checkout: ${PRIVSYNTH_REPO}.
os.environ.update(PRIVSYNTH_REPO=workflow.basedir)

from privsynth import paths  # noqa: E402
from privsynth.errors import ConfigError  # noqa: E402
from privsynth import identity  # noqa: E402
from privsynth import partial as partial_results  # noqa: E402
from privsynth import runstate  # noqa: E402
from privsynth.plan import BENCHMARKS, Plan  # noqa: E402

# The plan (privsynth.plan): every cell, job slice, summary input and target, built
# once here; the rule files only read it. Every config problem stops the workflow
# with one line, the dotted key first.
try:
    PLAN = Plan.start(
        config,
        Path(workflow.basedir) / "config/schema.yaml",
        # Re-read the files Snakemake loaded, strictly: duplicate keys are errors.
        configfiles=list(workflow.configfiles),
        overwrite_configfiles=list(workflow.overwrite_configfiles),
    )
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None
GRID = PLAN.grid

NAME = "[A-Za-z0-9][A-Za-z0-9_.-]*"


def code_of(script):
    """The `code` param for the script workflow/scripts/<script>.py (a digest of the
    privsynth code its jobs run, derived from that code by privsynth.identity)."""
    path = Path(workflow.basedir) / "workflow" / "scripts" / f"{script}.py"
    return identity.code_param(path, enabled=config.get("code_identity", True))


def synth_job(wildcards):
    return GRID.synth_slice(wildcards.dataset, wildcards.generator, wildcards.setting)


def settings_of(wc):
    """A cell's validated generator settings (read only: synth_job gives a job its own copy)."""
    return PLAN.cell(wc.dataset, wc.generator, wc.setting).settings


def gpu_of(wildcards):
    return GRID.gpu(wildcards.dataset, wildcards.generator, wildcards.setting)


def synth_train(wc):
    """Training set of a cell's main synthesis (the one-run audit's where the release is the audit run)."""
    return PLAN.synth_train(wc.dataset, wc.generator, wc.setting)


def generator_inputs(wc):
    """Files a cell's generator reads besides its training set (e.g. the negative control's reference)."""
    return PLAN.generator_inputs(wc.dataset, wc.generator, wc.setting)


def generator_env(wc):
    """The conda env of the rule that synthesises the cell's main output (shadow and one-run
    audit fits run the generator in its own environment)."""
    want = paths.of(paths.SYNTHETIC, wc)
    for r in workflow.rules:
        env = r.conda_env
        if r.name.startswith("audit_") or not isinstance(env, str) or not r.is_producer(want):
            continue
        return os.path.normpath(os.path.join(os.path.dirname(r.snakefile), env))
    return "../../envs/core.yaml"


# Input functions of the shadow-model audit (audit.smk) and the one-run audit (audit_one_run.smk).
def _require_audited(wc):
    if not PLAN.audit.is_audited(wc.dataset, wc.generator, wc.setting):
        raise WorkflowError(
            f"{wc.dataset}/{wc.generator}/{wc.setting} is not audited "
            f"(datasets.{wc.dataset}.audit.enabled / .generators)"
        )


def audit_batches(wc):
    _require_audited(wc)
    return PLAN.audit_files(paths.AUDIT_SHADOW_BATCH, wc.dataset, wc.generator, wc.setting)


def audit_fits(wc):
    _require_audited(wc)
    return PLAN.audit_files(paths.AUDIT_SHADOW_FITS, wc.dataset, wc.generator, wc.setting)


def one_run_output(wc):
    """Synthetic output and metrics of the audit run: the release, or the separate audit fit."""
    return PLAN.one_run_output(wc.dataset, wc.generator, wc.setting)
