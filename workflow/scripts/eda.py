# Thin entry point: logic in privsynth.jobs.eda.eda_job.

from privsynth.jobs import eda

eda.run(snakemake, eda.eda_job)
