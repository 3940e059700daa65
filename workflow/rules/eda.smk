# Exploratory data analysis (edvart) of the real training split and of every
# synthetic set, plus a compact real-vs-synthetic page per synthetic set.
# Optional: eda.enabled / eda.synthetic / eda.compare in the config.

EDA = config["eda"]


def eda_slice(wildcards):
    # Only what changes the report's content: toggling eda.compare reruns nothing here.
    return {k: EDA[k] for k in ("sections", "wide_columns", "wide_skip", "max_rows", "timeout")}


def compare_inputs(wildcards):
    d = f"results/{wildcards.dataset}/{wildcards.generator}/{wildcards.setting}"
    inputs = {
        "train": f"results/{wildcards.dataset}/data/train.parquet",
        "synthetic": f"{d}/synthetic.parquet",
        "metrics": f"{d}/metrics.json",
    }
    # Reuse the fidelity report's marginals and correlation matrices when there is one.
    if config["qa"]["enabled"]:
        inputs["qa"] = f"{d}/qa/report.html"
    return inputs


rule eda_real:
    input:
        data="results/{dataset}/data/train.parquet",
    output:
        html="results/{dataset}/data/eda.html",
    log:
        "results/logs/eda/{dataset}/data.log",
    params:
        eda=eda_slice,
    threads: 1
    conda:
        "../../envs/eda.yaml"
    script:
        "../scripts/eda.py"


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
    params:
        eda=eda_slice,
    threads: 1
    conda:
        "../../envs/eda.yaml"
    script:
        "../scripts/eda.py"


rule eda_compare:
    input:
        unpack(compare_inputs),
    output:
        html="results/{dataset}/{generator}/{setting}/compare.html",
    log:
        "results/logs/eda_compare/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator=NAME,
    params:
        links=lambda wc: {"synthetic EDA": "eda.html", "real EDA": "../../data/eda.html"}
        if EDA["enabled"] and EDA["synthetic"]
        else ({"real EDA": "../../data/eda.html"} if EDA["enabled"] else {}),
    threads: 1
    conda:
        "../../envs/eda.yaml"
    script:
        "../scripts/eda_compare.py"


if EDA["enabled"]:
    TARGETS.extend(f"results/{ds}/data/eda.html" for ds in GRID.datasets)
    if EDA["synthetic"]:
        TARGETS.extend(f"{cell_dir(c)}/eda.html" for c in GRID.cells.values())
if EDA["compare"]:
    TARGETS.extend(f"{cell_dir(c)}/compare.html" for c in GRID.cells.values())
