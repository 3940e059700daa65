# Generators from $PRIVSYNTH_PLUGINS directories (user-supplied, CPU, core env).
from privsynth import generators as _generators

PLUGIN_GENERATORS = sorted(set(_generators.available()) - set(_generators.builtin()))

if PLUGIN_GENERATORS:

    rule synthesize_plugin:
        input:
            train=synth_train,
            schema=rules.prepare_data.output.schema,
            # files the plugin reads besides its training set (x-privsynth.input_files)
            extra=generator_inputs,
        output:
            synthetic=paths.SYNTHETIC,
            metrics=paths.METRICS,
        log:
            paths.log("synthesize", paths.PER_CELL),
        benchmark:
            BENCHMARKS["synthesize"]
        wildcard_constraints:
            generator="|".join(PLUGIN_GENERATORS),
        conda:
            "../../../envs/core.yaml"
        params:
            job=synth_job,
            code=code_of("synthesize"),
        script:
            "../../scripts/synthesize.py"
