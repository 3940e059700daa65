# Audit plan and input functions for workflow/rules/audit.smk (see docs/audit.md).
import os

from privsynth import generators as _generators  # noqa: E402
from privsynth.audit.shadow.plan import AuditPlan  # noqa: E402

try:
    AUDIT = AuditPlan(config, GRID)
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None


def _require_audited(wc):
    if not AUDIT.is_audited(wc.dataset, wc.generator, wc.setting):
        raise WorkflowError(
            f"{wc.dataset}/{wc.generator}/{wc.setting} is not audited "
            f"(datasets.{wc.dataset}.audit.enabled / .generators)"
        )


def audit_batches(wc):
    _require_audited(wc)
    return [paths.of(paths.AUDIT_SHADOW_BATCH, wc, batch=b) for b in AUDIT.batches(wc.dataset)]


def audit_fits(wc):
    _require_audited(wc)
    return [paths.of(paths.AUDIT_SHADOW_FITS, wc, batch=b) for b in AUDIT.batches(wc.dataset)]


def audit_generator_inputs(wc):
    # Files a generator reads besides its training set (e.g. the negative control's reference).
    cls = _generators.load(wc.generator)
    settings = synth_job(wc)["settings"]
    return list(cls.input_files(settings)) if hasattr(cls, "input_files") else []


def audit_generator_env(wc):
    # Shadow runs need the generator's own environment: reuse the conda env of
    # the rule that synthesises this cell's main output.
    want = paths.of(paths.SYNTHETIC, wc)
    for r in workflow.rules:
        env = r.conda_env
        if r.name.startswith("audit_") or not isinstance(env, str) or not r.is_producer(want):
            continue
        return os.path.normpath(os.path.join(os.path.dirname(r.snakefile), env))
    return "../../envs/core.yaml"


def audit_summary_of(c):
    if AUDIT.is_audited(c.dataset, c.generator, c.setting):
        return paths.of(paths.AUDIT_SUMMARY, c)
    return paths.of(paths.AUDIT_SKIPPED, c)


def audit_benchmarks_of(c):
    """The shadow-model fits and the attacks of an audited cell."""
    if not AUDIT.is_audited(c.dataset, c.generator, c.setting):
        return []
    fits = [paths.of(paths.benchmark("audit_fit", paths.PER_BATCH), c, batch=b) for b in AUDIT.batches(c.dataset)]
    return [*fits, paths.of(paths.benchmark("audit_attack", paths.PER_CELL), c)]
