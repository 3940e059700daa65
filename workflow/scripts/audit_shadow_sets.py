from privsynth.jobs import audit, run

run(snakemake, audit.shadow_sets_job)
