# Audit plan and input functions for workflow/rules/audit.smk (see docs/audit.md).
import os

from privsynth import generators as _generators  # noqa: E402
from privsynth.audit.plan import AuditPlan  # noqa: E402

try:
    AUDIT = AuditPlan(config, GRID)
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None


def audit_dir(wc):
    return f"results/{wc.dataset}/{wc.generator}/{wc.setting}/audit"


def audit_batches(wc):
    if not AUDIT.is_audited(wc.dataset, wc.generator, wc.setting):
        raise WorkflowError(
            f"{wc.dataset}/{wc.generator}/{wc.setting} is not audited "
            f"(datasets.{wc.dataset}.audit.enabled / .generators)"
        )
    return [f"{audit_dir(wc)}/shadow/batch_{b}.parquet" for b in AUDIT.batches(wc.dataset)]


def audit_fits(wc):
    return [p.replace(".parquet", ".fits.json") for p in audit_batches(wc)]


def audit_generator_inputs(wc):
    # Files a generator reads besides its training set (e.g. the negative control's reference).
    cls = _generators.load(wc.generator)
    settings = synth_job(wc)["settings"]
    return list(cls.input_files(settings)) if hasattr(cls, "input_files") else []


def audit_generator_env(wc):
    # Shadow runs need the generator's own environment: reuse the conda env of
    # the rule that synthesises this cell's main output.
    want = f"results/{wc.dataset}/{wc.generator}/{wc.setting}/synthetic.parquet"
    for r in workflow.rules:
        env = r.conda_env
        if r.name.startswith("audit_") or not isinstance(env, str) or not r.is_producer(want):
            continue
        return os.path.normpath(os.path.join(os.path.dirname(r.snakefile), env))
    return "../../envs/core.yaml"


def audit_summary_of(c):
    if AUDIT.is_audited(c.dataset, c.generator, c.setting):
        return f"{cell_dir(c)}/audit/summary.json"
    return f"{cell_dir(c)}/audit_skipped.json"
