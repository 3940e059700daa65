from privsynth.jobs import run, utility

run(snakemake, utility.cell_job)
