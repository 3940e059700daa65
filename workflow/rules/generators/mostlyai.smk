# MOSTLY AI generator (SDK local mode, optional DP-SGD) and its per-dataset
# comparison table in the shape of the MOSTLY AI differential-privacy tutorial.


rule synthesize_mostlyai:
    input:
        train=synth_train,
        schema=rules.prepare_data.output.schema,
    output:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
        generator=paths.GENERATOR_ZIP,
    log:
        paths.log("synthesize", paths.PER_CELL),
    benchmark:
        BENCHMARKS["synthesize"]
    wildcard_constraints:
        generator="mostlyai",
    # The longest jobs start first: the per-dataset EDA batch and the tutorial table wait for them.
    priority: 1
    conda:
        "../../../envs/mostlyai.yaml"
    # The job's CPU share is its training subprocess's torch threads (1 by default),
    # so two mostlyai jobs share a 2-core machine instead of queueing.
    threads: lambda wc: settings_of(wc).get("torch_threads") or config["threads"]
    resources:
        gpu=gpu_of,
        # Only a GPU job names a model; "" leaves the SLURM request at --gpus=N.
        gpu_model=lambda wc: (settings_of(wc).get("gpu_model") or "") if gpu_of(wc) else "",
    params:
        job=synth_job,
        code=code_of("synthesize_mostlyai"),
    script:
        "../../scripts/synthesize_mostlyai.py"


rule mostlyai_comparison:
    input:
        # metrics of every mostlyai setting of the dataset, plus their QA metrics if enabled
        unpack(
            lambda wc: {
                kind: [paths.of(template, c) for c in PLAN.mostlyai(wc.dataset)]
                for kind, template in [("metrics", paths.METRICS), ("qa", paths.QA_METRICS)]
                if kind == "metrics" or config["qa"]["enabled"]
            }
        ),
    output:
        csv=paths.MOSTLYAI_COMPARISON_CSV,
        md=paths.MOSTLYAI_COMPARISON_MD,
    log:
        paths.log("mostlyai_comparison", paths.PER_DATASET),
    conda:
        "../../../envs/core.yaml"
    params:
        code=code_of("mostlyai_comparison"),
    script:
        "../../scripts/mostlyai_comparison.py"
