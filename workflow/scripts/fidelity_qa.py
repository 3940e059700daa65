from privsynth.jobs import fidelity, run

run(snakemake, fidelity.fidelity_qa_job)
