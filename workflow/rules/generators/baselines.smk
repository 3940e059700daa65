# Baseline generators: copy (positive control) and marginals. CPU only.
# Every other synthesize_* rule but MOSTLY AI's (its own script) is this rule with its own
# generators, environment and resources (`use rule synthesize_baseline as ... with:`):
# the stage's inputs, outputs, log, benchmark and params are written once.


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
