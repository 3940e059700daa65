# One-run canary audit (Steinke, Nasr & Jagielski 2023), see docs/audit.md:
# per dataset the canaries and their coins; per cell the audit training set, one
# generator fit (none where the release is the audit run), the attacks and bound.
# The cells and slices: PLAN.one_run (privsynth.audit.one_run.plan.OneRunPlan).
ONE_RUN = PLAN.one_run


rule audit_one_run_canaries:
    input:
        train=rules.prepare_data.output.train,
        schema=rules.prepare_data.output.schema,
    output:
        paths.CANARIES,
    log:
        paths.log("audit_one_run_canaries", paths.PER_DATASET),
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: ONE_RUN.canary_slice(wc.dataset),
        code=code_of("audit_one_run_canaries"),
    script:
        "../scripts/audit_one_run_canaries.py"


rule audit_one_run_train:
    input:
        train=rules.prepare_data.output.train,
        canaries=rules.audit_one_run_canaries.output[0],
    output:
        train=paths.ONE_RUN_TRAIN,
        info=paths.ONE_RUN_TRAIN_INFO,
    log:
        paths.log("audit_one_run_train", paths.PER_CELL),
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: ONE_RUN.train_slice(wc.dataset, wc.generator, wc.setting),
        code=code_of("audit_one_run_train"),
    script:
        "../scripts/audit_one_run_train.py"


# Only for cells whose release is not the audit run: the cell's exact settings and
# seed, trained once on the audit training set.
rule audit_one_run_fit:
    input:
        train=rules.audit_one_run_train.output.train,
        schema=rules.prepare_data.output.schema,
        extra=generator_inputs,
    output:
        synthetic=paths.ONE_RUN_SYNTHETIC,
        metrics=paths.ONE_RUN_METRICS,
    log:
        paths.log("audit_one_run_fit", paths.PER_CELL),
    benchmark:
        BENCHMARKS["audit_one_run_fit"]
    wildcard_constraints:
        generator=NAME,
    conda:
        generator_env
    threads: config["threads"]
    resources:
        gpu=gpu_of,
    params:
        job=lambda wc: ONE_RUN.fit_slice(wc.dataset, wc.generator, wc.setting),
        code=code_of("audit_one_run_fit"),
    script:
        "../scripts/audit_one_run_fit.py"


rule audit_one_run_attack:
    input:
        unpack(one_run_output),
        train=rules.prepare_data.output.train,
        schema=rules.prepare_data.output.schema,
        holdout=rules.prepare_data.output.holdout,
        canaries=rules.audit_one_run_canaries.output[0],
        audit_train=rules.audit_one_run_train.output.train,
        info=rules.audit_one_run_train.output.info,
    output:
        json=paths.ONE_RUN_JSON,
        scores=paths.ONE_RUN_SCORES,
        summary=paths.ONE_RUN_SUMMARY,
    log:
        paths.log("audit_one_run_attack", paths.PER_CELL),
    benchmark:
        BENCHMARKS["audit_one_run_attack"]
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: ONE_RUN.attack_slice(wc.dataset, wc.generator, wc.setting),
        code=code_of("audit_one_run_attack"),
    script:
        "../scripts/audit_one_run_attack.py"


# Cells without the one-run audit still get a summary entry that says so.
rule audit_one_run_skipped:
    output:
        paths.ONE_RUN_SKIPPED,
    log:
        paths.log("audit_one_run_skipped", paths.PER_CELL),
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
            "reason": ONE_RUN.skip_reason(wc.dataset, wc.generator, wc.setting),
        },
        code=code_of("audit_one_run_skipped"),
    script:
        "../scripts/audit_one_run_skipped.py"
