from privsynth.jobs import run, summary

run(snakemake, summary.summary_job)
