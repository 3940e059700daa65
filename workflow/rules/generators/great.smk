# GReaT (be-great): an LLM fine-tuned on rows as text. GPU-capable: the job asks
# SLURM for `gpu` GPUs (default 1) and falls back to the CPU with a warning.


rule synthesize_great:
    input:
        train=synth_train,
        schema=rules.prepare_data.output.schema,
    output:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
    log:
        paths.log("synthesize", paths.PER_CELL),
    benchmark:
        BENCHMARKS["synthesize"]
    wildcard_constraints:
        generator="great",
    conda:
        "../../../envs/great.yaml"
    threads: config["threads"]
    resources:
        gpu=gpu_of,
    params:
        job=synth_job,
        code=code_of("synthesize"),
    script:
        "../../scripts/synthesize.py"
