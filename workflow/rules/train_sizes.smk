# The training-set size axis (privsynth.train_sizes): per dataset with a train_sizes
# block, a table and a plot of accountant epsilon, the one-run epsilon lower bound and
# accuracy against training rows (privsynth.report.train_sizes; docs/mostlyai.md).
from privsynth.plan import TRAIN_SIZES_CSV, TRAIN_SIZES_SVG  # noqa: E402

TRAIN_SIZE_AXES = PLAN.train_size_axes


rule report_train_sizes:
    input:
        summary=paths.SUMMARY,
    output:
        csv=TRAIN_SIZES_CSV,
        svg=TRAIN_SIZES_SVG,
    log:
        paths.log("report_train_sizes", paths.PER_DATASET),
    wildcard_constraints:
        dataset="|".join(TRAIN_SIZE_AXES) or "^$",
    conda:
        "../../envs/core.yaml"
    params:
        axis=lambda wc: TRAIN_SIZE_AXES[wc.dataset].slice(),
        code=code_of("report_train_sizes"),
    script:
        "../scripts/report_train_sizes.py"
