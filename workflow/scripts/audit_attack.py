from privsynth.jobs import audit, run

run(snakemake, audit.attack_job)
