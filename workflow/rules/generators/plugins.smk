# Generators from $PRIVSYNTH_PLUGINS directories (user-supplied, CPU, core env).
from privsynth import generators as _generators

PLUGIN_GENERATORS = sorted(set(_generators.available()) - set(_generators.builtin()))

if PLUGIN_GENERATORS:

    use rule synthesize_baseline as synthesize_plugin with:
        input:
            train=synth_train,
            schema=rules.prepare_data.output.schema,
            # files the plugin reads besides its training set (x-privsynth.input_files)
            extra=generator_inputs,
        wildcard_constraints:
            generator="|".join(PLUGIN_GENERATORS),
