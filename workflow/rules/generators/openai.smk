# LLM generator over an OpenAI-compatible API (docs/openai.md). Not a GPU rule:
# the work happens on the API server. Every job holds one unit of the global
# resource openai_requests, so `--resources openai_requests=N` caps how many
# run at once (the default profile sets N=1, the safe choice for rate limits).


rule synthesize_openai:
    input:
        train=synth_train,
        schema=rules.prepare_data.output.schema,
    output:
        synthetic=paths.SYNTHETIC,
        metrics=paths.METRICS,
    log:
        paths.log("synthesize", paths.PER_CELL),
    benchmark:
        BENCHMARKS["synthesize"]
    wildcard_constraints:
        generator="openai",
    conda:
        "../../../envs/openai.yaml"
    threads: 1
    resources:
        openai_requests=1,
    params:
        job=synth_job,
        code=code_of("synthesize"),
    script:
        "../../scripts/synthesize.py"
