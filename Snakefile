# privsynth: raw data -> synthetic data per (dataset, generator, setting)
# -> fidelity reports -> results/summary.csv.  See README.md.
import os

from snakemake.utils import min_version

min_version("9.0")


# A --configfile replaces the default config instead of being merged into it,
# so a smaller grid really is smaller.
if "datasets" not in config:

    configfile: os.path.join(workflow.basedir, "config/config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/audit_one_run_common.smk"


wildcard_constraints:
    dataset=NAME,
    setting=NAME,


include: "workflow/rules/data.smk"
include: "workflow/rules/generators/baselines.smk"
include: "workflow/rules/generators/controls.smk"
include: "workflow/rules/generators/openai.smk"
include: "workflow/rules/generators/plugins.smk"
include: "workflow/rules/generators/great.smk"
include: "workflow/rules/generators/mostlyai.smk"
include: "workflow/rules/fidelity.smk"
include: "workflow/rules/eda.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/audit_one_run.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/utility.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_targets(),
    default_target: True
