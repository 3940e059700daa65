# Thin entry point: logic in privsynth.jobs.mostlyai.synthesize_job.
from privsynth.jobs import mostlyai, run

run(snakemake, mostlyai.synthesize_job)
