# Baseline generators: copy (positive control) and marginals. CPU only.


rule synthesize_baseline:
    input:
        train=synth_train,
        schema="results/{dataset}/data/schema.json",
    output:
        synthetic="results/{dataset}/{generator}/{setting}/synthetic.parquet",
        metrics="results/{dataset}/{generator}/{setting}/metrics.json",
    log:
        "results/logs/synthesize/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator="copy|marginals",
    conda:
        "../../../envs/core.yaml"
    params:
        job=synth_job,
    script:
        "../../scripts/synthesize.py"
