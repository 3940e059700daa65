# Thin entry point: logic in privsynth.jobs.eda.compare_job.
from privsynth.jobs import eda, run

run(snakemake, eda.compare_job)
