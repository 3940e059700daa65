# One row per (dataset, generator, setting) with every metric.


rule summary:
    input:
        unpack(summary_inputs),
    output:
        "results/summary.csv",
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/core.yaml"
    script:
        "../scripts/summary.py"
