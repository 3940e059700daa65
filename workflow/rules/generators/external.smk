# A synthetic file made elsewhere (vendor, chat session): read, checked against the
# schema, and passed on as the cell's output; nothing is fitted. Its privacy section
# is the no-box one (audit_nobox.smk): the refitting audits are n/a.


rule synthesize_external:
    input:
        train=synth_train,
        schema=rules.prepare_data.output.schema,
        # the file itself (and the uploaded file, if named): a new file reruns the cell
        files=lambda wc: audit_generator_inputs(wc),
    output:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
    log:
        paths.log("synthesize", paths.PER_CELL),
    benchmark:
        paths.benchmark("synthesize", paths.PER_CELL)
    wildcard_constraints:
        generator="external",
    conda:
        "../../../envs/core.yaml"
    params:
        job=synth_job,
        code=code_of("synthesize"),
    script:
        "../../scripts/synthesize.py"
