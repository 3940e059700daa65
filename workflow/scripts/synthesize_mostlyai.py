# Thin entry point: logic in privsynth.jobs.mostlyai.synthesize_job.

from privsynth import jobs
from privsynth.jobs import mostlyai

jobs.run(snakemake, mostlyai.synthesize_job)
