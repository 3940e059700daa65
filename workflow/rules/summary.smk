# One row per (dataset, generator, setting) with every metric.


rule summary:
    input:
        unpack(summary_inputs),
    output:
        report("results/summary.csv", caption="../report/summary.rst", category="Summary"),
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/core.yaml"
    script:
        "../scripts/summary.py"
