# Pairwise fidelity of every synthetic set (privsynth.pairs): the dependence
# mostlyai-qa's overall accuracy averages away, with the real holdout as reference.


rule fidelity_pairs:
    input:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
        train=rules.prepare_data.output.train,
        holdout=rules.prepare_data.output.holdout,
    output:
        paths.PAIRS,
    log:
        paths.log("fidelity_pairs", paths.PER_CELL),
    benchmark:
        BENCHMARKS["fidelity_pairs"]
    conda:
        "../../envs/core.yaml"
    threads: 1
    params:
        job=lambda wc: GRID.pairs_slice(),
        code=code_of("fidelity_pairs"),
    script:
        "../scripts/fidelity_pairs.py"
