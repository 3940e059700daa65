# Generators from $PRIVSYNTH_PLUGINS directories (user-supplied, CPU, core env).
from privsynth import generators as _generators

PLUGIN_GENERATORS = sorted(set(_generators.available()) - set(_generators.builtin()))

if PLUGIN_GENERATORS:

    rule synthesize_plugin:
        input:
            train=synth_train,
            schema="results/{dataset}/data/schema.json",
            # files the plugin reads besides its training set (input_files)
            extra=lambda wc: audit_generator_inputs(wc),
        output:
            synthetic="results/{dataset}/{generator}/{setting}/synthetic.parquet",
            metrics="results/{dataset}/{generator}/{setting}/metrics.json",
        log:
            "results/logs/synthesize/{dataset}/{generator}/{setting}.log",
        wildcard_constraints:
            generator="|".join(PLUGIN_GENERATORS),
        conda:
            "../../../envs/core.yaml"
        params:
            job=synth_job,
        script:
            "../../scripts/synthesize.py"
