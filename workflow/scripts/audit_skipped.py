from privsynth.jobs import audit, run

run(snakemake, audit.skipped_job)
