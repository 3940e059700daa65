from privsynth.jobs import nobox, run

run(snakemake, nobox.nobox_job)
