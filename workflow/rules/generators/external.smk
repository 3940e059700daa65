# A synthetic file made elsewhere (vendor, chat session): read, checked against the
# schema, and passed on as the cell's output; nothing is fitted. Its privacy section
# is the no-box one (audit_nobox.smk): the refitting audits are n/a.


rule synthesize_external:
    input:
        train=synth_train,
        schema=rules.prepare_data.output.schema,
        # the file itself (and the uploaded file, if named): a new file reruns the cell
        files=generator_inputs,
    output:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
    log:
        paths.log("synthesize", paths.PER_CELL),
    benchmark:
        BENCHMARKS["synthesize"]
    wildcard_constraints:
        generator="external",
    conda:
        "../../../envs/core.yaml"
    params:
        job=synth_job,
        code=code_of("synthesize"),
    script:
        "../../scripts/synthesize.py"
