# LLM generator over an OpenAI-compatible API (docs/openai.md). Not a GPU rule:
# the work happens on the API server. Every job holds one unit of the global
# resource openai_requests, so `--resources openai_requests=N` caps how many
# run at once (the default profile sets N=1, the safe choice for rate limits).


use rule synthesize_baseline as synthesize_openai with:
    wildcard_constraints:
        generator="openai",
    conda:
        "../../../envs/openai.yaml"
    threads: 1
    resources:
        openai_requests=1,
