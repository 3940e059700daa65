from privsynth.jobs import pairs, run

run(snakemake, pairs.pairs_job)
