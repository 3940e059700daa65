# No-box privacy section of cells without a generator to refit (external files):
# exact copies, DCR share and the distance attacks' AUC, training rows (or the
# uploaded file) against holdout rows; no epsilon (privsynth.audit.nobox). Its own
# rule, not part of the synthesis: changing it reruns neither the file's check nor
# the EDA, fidelity and utility jobs that read the file.
# The cells and slice: PLAN.nobox, PLAN.nobox_slice (privsynth.audit.nobox.plan).
from privsynth.audit.nobox.plan import REFITTED as _NOBOX_REFITTED  # noqa: E402


rule audit_nobox:
    input:
        train=rules.prepare_data.output.train,
        holdout=rules.prepare_data.output.holdout,
        schema=rules.prepare_data.output.schema,
        members=lambda wc: PLAN.nobox_members(wc.dataset, wc.generator, wc.setting),
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
    output:
        json=paths.NOBOX_JSON,
        summary=paths.NOBOX_SUMMARY,
    log:
        paths.log("audit_nobox", paths.PER_CELL),
    benchmark:
        BENCHMARKS["audit_nobox"]
    wildcard_constraints:
        generator=NAME,
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: PLAN.nobox_slice(wc.dataset, wc.generator, wc.setting),
        code=code_of("audit_nobox"),
    script:
        "../scripts/audit_nobox.py"


# The other cells' summary rows say why they have no no-box section.
rule audit_nobox_skipped:
    output:
        paths.NOBOX_SKIPPED,
    log:
        paths.log("audit_nobox_skipped", paths.PER_CELL),
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
            "reason": _NOBOX_REFITTED,
        },
        code=code_of("audit_nobox_skipped"),
    script:
        "../scripts/audit_nobox_skipped.py"
