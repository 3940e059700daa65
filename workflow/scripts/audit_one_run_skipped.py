from privsynth.jobs import audit_one_run, run

run(snakemake, audit_one_run.skipped_job)
