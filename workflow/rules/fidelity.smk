# Fidelity of every synthetic set against train and holdout (mostlyai-qa).


rule fidelity_qa:
    input:
        synthetic="results/{dataset}/{generator}/{setting}/synthetic.parquet",
        metrics="results/{dataset}/{generator}/{setting}/metrics.json",
        train="results/{dataset}/data/train.parquet",
        holdout="results/{dataset}/data/holdout.parquet",
    output:
        html="results/{dataset}/{generator}/{setting}/qa/report.html",
        metrics="results/{dataset}/{generator}/{setting}/qa/metrics.json",
    log:
        "results/logs/fidelity_qa/{dataset}/{generator}/{setting}.log",
    conda:
        "../../envs/qa.yaml"
    # One thread: the report is mostly single-threaded (only its trivariate loop
    # runs in joblib workers), and with 2 it could start only when nothing else ran,
    # so on 2 cores all QA reports queued behind the synthesis (docs/report.md).
    threads: 1
    params:
        qa=lambda wc: GRID.qa_slice(),
    script:
        "../scripts/fidelity_qa.py"
