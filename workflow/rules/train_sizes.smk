# The training-set size axis (privsynth.train_sizes): per dataset with a train_sizes
# block, a table and a plot of accountant epsilon, the one-run epsilon lower bound and
# accuracy against training rows (privsynth.report.train_sizes; docs/mostlyai.md).
TRAIN_SIZE_AXES = {ds: a for ds, a in GRID.axes.items() if a is not None}


rule report_train_sizes:
    input:
        summary=paths.SUMMARY,
    output:
        csv=f"{paths.RESULTS}/{{dataset}}/train_sizes.csv",
        svg=f"{paths.RESULTS}/{{dataset}}/train_sizes.svg",
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


TARGETS.extend(f"{paths.RESULTS}/{ds}/train_sizes.svg" for ds in TRAIN_SIZE_AXES)
