# Thin entry point: logic in privsynth.jobs.report.report_job.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth.jobs import report  # noqa: E402

report.run(snakemake, report.report_job)
