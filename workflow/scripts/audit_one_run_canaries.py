# Thin entry point: logic in privsynth.audit.one_run_jobs.canaries_job.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth import jobs  # noqa: E402
from privsynth.audit import one_run_jobs  # noqa: E402

jobs.run(snakemake, one_run_jobs.canaries_job)
