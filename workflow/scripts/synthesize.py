from privsynth.jobs import run, synthesize

run(snakemake, synthesize.synthesize_job)
