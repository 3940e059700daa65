# One row per (dataset, generator, setting) with every metric.


rule summary:
    input:
        **PLAN.summary_inputs(),
    output:
        report(paths.SUMMARY, caption="../report/summary.rst", category="Summary"),
    log:
        paths.log("summary"),
    conda:
        "../../envs/core.yaml"
    params:
        code=code_of("summary"),
    script:
        "../scripts/summary.py"
