# Negative control generator for the privacy audit: rows of a reference file
# (normally the holdout split) that no training record is in. CPU only.


rule synthesize_negative_control:
    input:
        train=synth_train,
        schema="results/{dataset}/data/schema.json",
        reference=lambda wc: synth_job(wc)["settings"]["path"],
    output:
        synthetic="results/{dataset}/{generator}/{setting}/synthetic.parquet",
        metrics="results/{dataset}/{generator}/{setting}/metrics.json",
    log:
        "results/logs/synthesize/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator="holdout",
    conda:
        "../../../envs/core.yaml"
    params:
        job=synth_job,
    script:
        "../../scripts/synthesize.py"
