"""MST's select-measure-generate loop on Private-PGM (``mbi`` 2.0), after McKenna, Miklau & Sheldon 2021.

The steps and budget split follow the reference implementation
(private-pgm, ``mechanisms/mst.py``):

1. measure every 1-way marginal with Gaussian noise (rho/3 in all);
2. compress each column's domain: values whose noisy count is below 3 noise
   standard deviations are merged into one code (post-processing);
3. select a spanning tree of 2-way marginals: estimate a model from the 1-way
   measurements, score each pair by the L1 distance between its true (compressed)
   2-way marginal and the model's, and add columns-1 edges, each chosen by the
   exponential mechanism among the pairs that join two components (rho/3 in all);
4. measure the tree's 2-way marginals with Gaussian noise (rho/3 in all);
5. estimate a graphical model from all measurements (mirror descent) and sample
   records from it, undoing the compression.

Importing this module imports jax (through mbi); the generator imports it in ``fit``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import DisjointSet
from scipy.special import logsumexp

from .accounting import Budget


def _configure_jax(threads: int) -> None:
    # Before jax is first imported: CPU only (no GPU probing), and the job's thread share.
    if "jax" not in sys.modules:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        os.environ.setdefault(
            "XLA_FLAGS",
            f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
            f"intra_op_parallelism_threads={max(threads, 1)}",
        )
    import jax

    # float64: mbi warns that float32 can stall its estimation on large counts; the
    # compilation cache only slows mbi's many small programs down (mbi's own advice).
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_compilation_cache", False)


@contextlib.contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """mbi samples with numpy's global generator: seed it for the call, then restore it."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


@dataclass
class Fitted:
    model: object  # mbi.MarkovRandomField over the compressed domain
    mapping: dict[str, np.ndarray]  # column -> compressed code of each original code
    edges: list[tuple[str, str]]
    info: dict[str, object] = field(default_factory=dict)


def _measure(codes, sizes, cliques, stddev, rng):
    from mbi import LinearMeasurement

    out = []
    for cl in cliques:
        x = _marginal(codes, sizes, cl)
        y = x + rng.normal(0.0, stddev, size=x.size)
        out.append(LinearMeasurement(y, tuple(cl), stddev))
    return out


def _marginal(codes, sizes, clique) -> np.ndarray:
    """Flat count vector of ``clique`` (C order, as mbi's datavector)."""
    idx = np.ravel_multi_index(tuple(codes[a] for a in clique), tuple(sizes[a] for a in clique))
    return np.bincount(idx, minlength=int(np.prod([sizes[a] for a in clique]))).astype(float)


def _compress_maps(one_way, sizes) -> dict[str, np.ndarray]:
    """Per column with unsupported values: original code -> kept code, the rest -> one shared code."""
    mapping = {}
    for m in one_way:
        (col,) = m.clique
        support = np.asarray(m.noisy_measurement) >= 3 * m.stddev
        if support.all():
            continue
        kept = int(support.sum())
        mapping[col] = np.where(support, np.cumsum(support) - 1, kept).astype(np.int64)
    return mapping


def exponential_mechanism(quality: np.ndarray, epsilon: float, sensitivity: float, rng) -> int:
    """Index drawn with probability proportional to exp(epsilon * quality / (2 sensitivity))."""
    scores = 0.5 * epsilon / sensitivity * np.asarray(quality, dtype=float)
    return int(rng.choice(len(scores), p=np.exp(scores - logsumexp(scores))))


def select_tree(codes, sizes, model, em_epsilon, rng) -> tuple[list[tuple[str, str]], dict[tuple[str, str], float]]:
    """Spanning tree of column pairs by repeated exponential mechanisms on the L1 error of ``model``.

    ``model`` is fitted on 1-way measurements only, so it is a product of its
    1-way marginals: its 2-way marginal of (a, b) is outer(mu_a, mu_b) / total,
    computed here directly (what mbi's projection of that model returns).
    The L1 error of a marginal changes by at most 1 when one record is added or
    removed: sensitivity 1.
    """
    attrs = list(sizes)
    total = float(model.total)
    mu = {a: np.asarray(model.project((a,)).datavector(), dtype=float) for a in attrs}
    weights = {}
    for a, b in itertools.combinations(attrs, 2):
        xhat = np.outer(mu[a], mu[b]).ravel() / total
        weights[a, b] = float(np.abs(_marginal(codes, sizes, (a, b)) - xhat).sum())
    ds = DisjointSet(attrs)
    edges = []
    candidates = list(weights)
    for _ in range(len(attrs) - 1):
        candidates = [e for e in candidates if not ds.connected(*e)]
        e = candidates[exponential_mechanism(np.array([weights[c] for c in candidates]), em_epsilon, 1.0, rng)]
        edges.append(e)
        ds.merge(*e)
    return edges, weights


def fit(
    codes: dict[str, np.ndarray],
    sizes: dict[str, int],
    budget: Budget,
    rng: np.random.Generator,
    iters: int,
    select_iters: int,
    threads: int = 1,
) -> Fitted:
    _configure_jax(threads)
    from mbi import Dataset, Domain
    from mbi.estimation import MirrorDescent, minimum_variance_unbiased_total

    attrs = list(sizes)
    one_way = _measure(codes, sizes, [(a,) for a in attrs], budget.stddev(len(attrs)), rng)
    mapping = _compress_maps(one_way, sizes)
    domain = Domain(attrs, [sizes[a] for a in attrs])
    data = Dataset({a: codes[a] for a in attrs}, domain).compress(mapping)
    ccodes = {a: np.asarray(data.data[a], dtype=np.int64) for a in attrs}
    csizes = dict(data.domain.config)
    one_way_c = [
        m.compress({m.clique[0]: mapping[m.clique[0]]}, domain) if m.clique[0] in mapping else m for m in one_way
    ]

    # The total (a noisy count) from the identity measurements, before compression re-weights them.
    total = minimum_variance_unbiased_total(one_way)
    est = MirrorDescent()
    edges: list[tuple[str, str]] = []
    if len(attrs) > 1:
        independent = est.estimate(data.domain, one_way_c, known_total=total, iters=select_iters)
        edges, _ = select_tree(ccodes, csizes, independent, budget.em_epsilon, rng)
    two_way = _measure(ccodes, csizes, edges, budget.stddev(len(edges)), rng) if edges else []
    model = est.estimate(data.domain, one_way_c + two_way, known_total=total, iters=iters)
    info = {
        "mst_tree": "; ".join(f"{a}-{b}" for a, b in edges),
        "mst_compressed_columns": len(mapping),
        "mst_domain_cells_one_way": int(sum(sizes.values())),
        "mst_domain_cells_compressed": int(sum(csizes.values())),
        "mst_noisy_total": float(total),
        "mst_estimation_iters": int(iters),
    }
    return Fitted(model, mapping, edges, info)


def sample(fitted: Fitted, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` records as codes of the original (uncompressed) domain."""
    with numpy_global_seed(seed):
        syn = fitted.model.synthetic_data(rows=n).decompress(fitted.mapping)
    return {a: np.asarray(v, dtype=np.int64) for a, v in syn.data.items()}
