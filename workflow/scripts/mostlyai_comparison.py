# Thin entry point: logic in privsynth.jobs.mostlyai.comparison_job.
from privsynth.jobs import mostlyai, run

run(snakemake, mostlyai.comparison_job)
