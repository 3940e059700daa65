# Thin entry point: logic in privsynth.jobs.report.report_job.
from privsynth.jobs import report, run

run(snakemake, report.report_job)
