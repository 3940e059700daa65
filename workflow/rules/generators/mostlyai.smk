# MOSTLY AI generator (SDK local mode, optional DP-SGD) and its per-dataset
# comparison table in the shape of the MOSTLY AI differential-privacy tutorial.


def mostlyai_gpu_model(wildcards):
    # Only a GPU job names a model; "" leaves the SLURM request at --gpus=N.
    if not gpu_of(wildcards):
        return ""
    return synth_job(wildcards)["settings"].get("gpu_model") or ""


rule synthesize_mostlyai:
    input:
        train="results/{dataset}/data/train.parquet",
        schema="results/{dataset}/data/schema.json",
    output:
        synthetic="results/{dataset}/{generator}/{setting}/synthetic.parquet",
        metrics="results/{dataset}/{generator}/{setting}/metrics.json",
        generator="results/{dataset}/{generator}/{setting}/generator.zip",
    log:
        "results/logs/synthesize/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator="mostlyai",
    params:
        job=synth_job,
    threads: config["threads"]
    resources:
        gpu=gpu_of,
        gpu_model=mostlyai_gpu_model,
    conda:
        "../../../envs/mostlyai.yaml"
    script:
        "../../scripts/synthesize_mostlyai.py"


def mostlyai_cells(wildcards):
    return GRID.of(generator="mostlyai", dataset=wildcards.dataset)


rule mostlyai_comparison:
    input:
        metrics=lambda wc: [f"{cell_dir(c)}/metrics.json" for c in mostlyai_cells(wc)],
    output:
        csv="results/{dataset}/mostlyai/comparison.csv",
        md="results/{dataset}/mostlyai/comparison.md",
    log:
        "results/logs/mostlyai_comparison/{dataset}.log",
    conda:
        "../../../envs/core.yaml"
    script:
        "../../scripts/mostlyai_comparison.py"


TARGETS.extend(
    f"results/{ds}/mostlyai/comparison.csv"
    for ds in GRID.datasets
    if GRID.of(generator="mostlyai", dataset=ds)
)
