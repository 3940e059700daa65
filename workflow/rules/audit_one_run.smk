# One-run canary audit (Steinke, Nasr & Jagielski 2023), see docs/audit.md:
# per dataset the canaries and their coins; per cell the audit training set, one
# generator fit (none where the release is the audit run), the attacks and bound.


rule audit_one_run_canaries:
    input:
        train="results/{dataset}/data/train.parquet",
        schema="results/{dataset}/data/schema.json",
    output:
        "results/{dataset}/audit/one_run/canaries.parquet",
    log:
        "results/logs/audit_one_run_canaries/{dataset}.log",
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: ONE_RUN.canary_slice(wc.dataset),
    script:
        "../scripts/audit_one_run_canaries.py"


rule audit_one_run_train:
    input:
        train="results/{dataset}/data/train.parquet",
        canaries="results/{dataset}/audit/one_run/canaries.parquet",
    output:
        train="results/{dataset}/{generator}/{setting}/audit/one_run/train.parquet",
        info="results/{dataset}/{generator}/{setting}/audit/one_run/train.json",
    log:
        "results/logs/audit_one_run_train/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: ONE_RUN.train_slice(wc.dataset, wc.generator, wc.setting),
    script:
        "../scripts/audit_one_run_train.py"


# Only for cells whose release is not the audit run: the cell's exact settings and
# seed, trained once on the audit training set.
rule audit_one_run_fit:
    input:
        train="results/{dataset}/{generator}/{setting}/audit/one_run/train.parquet",
        schema="results/{dataset}/data/schema.json",
        extra=audit_generator_inputs,
    output:
        synthetic="results/{dataset}/{generator}/{setting}/audit/one_run/synthetic.parquet",
        metrics="results/{dataset}/{generator}/{setting}/audit/one_run/metrics.json",
    log:
        "results/logs/audit_one_run_fit/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator=NAME,
    conda:
        audit_generator_env
    threads: config["threads"]
    resources:
        gpu=gpu_of,
    params:
        job=synth_job,
    script:
        "../scripts/audit_one_run_fit.py"


rule audit_one_run_attack:
    input:
        unpack(one_run_output),
        train="results/{dataset}/data/train.parquet",
        schema="results/{dataset}/data/schema.json",
        holdout="results/{dataset}/data/holdout.parquet",
        canaries="results/{dataset}/audit/one_run/canaries.parquet",
        audit_train="results/{dataset}/{generator}/{setting}/audit/one_run/train.parquet",
        info="results/{dataset}/{generator}/{setting}/audit/one_run/train.json",
    output:
        json="results/{dataset}/{generator}/{setting}/audit/one_run.json",
        scores="results/{dataset}/{generator}/{setting}/audit/one_run/scores.parquet",
        summary="results/{dataset}/{generator}/{setting}/audit/one_run/summary.json",
    log:
        "results/logs/audit_one_run_attack/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: ONE_RUN.attack_slice(wc.dataset, wc.generator, wc.setting),
    script:
        "../scripts/audit_one_run_attack.py"


# Cells without the one-run audit still get a summary entry that says so.
rule audit_one_run_skipped:
    output:
        "results/{dataset}/{generator}/{setting}/audit/one_run_skipped.json",
    log:
        "results/logs/audit_one_run_skipped/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator=NAME,
    localrule: True
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: {
            "dataset": wc.dataset,
            "generator": wc.generator,
            "setting": wc.setting,
            "reason": one_run_skip_reason(wc),
        },
    script:
        "../scripts/audit_one_run_skipped.py"


if ONE_RUN.audited:
    SUMMARY_EXTRAS.append(one_run_summary_of)
    TARGETS.extend(f"{cell_dir(c)}/audit/one_run.json" for c in ONE_RUN.cells())
