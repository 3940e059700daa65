# Privacy audit (TAPAS targeted membership inference), see docs/audit.md:
# per dataset one set of shadow/eval training sets; per (cell, batch) black-box
# generator runs (each written per set and resumed after a crash); per cell the
# attacks, audit.json, scores and ROC plot. Repeats (<setting>.rN) are audited once,
# on the base setting.


include: "audit_common.smk"


rule audit_shadow_sets:
    input:
        train="results/{dataset}/data/train.parquet",
        schema="results/{dataset}/data/schema.json",
    output:
        sets="results/{dataset}/audit/shadow_sets.parquet",
        targets="results/{dataset}/audit/targets.json",
        pools="results/{dataset}/audit/pools.parquet",
    log:
        "results/logs/audit_shadow_sets/{dataset}.log",
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: {"dataset": wc.dataset, **AUDIT.protocol(wc.dataset).sets_slice()},
    script:
        "../scripts/audit_shadow_sets.py"


rule audit_fit:
    input:
        train="results/{dataset}/data/train.parquet",
        schema="results/{dataset}/data/schema.json",
        sets="results/{dataset}/audit/shadow_sets.parquet",
        extra=audit_generator_inputs,
    output:
        sets="results/{dataset}/{generator}/{setting}/audit/shadow/batch_{batch}.parquet",
        fits="results/{dataset}/{generator}/{setting}/audit/shadow/batch_{batch}.fits.json",
    log:
        "results/logs/audit_fit/{dataset}/{generator}/{setting}/batch_{batch}.log",
    wildcard_constraints:
        generator=NAME,
        batch=r"\d+",
    conda:
        audit_generator_env
    threads: config["threads"]
    resources:
        gpu=gpu_of,
    params:
        job=lambda wc: AUDIT.fit_slice(wc.dataset, wc.generator, wc.setting, int(wc.batch)),
    script:
        "../scripts/audit_fit.py"


rule audit_attack:
    input:
        train="results/{dataset}/data/train.parquet",
        schema="results/{dataset}/data/schema.json",
        sets="results/{dataset}/audit/shadow_sets.parquet",
        targets="results/{dataset}/audit/targets.json",
        pools="results/{dataset}/audit/pools.parquet",
        batches=audit_batches,
        fits=audit_fits,
        metrics="results/{dataset}/{generator}/{setting}/metrics.json",
    output:
        json="results/{dataset}/{generator}/{setting}/audit/audit.json",
        scores="results/{dataset}/{generator}/{setting}/audit/scores.parquet",
        roc="results/{dataset}/{generator}/{setting}/audit/roc.png",
        summary="results/{dataset}/{generator}/{setting}/audit/summary.json",
    log:
        "results/logs/audit_attack/{dataset}/{generator}/{setting}.log",
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/core.yaml"
    threads: config["threads"]
    params:
        job=lambda wc: AUDIT.attack_slice(wc.dataset, wc.generator, wc.setting),
    script:
        "../scripts/audit_attack.py"


# Cells left out of the audit still get a summary entry that says so.
rule audit_skipped:
    output:
        "results/{dataset}/{generator}/{setting}/audit_skipped.json",
    log:
        "results/logs/audit_skipped/{dataset}/{generator}/{setting}.log",
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
            "reason": AUDIT.skip_reason(wc.dataset, wc.generator, wc.setting),
        },
    script:
        "../scripts/audit_skipped.py"


if AUDIT.audited:
    SUMMARY_EXTRAS.append(audit_summary_of)
    TARGETS.extend(f"{cell_dir(c)}/audit/audit.json" for c in AUDIT.cells())
