# Thin entry point: logic in privsynth.jobs.report.plots_job.
from privsynth.jobs import report, run

run(snakemake, report.plots_job)
