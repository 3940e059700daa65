# Gaussian copula (docs/copula.md): the labelled NON-DP statistical reference,
# numpy/scipy in the core env. Seconds per cell; CPU only.


rule synthesize_copula:
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
        generator="copula",
    conda:
        "../../../envs/core.yaml"
    params:
        job=synth_job,
        code=code_of("synthesize"),
    script:
        "../../scripts/synthesize.py"
