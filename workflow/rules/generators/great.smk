# GReaT (be-great): an LLM fine-tuned on rows as text. GPU-capable: the job asks
# SLURM for `gpu` GPUs (default 1) and falls back to the CPU with a warning.


use rule synthesize_baseline as synthesize_great with:
    wildcard_constraints:
        generator="great",
    conda:
        "../../../envs/great.yaml"
    threads: config["threads"]
    resources:
        gpu=gpu_of,
