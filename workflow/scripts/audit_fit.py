from privsynth.jobs import audit, run

run(snakemake, audit.fit_batch_job)
