# Thin entry point: logic in privsynth.jobs.report.train_sizes_job.
from privsynth.jobs import report, run

run(snakemake, report.train_sizes_job)
