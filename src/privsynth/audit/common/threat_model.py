"""Threat model: targeted membership inference with auxiliary-data knowledge (TAPAS).

The real data (the training split, index ``row_id``) minus the targets (and any
exact duplicate of a target, so membership is well defined) is split at random
into two disjoint halves: the attacker's **auxiliary pool** and the **evaluation
pool**.  From each, training sets are drawn in **pairs**: both sets of a pair
share the same ``n - k`` base rows, and every target is *added* to exactly one
of the two sets (which one is a fair coin per target), so a set holds between
``n - k`` and ``n`` rows.  For each target, its "in" set is its "out" set's
base plus the target (plus other targets whose coins are independent of this
one's): **add/remove adjacency**, the neighbouring relation DP-SGD accountants
(Opacus, MOSTLY AI) certify, so the audited bound is comparable with their
epsilon.  (TAPAS replaces a random record by the target instead: replace-one
adjacency, under which an (eps, delta)-DP mechanism is only (2 eps,
(1 + e^eps) delta)-DP.)  With k targets the same pairs serve all of them,
which makes the cost independent of k; TAPAS too reuses its training sets for
every target.  Sets from the auxiliary pool train the attacks ("shadow" sets);
sets from the evaluation pool measure them ("eval").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...defaults import with_defaults
from ...errors import ConfigError, DataError
from ...generators.declared import DEFAULT_ATTACKS, KEY, Declared
from ...schema import Schema
from .attacks import ATTACKS, make_attacks
from .encoding import Encoder
from .knowledge import AuxiliaryDataKnowledge

log = logging.getLogger(__name__)

OUTLIER_BINS = 20
# This block's keys and defaults: config/schema.yaml (definitions.audit), filled by validation.
SCHEMA_NODE = "definitions/audit"


@dataclass(frozen=True)
class AuditProtocol:
    """One dataset's audit configuration (``datasets.<name>.audit``)."""

    where: str
    enabled: bool
    generators: tuple[str, ...] | None
    n: int
    m: int | None
    n_shadow: int
    n_eval: int
    outliers: int
    random: int
    ids: tuple[int, ...]
    seed: int
    attacks: tuple[str, ...] | None  # None: each generator's ``audit_attacks``
    attack_options: Mapping[str, Mapping[str, Any]]
    batch_size: int
    confidence: float

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None, where: str = "audit") -> AuditProtocol:
        """From a validated block, or a partial one (a job's slice, a test): the schema fills the rest."""
        c = with_defaults(cfg, SCHEMA_NODE)
        t = c["targets"]
        p = cls(
            where=where,
            enabled=bool(c["enabled"]),
            generators=None if c["generators"] is None else tuple(c["generators"]),
            n=int(c["n"]),
            m=None if c["m"] is None else int(c["m"]),
            n_shadow=int(c["n_shadow"]),
            n_eval=int(c["n_eval"]),
            outliers=int(t["outliers"]),
            random=int(t["random"]),
            ids=tuple(int(i) for i in t["ids"]),
            seed=int(c["seed"]),
            attacks=None if c["attacks"] is None else tuple(c["attacks"]),
            attack_options={k: dict(v) for k, v in dict(c["attack_options"] or {}).items()},
            batch_size=int(c["batch_size"]),
            confidence=float(c["confidence"]),
        )
        p.check()
        return p

    def check(self) -> None:
        if not self.ids and self.outliers + self.random == 0:
            raise ConfigError(f"{self.where}.targets: no targets (set outliers/random above 0 or list ids)")
        if len(set(self.ids)) != len(self.ids):
            raise ConfigError(f"{self.where}.targets.ids: row ids are listed twice")
        if self.k >= self.n:
            raise ConfigError(f"{self.where}.n: {self.n} rows cannot hold {self.k} targets and a base row; raise n")
        make_attacks(self.attacks or [], self.attack_options, self.where)  # validates names and options

    def attacks_for(self, declared: Declared | None) -> list[str]:
        """The configured attacks, else the generator family's defaults (``audit_attacks`` in its schema)."""
        if self.attacks is not None:
            return list(self.attacks)
        if declared is None:
            return list(DEFAULT_ATTACKS)
        bad = [a for a in declared.audit_attacks if a not in ATTACKS]
        if bad:
            raise ConfigError(
                f"{declared.source}: {KEY}.audit_attacks: unknown attack {bad[0]!r} (known: {', '.join(ATTACKS)})"
            )
        return list(declared.audit_attacks)

    @property
    def k(self) -> int:
        return len(self.ids) if self.ids else self.outliers + self.random

    @property
    def sample_size(self) -> int:
        return self.m if self.m is not None else self.n

    @property
    def n_sets(self) -> int:
        return 2 * (self.n_shadow + self.n_eval)

    @property
    def n_batches(self) -> int:
        return -(-self.n_sets // self.batch_size)

    def batch_sets(self, batch: int) -> list[int]:
        lo = batch * self.batch_size
        return list(range(lo, min(lo + self.batch_size, self.n_sets)))

    # --- config slices: each job sees only what changes its output -----------
    def sets_slice(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "n": self.n,
            "n_shadow": self.n_shadow,
            "n_eval": self.n_eval,
            "targets": {"outliers": self.outliers, "random": self.random, "ids": list(self.ids)},
            "seed": self.seed,
        }

    def attack_slice(self, declared: Declared | None = None) -> dict[str, Any]:
        return {
            "where": self.where,
            "attacks": self.attacks_for(declared),
            "attack_options": {k: dict(v) for k, v in self.attack_options.items()},
            "confidence": self.confidence,
            "m": self.sample_size,
            "seed": self.seed,
        }


# --- target selection ---------------------------------------------------------


def outlier_scores(df: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Mean surprisal of each row under independent marginals (higher = more outlying).

    Score = mean over columns of -log p(value), with p the value's frequency in
    ``df``; numeric columns are binned first (one bin per integer for countable
    columns with at most 20 values, otherwise 20 equal-width bins over the
    schema's [min, max]).  A row whose values are jointly rare under the marginals
    ranks high: the records a synthetic generator is most likely to reveal.
    """
    enc = Encoder(schema)
    e = enc.encode(df)
    bins, sizes = enc.numeric_bins(e.num, OUTLIER_BINS)
    codes = np.concatenate([e.cat, bins], axis=1)
    levels = np.concatenate([enc.levels, sizes])
    total = np.zeros(len(df))
    for j in range(codes.shape[1]):
        counts = np.bincount(codes[:, j], minlength=int(levels[j]))
        total += -np.log(counts[codes[:, j]] / len(df))
    return total / max(codes.shape[1], 1)


def row_hashes(data: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of values (equal rows, equal hashes)."""
    return pd.util.hash_pandas_object(data, index=False).to_numpy()


@dataclass
class Target:
    row_id: int
    selection: str  # "outlier", "random" or "config"
    outlier_score: float
    outlier_rank: int  # 1 = most outlying row of the data
    duplicates: int  # other rows with identical values (removed from the pools)
    record: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "row_id": self.row_id,
            "selection": self.selection,
            "outlier_score": round(float(self.outlier_score), 6),
            "outlier_rank": self.outlier_rank,
            "duplicates": self.duplicates,
            "record": self.record,
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def select_targets(data: pd.DataFrame, schema: Schema, protocol: AuditProtocol) -> list[Target]:
    """The k targets: ``ids`` from config, else outliers then random rows (seeded)."""
    scores = outlier_scores(data, schema)
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(data), dtype=np.int64)
    rank[order] = np.arange(1, len(data) + 1)
    # Rows with an exact duplicate elsewhere cannot be targets of automatic choice:
    # the copy would make "in" and "out" indistinguishable by construction.
    h = row_hashes(data)
    dup_counts = pd.Series(h).map(pd.Series(h).value_counts()).to_numpy() - 1
    ids = data.index.to_numpy()
    chosen: list[tuple[int, str]] = []
    if protocol.ids:
        pos = pd.Index(ids).get_indexer(list(protocol.ids))
        missing = [i for i, p in zip(protocol.ids, pos, strict=True) if p < 0]
        if missing:
            raise ConfigError(
                f"{protocol.where}.targets.ids: row ids {missing} are not in the training split "
                "(train.parquet index row_id; they may be in the holdout)"
            )
        chosen = [(int(p), "config") for p in pos]
    else:
        unique_rows = dup_counts == 0
        outl = [int(i) for i in order if unique_rows[i]][: protocol.outliers]
        rng = np.random.default_rng([protocol.seed, 1])
        rest = np.flatnonzero(unique_rows)
        rest = rest[~np.isin(rest, outl)]
        if len(outl) < protocol.outliers or len(rest) < protocol.random:
            raise DataError(f"{protocol.where}.targets: not enough rows without duplicates to choose targets")
        rand = sorted(rng.choice(rest, protocol.random, replace=False).tolist())
        chosen = [(i, "outlier") for i in outl] + [(int(i), "random") for i in rand]
    targets = []
    for p, how in chosen:
        rec = {str(k): _jsonable(v) for k, v in data.iloc[p].items()}
        targets.append(Target(int(ids[p]), how, float(scores[p]), int(rank[p]), int(dup_counts[p]), rec))
    return targets


# --- threat model ---------------------------------------------------------------


@dataclass
class TargetedMIA:
    """The sampled threat model of one dataset: targets, pools and training sets."""

    targets: list[Target]
    attacker_pool: np.ndarray  # row ids
    eval_pool: np.ndarray
    sets: pd.DataFrame  # set_id, role, pair, seed, rows (row ids), in_<row_id> per target

    @classmethod
    def sample(cls, data: pd.DataFrame, schema: Schema, protocol: AuditProtocol) -> TargetedMIA:
        targets = select_targets(data, schema, protocol)
        tpos = data.index.get_indexer([t.row_id for t in targets])
        # Remove the targets and their exact copies from the pools.
        h = row_hashes(data)
        is_copy = np.isin(h, h[tpos])
        rest = data.index.to_numpy()[~is_copy]
        rng = np.random.default_rng([protocol.seed, 2])
        rest = rng.permutation(rest)
        half = len(rest) // 2
        attacker_pool, eval_pool = np.sort(rest[:half]), np.sort(rest[half:])
        k = len(targets)
        if len(eval_pool) < protocol.n - k or len(attacker_pool) < protocol.n - k:
            raise ConfigError(
                f"{protocol.where}.n: {protocol.n} rows per training set ({protocol.n - k} base rows), "
                f"but each pool has only {min(len(attacker_pool), len(eval_pool))} rows (half the training "
                f"split without the targets); lower n"
            )
        target_ids = np.array([t.row_id for t in targets], dtype=np.int64)
        rows = []
        set_id = 0
        for role, pool, n_pairs in (("shadow", attacker_pool, protocol.n_shadow), ("eval", eval_pool, protocol.n_eval)):
            for pair in range(n_pairs):
                base = rng.choice(pool, protocol.n - k, replace=False)
                side = rng.integers(0, 2, k)  # which set of the pair each target is added to
                for s in (0, 1):
                    member = side == s
                    seed = int(np.random.SeedSequence([protocol.seed, 3, set_id]).generate_state(1)[0] >> 1)
                    # Shuffled with the set's seed: a target's position is random, so a generator that
                    # splits its rows by position (MOSTLY AI's validation share) cannot always drop it.
                    r = np.random.default_rng([seed, 4]).permutation(np.concatenate([base, target_ids[member]]))
                    rows.append(
                        {
                            "set_id": set_id,
                            "role": role,
                            "pair": pair,
                            "seed": seed,
                            "rows": r,
                            **{f"in_{t}": bool(mb) for t, mb in zip(target_ids, member, strict=True)},
                        }
                    )
                    set_id += 1
        sets = pd.DataFrame(rows)
        log.info(
            "threat model: %d targets (%s), pools %d/%d rows, %d shadow + %d eval pairs of n-k=%d base rows + targets",
            k,
            ", ".join(f"{t.row_id}:{t.selection}" for t in targets),
            len(attacker_pool),
            len(eval_pool),
            protocol.n_shadow,
            protocol.n_eval,
            protocol.n - k,
        )
        return cls(targets, attacker_pool, eval_pool, sets)

    def labels(self, role: str | None = None) -> np.ndarray:
        """Membership matrix (sets x targets), 0/1."""
        s = self.sets if role is None else self.sets[self.sets["role"] == role]
        return s[[f"in_{t.row_id}" for t in self.targets]].to_numpy().astype(np.int8)

    def knowledge(self, data: pd.DataFrame, schema: Schema, n: int, m: int) -> AuxiliaryDataKnowledge:
        return AuxiliaryDataKnowledge(
            auxiliary=data.loc[self.attacker_pool],
            targets=data.loc[[t.row_id for t in self.targets]],
            schema=schema,
            n=n,
            m=m,
        )

    # --- persistence ------------------------------------------------------------
    def pools_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "row_id": np.concatenate([self.attacker_pool, self.eval_pool]),
                "pool": ["auxiliary"] * len(self.attacker_pool) + ["eval"] * len(self.eval_pool),
            }
        )

    @classmethod
    def load(cls, targets_json: Sequence[Mapping[str, Any]], pools: pd.DataFrame, sets: pd.DataFrame) -> TargetedMIA:
        targets = [Target(**{k: t[k] for k in Target.__dataclass_fields__}) for t in targets_json]
        aux = pools.loc[pools["pool"] == "auxiliary", "row_id"].to_numpy()
        ev = pools.loc[pools["pool"] == "eval", "row_id"].to_numpy()
        sets = sets.copy()
        sets["rows"] = [np.asarray(r, dtype=np.int64) for r in sets["rows"]]
        return cls(targets, aux, ev, sets)
