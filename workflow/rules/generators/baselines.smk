# Baseline generators: copy (positive control) and marginals. CPU only.


rule synthesize_baseline:
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
        generator="copy|marginals",
    conda:
        "../../../envs/core.yaml"
    params:
        job=synth_job,
        code=code_of("synthesize"),
    script:
        "../../scripts/synthesize.py"
