# GReaT (be-great): an LLM fine-tuned on rows as text. GPU-capable: the job asks
# SLURM for `gpu` GPUs (default 1) and falls back to the CPU with a warning.


rule synthesize_great:
    input:
        train=synth_train,
        schema="results/{dataset}/data/schema.json",
    output:
        synthetic="results/{dataset}/{generator}/{setting}/synthetic.parquet",
        metrics="results/{dataset}/{generator}/{setting}/metrics.json",
    log:
        "results/logs/synthesize/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator="great",
    conda:
        "../../../envs/great.yaml"
    threads: config["threads"]
    resources:
        gpu=gpu_of,
    params:
        job=synth_job,
    script:
        "../../scripts/synthesize.py"
