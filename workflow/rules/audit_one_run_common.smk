# One-run canary audit: plan and input functions (rules in audit_one_run.smk).
# Included right after common.smk: synthesis rules ask synth_train() for their
# training set (the audit training set where the release is the audit run).
from privsynth.audit.one_run.plan import OneRunPlan  # noqa: E402

try:
    ONE_RUN = OneRunPlan(config, GRID)
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None


def synth_train(wc):
    """Training set of a cell's main synthesis."""
    if ONE_RUN.release_is_audit(wc.dataset, wc.generator, wc.setting):
        return paths.of(paths.ONE_RUN_TRAIN, wc)
    return paths.of(paths.TRAIN, wc)


def one_run_output(wc):
    """Synthetic output and metrics of the audit run: the release, or the separate audit fit."""
    if ONE_RUN.release_is_audit(wc.dataset, wc.generator, wc.setting):
        synthetic, metrics = paths.SYNTHETIC, paths.METRICS
    else:
        synthetic, metrics = paths.ONE_RUN_SYNTHETIC, paths.ONE_RUN_METRICS
    return {"synthetic": paths.of(synthetic, wc), "metrics": paths.of(metrics, wc)}


def one_run_summary_of(c):
    if ONE_RUN.is_audited(c.dataset, c.generator, c.setting):
        return paths.of(paths.ONE_RUN_SUMMARY, c)
    return paths.of(paths.ONE_RUN_SKIPPED, c)


def one_run_benchmarks_of(c):
    """The one-run audit's own fit (where the release is not the audit run) and its attacks."""
    if not ONE_RUN.is_audited(c.dataset, c.generator, c.setting):
        return []
    out = []
    if not ONE_RUN.release_is_audit(c.dataset, c.generator, c.setting):
        out.append(paths.of(paths.benchmark("audit_one_run_fit", paths.PER_CELL), c))
    return [*out, paths.of(paths.benchmark("audit_one_run_attack", paths.PER_CELL), c)]


def one_run_skip_reason(wc):
    return ONE_RUN.skip_reason(wc.dataset, wc.generator, wc.setting)
