# Fidelity of every synthetic set against train and holdout (mostlyai-qa).


rule fidelity_qa:
    input:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
        train=rules.prepare_data.output.train,
        holdout=rules.prepare_data.output.holdout,
    output:
        html=paths.QA_REPORT,
        metrics=paths.QA_METRICS,
    log:
        paths.log("fidelity_qa", paths.PER_CELL),
    benchmark:
        BENCHMARKS["fidelity_qa"]
    conda:
        "../../envs/qa.yaml"
    # One thread: the report is mostly single-threaded (only its trivariate loop
    # runs in joblib workers), and with 2 it could start only when nothing else ran,
    # so on 2 cores all QA reports queued behind the synthesis (docs/report.md).
    threads: 1
    params:
        qa=lambda wc: GRID.qa_slice(),
        code=code_of("fidelity_qa"),
    script:
        "../scripts/fidelity_qa.py"
