# Gaussian copula (docs/copula.md): the labelled NON-DP statistical reference,
# numpy/scipy in the core env. Seconds per cell; CPU only.


use rule synthesize_baseline as synthesize_copula with:
    wildcard_constraints:
        generator="copula",
