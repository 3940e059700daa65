from privsynth.jobs import run, utility

run(snakemake, utility.baseline_job)
