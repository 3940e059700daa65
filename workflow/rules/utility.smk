# ML utility: a classifier trained on each synthetic set (and on the real
# training split, the baseline) predicts datasets.<name>.target on the real holdout.


rule utility_baseline:
    input:
        train="results/{dataset}/data/train.parquet",
        holdout="results/{dataset}/data/holdout.parquet",
    output:
        "results/{dataset}/data/utility_baseline.json",
    log:
        "results/logs/utility_baseline/{dataset}.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    params:
        job=lambda wc: GRID.utility_slice(wc.dataset),
    script:
        "../scripts/utility_baseline.py"


rule utility:
    input:
        synthetic="results/{dataset}/{generator}/{setting}/synthetic.parquet",
        metrics="results/{dataset}/{generator}/{setting}/metrics.json",
        holdout="results/{dataset}/data/holdout.parquet",
        baseline="results/{dataset}/data/utility_baseline.json",
    output:
        "results/{dataset}/{generator}/{setting}/utility.json",
    log:
        "results/logs/utility/{dataset}/{generator}/{setting}.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    params:
        job=lambda wc: GRID.utility_slice(wc.dataset),
    script:
        "../scripts/utility.py"


SUMMARY_EXTRAS.append(lambda c: f"{cell_dir(c)}/utility.json")
