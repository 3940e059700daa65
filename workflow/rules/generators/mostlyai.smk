# MOSTLY AI generator (SDK local mode, optional DP-SGD) and its per-dataset
# comparison table in the shape of the MOSTLY AI differential-privacy tutorial.


rule synthesize_mostlyai:
    input:
        train=synth_train,
        schema="results/{dataset}/data/schema.json",
    output:
        synthetic="results/{dataset}/{generator}/{setting}/synthetic.parquet",
        metrics="results/{dataset}/{generator}/{setting}/metrics.json",
        generator="results/{dataset}/{generator}/{setting}/generator.zip",
    log:
        "results/logs/synthesize/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator="mostlyai",
    # The longest jobs start first: the per-dataset EDA batch and the tutorial table wait for them.
    priority: 1
    conda:
        "../../../envs/mostlyai.yaml"
    # The job's CPU share is its training subprocess's torch threads (1 by default),
    # so two mostlyai jobs share a 2-core machine instead of queueing.
    threads: lambda wc: synth_job(wc)["settings"].get("torch_threads") or config["threads"]
    resources:
        gpu=gpu_of,
        # Only a GPU job names a model; "" leaves the SLURM request at --gpus=N.
        gpu_model=lambda wc: (synth_job(wc)["settings"].get("gpu_model") or "") if gpu_of(wc) else "",
    params:
        job=synth_job,
    script:
        "../../scripts/synthesize_mostlyai.py"


rule mostlyai_comparison:
    input:
        # metrics of every mostlyai setting of the dataset, plus their QA metrics if enabled
        unpack(
            lambda wc: {
                kind: [f"{cell_dir(c)}/{name}" for c in GRID.of(generator="mostlyai", dataset=wc.dataset)]
                for kind, name in [("metrics", "metrics.json"), ("qa", "qa/metrics.json")]
                if kind == "metrics" or config["qa"]["enabled"]
            }
        ),
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
    f"results/{ds}/mostlyai/comparison.csv" for ds in GRID.datasets if GRID.of(generator="mostlyai", dataset=ds)
)
