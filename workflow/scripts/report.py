# Thin entry point: logic in privsynth.report.report_job.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth import jobs, report  # noqa: E402

jobs.run(snakemake, report.report_job)
