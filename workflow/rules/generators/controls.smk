# Negative control generator for the privacy audit: rows of a reference file
# (normally the holdout split) that no training record is in. CPU only.


use rule synthesize_baseline as synthesize_negative_control with:
    input:
        train=synth_train,
        schema=rules.prepare_data.output.schema,
        reference=lambda wc: settings_of(wc)["path"],
    wildcard_constraints:
        generator="holdout",
