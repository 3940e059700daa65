from privsynth.jobs import nobox, run

run(snakemake, nobox.skipped_job)
