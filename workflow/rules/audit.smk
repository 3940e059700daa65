# Privacy audit (TAPAS targeted membership inference), see docs/audit.md:
# per dataset one set of shadow/eval training sets; per (cell, batch) black-box
# generator runs (each written per set and resumed after a crash); per cell the
# attacks, audit.json, scores and ROC plot. Repeats (<setting>.rN) are audited once,
# on the base setting.
# The cells and slices: PLAN.audit (privsynth.audit.shadow.plan.AuditPlan).
AUDIT = PLAN.audit


rule audit_shadow_sets:
    input:
        train=rules.prepare_data.output.train,
        schema=rules.prepare_data.output.schema,
    output:
        sets=paths.SHADOW_SETS,
        targets=paths.AUDIT_TARGETS,
        pools=paths.AUDIT_POOLS,
    log:
        paths.log("audit_shadow_sets", paths.PER_DATASET),
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: {"dataset": wc.dataset, **AUDIT.protocol(wc.dataset).sets_slice()},
        code=code_of("audit_shadow_sets"),
    script:
        "../scripts/audit_shadow_sets.py"


rule audit_fit:
    input:
        train=rules.prepare_data.output.train,
        schema=rules.prepare_data.output.schema,
        sets=rules.audit_shadow_sets.output.sets,
        extra=generator_inputs,
    output:
        sets=paths.AUDIT_SHADOW_BATCH,
        fits=paths.AUDIT_SHADOW_FITS,
    log:
        paths.log("audit_fit", paths.PER_BATCH),
    benchmark:
        BENCHMARKS["audit_fit"]
    wildcard_constraints:
        generator=NAME,
        batch=r"\d+",
    conda:
        generator_env
    threads: config["threads"]
    resources:
        gpu=gpu_of,
    params:
        job=lambda wc: AUDIT.fit_slice(wc.dataset, wc.generator, wc.setting, int(wc.batch)),
        code=code_of("audit_fit"),
    script:
        "../scripts/audit_fit.py"


rule audit_attack:
    input:
        train=rules.prepare_data.output.train,
        schema=rules.prepare_data.output.schema,
        sets=rules.audit_shadow_sets.output.sets,
        targets=rules.audit_shadow_sets.output.targets,
        pools=rules.audit_shadow_sets.output.pools,
        batches=audit_batches,
        fits=audit_fits,
        metrics=paths.METRICS,
    output:
        json=paths.AUDIT_JSON,
        scores=paths.AUDIT_SCORES,
        roc=paths.AUDIT_ROC,
        summary=paths.AUDIT_SUMMARY,
    log:
        paths.log("audit_attack", paths.PER_CELL),
    benchmark:
        BENCHMARKS["audit_attack"]
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/core.yaml"
    threads: config["threads"]
    params:
        job=lambda wc: AUDIT.attack_slice(wc.dataset, wc.generator, wc.setting),
        code=code_of("audit_attack"),
    script:
        "../scripts/audit_attack.py"


# Cells left out of the audit still get a summary entry that says so.
rule audit_skipped:
    output:
        paths.AUDIT_SKIPPED,
    log:
        paths.log("audit_skipped", paths.PER_CELL),
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
        code=code_of("audit_skipped"),
    script:
        "../scripts/audit_skipped.py"
