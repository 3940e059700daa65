# Exploratory data analysis (edvart) of the real training split and of every
# synthetic set, plus a compact real-vs-synthetic page per synthetic set.
# Optional: eda.enabled / eda.synthetic / eda.compare in the config.
from privsynth import eda as _eda


rule eda_real:
    input:
        data="results/{dataset}/data/train.parquet",
    output:
        html="results/{dataset}/data/eda.html",
    log:
        "results/logs/eda/{dataset}/data.log",
    conda:
        "../../envs/eda.yaml"
    threads: 1
    params:
        eda=lambda wc: _eda.report_slice(config),
    script:
        "../scripts/eda.py"


if config["eda"].get("batch", True):
    # One job and one Jupyter kernel per dataset for all its synthetic sets
    # (eda.batch): the kernel start and imports are paid once, not per set.
    # Outputs are the per-set paths, so the rule is written out per dataset.
    for _ds in GRID.datasets:
        _dirs = [cell_dir(c) for c in GRID.of(dataset=_ds)]
        if not _dirs:
            continue

        rule:
            name:
                _eda.batch_rule_name(_ds)
            input:
                data=[f"{d}/synthetic.parquet" for d in _dirs],
                metrics=[f"{d}/metrics.json" for d in _dirs],
            output:
                html=[f"{d}/eda.html" for d in _dirs],
            log:
                f"results/logs/eda/{_ds}/synthetic.log",
            conda:
                "../../envs/eda.yaml"
            threads: 1
            params:
                eda=lambda wc: _eda.report_slice(config, synthetic=True),
            script:
                "../scripts/eda_batch.py"

else:

    rule eda_synthetic:
        input:
            data="results/{dataset}/{generator}/{setting}/synthetic.parquet",
            metrics="results/{dataset}/{generator}/{setting}/metrics.json",
        output:
            html="results/{dataset}/{generator}/{setting}/eda.html",
        log:
            "results/logs/eda/{dataset}/{generator}/{setting}.log",
        wildcard_constraints:
            generator=NAME,
        conda:
            "../../envs/eda.yaml"
        threads: 1
        params:
            eda=lambda wc: _eda.report_slice(config, synthetic=True),
        script:
            "../scripts/eda.py"


rule eda_compare:
    input:
        unpack(lambda wc: _eda.compare_inputs(config, wc.dataset, wc.generator, wc.setting)),
    output:
        html="results/{dataset}/{generator}/{setting}/compare.html",
    log:
        "results/logs/eda_compare/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/eda.yaml"
    threads: 1
    params:
        links=lambda wc: _eda.compare_links(config),
    script:
        "../scripts/eda_compare.py"


TARGETS.extend(_eda.targets(config, GRID.datasets, [cell_dir(c) for c in GRID.cells.values()]))
