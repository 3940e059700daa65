# Exploratory data analysis (edvart) of the real training split and of every
# synthetic set, plus a compact real-vs-synthetic page per synthetic set.
# Optional: eda.enabled / eda.synthetic / eda.compare in the config.
from privsynth import eda as _eda


rule eda_real:
    input:
        data=rules.prepare_data.output.train,
    output:
        html=paths.EDA_REAL,
    log:
        paths.log("eda", "{dataset}/data"),
    benchmark:
        BENCHMARKS["eda_real"]
    conda:
        "../../envs/eda.yaml"
    threads: 1
    params:
        eda=lambda wc: _eda.report_slice(config),
        code=code_of("eda"),
    script:
        "../scripts/eda.py"


if config["eda"].get("batch", True):
    # One job and one Jupyter kernel per dataset for all its synthetic sets
    # (eda.batch): the kernel start and imports are paid once, not per set; its
    # cost is shared by the dataset's cells (summary.csv cost_*, PLAN.benchmarks).
    # Outputs are the per-set paths, so the rule is written out per dataset.
    for _ds in GRID.datasets:
        _cells = GRID.of(dataset=_ds)
        if not _cells:
            continue

        rule:
            name:
                _eda.batch_rule_name(_ds)
            input:
                data=[paths.of(paths.SYNTHETIC, c) for c in _cells],
                metrics=[paths.of(paths.METRICS, c) for c in _cells],
            output:
                html=[paths.of(paths.EDA_SYNTHETIC, c) for c in _cells],
            log:
                paths.log("eda", f"{_ds}/synthetic"),
            benchmark:
                paths.fill(BENCHMARKS["eda_batch"], dataset=_ds)
            conda:
                "../../envs/eda.yaml"
            threads: 1
            params:
                eda=lambda wc: _eda.report_slice(config, synthetic=True),
                code=code_of("eda_batch"),
            script:
                "../scripts/eda_batch.py"

else:

    rule eda_synthetic:
        input:
            data=paths.SYNTHETIC,
            metrics=paths.METRICS,
        output:
            html=paths.EDA_SYNTHETIC,
        log:
            paths.log("eda", paths.PER_CELL),
        benchmark:
            BENCHMARKS["eda_synthetic"]
        wildcard_constraints:
            generator=NAME,
        conda:
            "../../envs/eda.yaml"
        threads: 1
        params:
            eda=lambda wc: _eda.report_slice(config, synthetic=True),
            code=code_of("eda"),
        script:
            "../scripts/eda.py"


rule eda_compare:
    input:
        unpack(lambda wc: _eda.compare_inputs(config, wc.dataset, wc.generator, wc.setting)),
    output:
        html=paths.EDA_COMPARE,
    log:
        paths.log("eda_compare", paths.PER_CELL),
    benchmark:
        BENCHMARKS["eda_compare"]
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/eda.yaml"
    threads: 1
    params:
        links=lambda wc: _eda.compare_links(config),
        code=code_of("eda_compare"),
    script:
        "../scripts/eda_compare.py"
