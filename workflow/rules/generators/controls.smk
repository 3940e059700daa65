# Negative control generator for the privacy audit: rows of a reference file
# (normally the holdout split) that no training record is in. CPU only.


rule synthesize_negative_control:
    input:
        train=synth_train,
        schema=rules.prepare_data.output.schema,
        reference=lambda wc: settings_of(wc)["path"],
    output:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
    log:
        paths.log("synthesize", paths.PER_CELL),
    benchmark:
        BENCHMARKS["synthesize"]
    wildcard_constraints:
        generator="holdout",
    conda:
        "../../../envs/core.yaml"
    params:
        job=synth_job,
        code=code_of("synthesize"),
    script:
        "../../scripts/synthesize.py"
