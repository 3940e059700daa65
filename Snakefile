# privsynth: raw data -> synthetic data per (dataset, generator, setting)
# -> fidelity reports -> results/summary.csv.  See README.md.
import os

from snakemake.utils import min_version

min_version("9.0")


# A --configfile replaces the default config instead of being merged into it,
# so a smaller grid really is smaller (one without datasets: is an error, not the
# default grid); --config key=value alone still adjusts the default config.
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config/config.yaml")


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset=NAME,
    setting=NAME,


include: "workflow/rules/data.smk"
include: "workflow/rules/generators/baselines.smk"
include: "workflow/rules/generators/controls.smk"
include: "workflow/rules/generators/external.smk"
include: "workflow/rules/generators/openai.smk"
include: "workflow/rules/generators/plugins.smk"
include: "workflow/rules/generators/great.smk"
include: "workflow/rules/generators/mostlyai.smk"
include: "workflow/rules/generators/mst.smk"
include: "workflow/rules/generators/copula.smk"
include: "workflow/rules/fidelity.smk"
include: "workflow/rules/eda.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/audit_one_run.smk"
include: "workflow/rules/audit_nobox.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/utility.smk"
include: "workflow/rules/pairs.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/train_sizes.smk"


rule all:
    default_target: True
    input:
        PLAN.targets,


# Killed jobs leave no ERROR line: say so (console + log) and clean their scratch
# space; a first SIGINT lets the running jobs finish; a failed run still writes
# what finished to results/partial/ (docs/failures.md).
onstart:
    runstate.report_killed(paths.LOGS)
    runstate.clean_stale_scratch()
    runstate.graceful_sigint()


onerror:
    partial_results.on_error(
        paths.RESULTS,
        list(PLAN.cells),
        PLAN.qa,
        PLAN.summary_extras,
        benchmarks_of=PLAN.benchmarks,
    )


onsuccess:
    partial_results.remove_superseded(paths.RESULTS)


# Last, after every rule exists: canonical params, and a check that every rule
# lists its code identity, code=code_of("<script>") (privsynth.identity;
# docs/failures.md, "Reruns: what runs again, and why").
try:
    identity.finalize_params(workflow)
except ValueError as exc:
    raise WorkflowError(str(exc)) from None
