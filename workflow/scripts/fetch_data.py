from privsynth.jobs import data, run

run(snakemake, data.fetch_job)
