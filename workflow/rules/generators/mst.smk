# MST (docs/mst.md): the DP marginal-based reference generator on Private-PGM
# (mbi, jax on the CPU). Seconds to a minute per cell; not a GPU rule.


use rule synthesize_baseline as synthesize_mst with:
    wildcard_constraints:
        generator="mst",
    conda:
        "../../../envs/mst.yaml"
    threads: config["threads"]
