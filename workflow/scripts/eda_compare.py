# Thin entry point: logic in privsynth.jobs.eda.compare_job.

from privsynth.jobs import eda

eda.run(snakemake, eda.compare_job)
