# MST (docs/mst.md): the DP marginal-based reference generator on Private-PGM
# (mbi, jax on the CPU). Seconds to a minute per cell; not a GPU rule.


rule synthesize_mst:
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
        generator="mst",
    conda:
        "../../../envs/mst.yaml"
    threads: config["threads"]
    params:
        job=synth_job,
        code=code_of("synthesize"),
    script:
        "../../scripts/synthesize.py"
