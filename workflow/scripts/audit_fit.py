# Thin entry point: logic in privsynth.audit.jobs.fit_batch_job.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth import jobs  # noqa: E402
from privsynth.audit import jobs as audit_jobs  # noqa: E402

jobs.run(snakemake, audit_jobs.fit_batch_job)
