# Thin entry point: logic in privsynth.jobs.eda.eda_job.
from privsynth.jobs import eda, run

run(snakemake, eda.eda_job)
