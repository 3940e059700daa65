# A synthetic file made elsewhere (vendor, chat session): read, checked against the
# schema, and passed on as the cell's output; nothing is fitted. Its privacy section
# is the no-box one (audit_nobox.smk): the refitting audits are n/a.


use rule synthesize_baseline as synthesize_external with:
    input:
        train=synth_train,
        schema=rules.prepare_data.output.schema,
        # the file itself (and the uploaded file, if named): a new file reruns the cell
        files=generator_inputs,
    wildcard_constraints:
        generator="external",
