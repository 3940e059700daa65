# ML utility: a classifier trained on each synthetic set (and on the real
# training split, the baseline) predicts datasets.<name>.target on the real holdout.


rule utility_baseline:
    input:
        train=rules.prepare_data.output.train,
        holdout=rules.prepare_data.output.holdout,
    output:
        paths.UTILITY_BASELINE,
    log:
        paths.log("utility_baseline", paths.PER_DATASET),
    conda:
        "../../envs/core.yaml"
    threads: 1
    params:
        job=lambda wc: GRID.utility_slice(wc.dataset),
        code=code_of("utility_baseline"),
    script:
        "../scripts/utility_baseline.py"


rule utility:
    input:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
        holdout=rules.prepare_data.output.holdout,
        baseline=rules.utility_baseline.output[0],
    output:
        paths.UTILITY,
    log:
        paths.log("utility", paths.PER_CELL),
    benchmark:
        BENCHMARKS["utility"]
    conda:
        "../../envs/core.yaml"
    threads: 1
    params:
        job=lambda wc: GRID.utility_slice(wc.dataset),
        code=code_of("utility"),
    script:
        "../scripts/utility.py"
