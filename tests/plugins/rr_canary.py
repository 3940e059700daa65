"""Test double with a KNOWN epsilon for the one-run audit: randomized response per canary.

It reads the canary list (public to it, as the holdout control reads its reference
file) and the training split it was drawn from, both declared as job inputs (``x-privsynth.input_files`` in rr_canary.yaml).  For
every canary it decides membership from its own training set (does the canary's
record occur in it?), then outputs that exact record with probability
e^eps / (1 + e^eps) if the canary is in, 1 / (1 + e^eps) if not, independently per
canary.  The rest of the output is drawn from its training rows that are not
canaries, which are the same whether or not any canary is included.  The mechanism
is therefore exactly eps-DP for add/remove of one canary (delta = 0).
"""

import math

import numpy as np
import pandas as pd

from privsynth.errors import GeneratorError
from privsynth.generators.base import Generator


def _hashes(df):
    return pd.util.hash_pandas_object(df, index=False).to_numpy()


class RandomizedResponseCanaries(Generator):
    name = "rr_canary"
    description = "test double: eps-DP randomized response on the one-run audit's canaries"

    def fit(self, train, schema, settings, seed):
        eps = float(settings["epsilon"])
        can = pd.read_parquet(settings["canaries"])
        full = pd.read_parquet(settings["train"])
        records = full.loc[can["row_id"].to_numpy(), schema.names].reset_index(drop=True)
        rec_h = _hashes(records)
        train = train[schema.names].reset_index(drop=True)
        tr_h = _hashes(train)
        inside = np.isin(rec_h, tr_h)
        rng = np.random.default_rng(seed)
        q = 1.0 / (1.0 + math.exp(-eps))
        emit = rng.random(len(records)) < np.where(inside, q, 1 - q)
        self._emitted = records[emit]
        self._filler = train[~np.isin(tr_h, rec_h)].reset_index(drop=True)
        self._rng = rng
        self._eps = eps

    def sample(self, n):
        k = len(self._emitted)
        if n < k:
            raise GeneratorError(f"rr_canary: sample_size {n} below the {k} emitted canaries")
        fill = self._filler.iloc[self._rng.choice(len(self._filler), n - k, replace=n - k > len(self._filler))]
        out = pd.concat([self._emitted, fill], ignore_index=True)
        return out.iloc[self._rng.permutation(len(out))].reset_index(drop=True)

    def metrics(self):
        return {"epsilon": self._eps, "delta": 0.0, "known_epsilon": True}


GENERATOR = RandomizedResponseCanaries


def audit_scores(train, ref, schema, eps, *, m, seed, cap, generator, attacks, extra_rows, where="t"):
    """One in-memory one-run audit of this mechanism (no workflow): the audit training set
    at ``cap`` with ``generator``'s layout, a fit, ``m + extra_rows`` rows out, attack scores.

    Returns (scores, canaries, protocol, layout info); tests/test_one_run.py and
    benchmarks/one_run_known_eps.py evaluate them.
    """
    import tempfile

    from privsynth.audit.one_run import layout as one_run_layout
    from privsynth.audit.one_run import method as one_run

    p = one_run.OneRunProtocol.from_config({"m": m, "seed": seed, "attacks": list(attacks)}, where)
    can = one_run.draw_canaries(train, schema, p.canary_slice())
    at, info = one_run_layout.audit_training_set(train, can, cap, seed, where, generator)
    gen = RandomizedResponseCanaries()
    # fit() reads its two input files; give it in-memory copies through tiny parquet files.
    with tempfile.TemporaryDirectory() as t:
        can.to_parquet(f"{t}/c.parquet")
        train.to_parquet(f"{t}/t.parquet")
        gen.fit(
            at.reset_index(drop=True),
            schema,
            {"epsilon": eps, "canaries": f"{t}/c.parquet", "train": f"{t}/t.parquet"},
            seed,
        )
    syn = gen.sample(m + extra_rows)
    records = train.loc[can["row_id"].to_numpy(), schema.names].reset_index(drop=True)
    scores, _ = one_run.attack_scores(records, syn, ref, schema, list(attacks))
    return scores, can, p, info
