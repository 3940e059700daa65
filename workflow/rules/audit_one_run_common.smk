# One-run canary audit: plan and input functions (rules in audit_one_run.smk).
# Included right after common.smk: synthesis rules ask synth_train() for their
# training set (the audit training set where the release is the audit run).
from privsynth.audit.one_run_plan import OneRunPlan  # noqa: E402

try:
    ONE_RUN = OneRunPlan(config, GRID)
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None


def one_run_dir(wc):
    return f"results/{wc.dataset}/{wc.generator}/{wc.setting}/audit/one_run"


def synth_train(wc):
    """Training set of a cell's main synthesis."""
    if ONE_RUN.release_is_audit(wc.dataset, wc.generator, wc.setting):
        return f"{one_run_dir(wc)}/train.parquet"
    return f"results/{wc.dataset}/data/train.parquet"


def one_run_output(wc):
    """Synthetic output and metrics of the audit run: the release, or the separate audit fit."""
    if ONE_RUN.release_is_audit(wc.dataset, wc.generator, wc.setting):
        base = f"results/{wc.dataset}/{wc.generator}/{wc.setting}"
    else:
        base = one_run_dir(wc)
    return {"synthetic": f"{base}/synthetic.parquet", "metrics": f"{base}/metrics.json"}


def one_run_summary_of(c):
    if ONE_RUN.is_audited(c.dataset, c.generator, c.setting):
        return f"{cell_dir(c)}/audit/one_run/summary.json"
    return f"{cell_dir(c)}/audit/one_run_skipped.json"


def one_run_skip_reason(wc):
    p = ONE_RUN.protocol(wc.dataset)
    return f"{p.where}.generators" if p.enabled else f"{p.where}.enabled"
