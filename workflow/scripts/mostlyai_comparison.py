# Thin entry point: logic in privsynth.jobs.mostlyai.comparison_job.

from privsynth import jobs
from privsynth.jobs import mostlyai

jobs.run(snakemake, mostlyai.comparison_job)
