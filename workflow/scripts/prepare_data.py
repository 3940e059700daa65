from privsynth.jobs import data, run

run(snakemake, data.prepare_job)
