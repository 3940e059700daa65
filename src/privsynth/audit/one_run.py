"""One-run canary audit (Steinke, Nasr & Jagielski, NeurIPS 2023), black box.

Design, per dataset: ``m`` canaries are drawn from the training split (seeded;
optionally the most outlying records and listed ids), each with a fair coin.
Per audited cell the generator, with the cell's exact settings, is trained once
on the *audit training set*: the training split without the canaries whose coin
says "out" (for generators that subsample their training rows, base rows are
drawn first and the included canaries added, so every included canary is really
trained on).  Attacks score every canary from that one synthetic output; the
auditor guesses "in" for the top k+ scores and "out" for the bottom k-, abstaining
on the rest, and ``bounds.epsilon_lb`` turns the number of correct guesses into a
lower bound on ε for (ε, δ)-DP under add/remove of one canary.

The coins are used only to count correct guesses: attack choice and guess counts
are fixed in advance, and the bound is Bonferroni-corrected over every
(attack, guess design) pair tried.  The headline AUC comes from the attack chosen
on one half of the canaries and is evaluated on the other half.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..defaults import properties_of, with_defaults
from ..errors import ConfigError
from ..schema import Schema
from . import bounds
from .encoding import Encoder
from .threat_model import outlier_scores, row_hashes

NEIGHBOURING = "add/remove one canary record (the relation DP-SGD accountants such as Opacus and MOSTLY AI certify)"
ATTACK_NAMES = ("closest_distance", "exact_match", "density")
SIDES = ("both", "in")
# This block's keys and defaults: config/schema.yaml (definitions.one_run_audit), filled by validation.
SCHEMA_NODE = "definitions/one_run_audit"
# Generator setting that caps the rows a generator trains on (it subsamples above it).
SUBSAMPLE_KEYS = {"mostlyai": "max_sample_size"}
BANDWIDTH_CANARIES = 200


@dataclass(frozen=True)
class OneRunProtocol:
    where: str
    enabled: bool
    generators: tuple[str, ...] | None
    m: int
    outliers: int
    ids: tuple[int, ...]
    seed: int
    confidence: float
    attacks: tuple[str, ...]
    guess_fractions: tuple[float, ...]
    guess_sides: tuple[str, ...]
    delta: float | None
    low_fpr: float
    release_is_audit_run: bool | tuple[str, ...]

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None, where: str = "audit.one_run") -> OneRunProtocol:
        """From a validated block, or a partial one (a job's slice, a test): the schema fills the rest."""
        unknown = sorted(set(cfg or {}) - set(properties_of(SCHEMA_NODE)))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        c = with_defaults(cfg, SCHEMA_NODE)
        m, outliers, ids = int(c["m"]), int(c["outliers"]), [int(i) for i in c["ids"]]
        if m < 2:
            raise ConfigError(f"{where}.m: at least 2 canaries, got {m}")
        if outliers + len(set(ids)) > m:
            raise ConfigError(f"{where}: outliers ({outliers}) + ids ({len(set(ids))}) exceed m ({m})")
        if not 0 < float(c["confidence"]) < 1:
            raise ConfigError(f"{where}.confidence: must be in (0, 1), got {c['confidence']}")
        bad = sorted(set(c["attacks"]) - set(ATTACK_NAMES))
        if bad or not c["attacks"]:
            raise ConfigError(
                f"{where}.attacks: unknown attack(s) {', '.join(bad) or '(none given)'} "
                f"(available: {', '.join(ATTACK_NAMES)})"
            )
        fr = [float(f) for f in c["guess_fractions"]]
        if not fr or any(not 0 < f <= 1 for f in fr):
            raise ConfigError(f"{where}.guess_fractions: each must be in (0, 1], got {fr}")
        bad = sorted(set(c["guess_sides"]) - set(SIDES))
        if bad or not c["guess_sides"]:
            raise ConfigError(f"{where}.guess_sides: unknown side(s) {bad} (use 'both' and/or 'in')")
        if c["delta"] is not None and not 0 <= float(c["delta"]) < 1:
            raise ConfigError(f"{where}.delta: must be in [0, 1) or null, got {c['delta']}")
        if not 0 < float(c["low_fpr"]) < 0.5:
            raise ConfigError(f"{where}.low_fpr: must be in (0, 0.5), got {c['low_fpr']}")
        rel = c["release_is_audit_run"]
        rel = bool(rel) if isinstance(rel, bool) else tuple(str(x) for x in rel)
        return cls(
            where=where,
            enabled=bool(c["enabled"]),
            generators=None if c["generators"] is None else tuple(c["generators"]),
            m=m,
            outliers=outliers,
            ids=tuple(ids),
            seed=int(c["seed"]),
            confidence=float(c["confidence"]),
            attacks=tuple(dict.fromkeys(c["attacks"])),
            guess_fractions=tuple(sorted(set(fr))),
            guess_sides=tuple(dict.fromkeys(c["guess_sides"])),
            delta=None if c["delta"] is None else float(c["delta"]),
            low_fpr=float(c["low_fpr"]),
            release_is_audit_run=rel,
        )

    def canary_slice(self) -> dict[str, Any]:
        return {"m": self.m, "outliers": self.outliers, "ids": list(self.ids), "seed": self.seed, "where": self.where}

    def attack_slice(self) -> dict[str, Any]:
        return {
            "m": self.m,
            "seed": self.seed,
            "confidence": self.confidence,
            "attacks": list(self.attacks),
            "guess_fractions": list(self.guess_fractions),
            "guess_sides": list(self.guess_sides),
            "delta": self.delta,
            "low_fpr": self.low_fpr,
            "where": self.where,
        }

    def designs(self) -> list[tuple[int, int]]:
        """(k+, k-) guess designs, fixed before any coin is looked at."""
        out = []
        for f in self.guess_fractions:
            r = max(1, int(round(f * self.m)))
            for side in self.guess_sides:
                d = (r, 0) if side == "in" else (int(math.ceil(r / 2)), r // 2)
                if d not in out:
                    out.append(d)
        return out


# --- canaries -------------------------------------------------------------------


def draw_canaries(train: pd.DataFrame, schema: Schema, job: Mapping[str, Any]) -> pd.DataFrame:
    """Canary row ids, how each was chosen, its coin and the half it belongs to.

    Only records that occur once in the training split are eligible: a canary whose
    exact record is also another person's row would stay in the data when excluded.
    """
    where = job.get("where", "audit.one_run")
    m, n_out, ids = int(job["m"]), int(job["outliers"]), list(dict.fromkeys(int(i) for i in job["ids"]))
    rng = np.random.default_rng([int(job["seed"]), 1])
    h = row_hashes(train[schema.names])
    unique = ~pd.Series(h).duplicated(keep=False).to_numpy()
    row_ids = train.index.to_numpy()
    missing = sorted(set(ids) - set(row_ids.tolist()))
    if missing:
        raise ConfigError(f"{where}.ids: row ids {missing[:10]} are not in the training split")
    chosen: list[tuple[int, str]] = [(i, "config") for i in ids]
    taken = set(ids)
    score = outlier_scores(train[schema.names], schema)
    eligible = unique & ~np.isin(row_ids, list(taken))
    if n_out:
        order = np.argsort(-score, kind="stable")
        top = [int(row_ids[j]) for j in order if eligible[j]][:n_out]
        chosen += [(i, "outlier") for i in top]
        taken |= set(top)
        eligible &= ~np.isin(row_ids, top)
    need = m - len(chosen)
    pool = row_ids[eligible]
    if need > len(pool):
        raise ConfigError(
            f"{where}.m: {m} canaries asked for, the training split has only {len(pool) + len(chosen)} "
            f"eligible (unique) records; lower m"
        )
    chosen += [(int(i), "random") for i in rng.choice(pool, need, replace=False)]
    pos = pd.Index(row_ids).get_indexer([i for i, _ in chosen])
    return pd.DataFrame(
        {
            "row_id": [i for i, _ in chosen],
            "selection": [s for _, s in chosen],
            "outlier_score": score[pos],
            # Fair coins: 1 = the canary is in the audit training set.
            "included": rng.integers(0, 2, m).astype(np.int8),
            # Attack-selection halves, independent of the coins.
            "half": rng.permutation(np.arange(m) % 2).astype(np.int8),
            # Random tie-break order for rankings, independent of the coins.
            "tiebreak": rng.random(m),
        }
    )


def audit_training_set(
    train: pd.DataFrame, canaries: pd.DataFrame, cap: int | None, seed: int, where: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Training split minus the excluded canaries; below a subsampling cap, base rows + included canaries."""
    inc = canaries.loc[canaries["included"] == 1, "row_id"].to_numpy()
    is_canary = train.index.isin(canaries["row_id"].to_numpy())
    base = train.index[~is_canary].to_numpy()
    info: dict[str, Any] = {"included_canaries": int(len(inc)), "cap": cap}
    if cap is not None and len(base) + len(inc) > cap:
        if cap <= len(inc):
            raise ConfigError(
                f"{where}.m: {len(inc)} included canaries do not fit in the generator's training cap of {cap} rows; "
                "lower m or raise the cap"
            )
        rng = np.random.default_rng([seed, 2])
        base = rng.choice(base, cap - len(inc), replace=False)
        info["subsampled_base_rows"] = True
    keep = np.sort(np.concatenate([base, inc]))
    out = train.loc[keep]
    info["rows"] = int(len(out))
    return out, info


# --- attacks: one score per canary, higher = "in" ---------------------------------


@dataclass
class _Coded:
    num: np.ndarray  # scaled numerics (float32; -1 = missing)
    cat: np.ndarray  # categorical codes
    raw: np.ndarray  # exact-value codes of every column (int64; equal value <=> equal code)


def _encode_pair(enc: Encoder, schema: Schema, frames: Sequence[pd.DataFrame]) -> list[_Coded]:
    """Encode frames consistently; ``raw`` codes are shared across frames for exact-value matching."""
    parts = [enc.encode(f) for f in frames]
    sizes = [len(f) for f in frames]
    both = pd.concat([f[schema.names] for f in frames], ignore_index=True)
    raw = np.empty((len(both), len(schema.names)), dtype=np.int64)
    for j, name in enumerate(schema.names):
        raw[:, j] = pd.factorize(both[name].astype("string").fillna("\x00<NA>"))[0]
    splits = np.cumsum(sizes)[:-1]
    return [_Coded(p.num, p.cat, r) for p, r in zip(parts, np.split(raw, splits), strict=True)]


def _scan(canary: _Coded, syn: _Coded, chunk: int, bandwidth: float | None) -> dict[str, np.ndarray]:
    """Per canary: min mixed distance, max exact-value matches, log mean Laplace kernel.

    Column by column over blocks of canaries, so memory stays ~``chunk`` pairs x 8 bytes.
    """
    n, n_syn = len(canary.num), len(syn.num)
    dmin = np.full(n, np.inf)
    matches = np.zeros(n, dtype=np.int64)
    lse = np.full(n, -np.inf)
    step = max(1, chunk // max(n_syn, 1))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        d = np.zeros((hi - lo, n_syn))
        for j in range(canary.num.shape[1]):
            d += np.abs(canary.num[lo:hi, j, None] - syn.num[None, :, j])
        for j in range(canary.cat.shape[1]):
            d += canary.cat[lo:hi, j, None] != syn.cat[None, :, j]
        eq = np.zeros((hi - lo, n_syn), dtype=np.int16)
        for j in range(canary.raw.shape[1]):
            eq += canary.raw[lo:hi, j, None] == syn.raw[None, :, j]
        dmin[lo:hi] = d.min(1)
        matches[lo:hi] = eq.max(1)
        if bandwidth is not None:
            x = d / -bandwidth
            mx = x.max(1)
            lse[lo:hi] = mx + np.log(np.exp(x - mx[:, None]).sum(1)) - math.log(n_syn)
    return {"dmin": dmin, "matches": matches, "log_kde": lse}


def attack_scores(
    canaries: pd.DataFrame,
    synthetic: pd.DataFrame,
    reference: pd.DataFrame,
    schema: Schema,
    attacks: Sequence[str],
    chunk: int = 2_000_000,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Scores per attack (higher = more likely included), from the synthetic output alone.

    * ``closest_distance``: minus the distance to the nearest synthetic record (numeric
      columns scaled to [0, 1] by the schema, L1; 1 per categorical mismatch);
    * ``exact_match``: number of columns whose value in the best-matching synthetic
      record equals the canary's exactly (catches generators that reuse training values);
    * ``density``: log of a Laplace-kernel density of the synthetic data at the canary
      minus that of the reference population (the holdout split, which holds no canary).
    """
    enc = Encoder(schema)
    c, s, r = _encode_pair(enc, schema, [canaries, synthetic, reference])
    ref_scan, bandwidth = None, None
    if "density" in attacks:
        # Bandwidth: median distance from a canary to its nearest reference record, on an
        # evenly spaced subset of about BANDWIDTH_CANARIES canaries (no coin is used).
        sl = slice(None, None, max(1, len(c.num) // BANDWIDTH_CANARIES))
        head = _Coded(c.num[sl], c.cat[sl], c.raw[sl])
        bandwidth = max(float(np.median(_scan(head, r, chunk, None)["dmin"])), 0.05)
        ref_scan = _scan(c, r, chunk, bandwidth)
    syn_scan = _scan(c, s, chunk, bandwidth)
    out: dict[str, np.ndarray] = {}
    for a in attacks:
        if a == "closest_distance":
            out[a] = -syn_scan["dmin"]
        elif a == "exact_match":
            out[a] = syn_scan["matches"].astype(float)
        elif a == "density":
            assert ref_scan is not None
            out[a] = syn_scan["log_kde"] - ref_scan["log_kde"]
    info = {"synthetic_rows": len(synthetic), "reference_rows": len(reference), "density_bandwidth": bandwidth}
    return out, info


# --- evaluation -----------------------------------------------------------------------


def guesses(scores: np.ndarray, tiebreak: np.ndarray, k_in: int, k_out: int) -> np.ndarray:
    """+1 for the top k_in scores, -1 for the bottom k_out, 0 (abstain) otherwise; ties broken at random."""
    order = np.lexsort((tiebreak, -scores))  # descending score, then the canary's random key
    g = np.zeros(len(scores), dtype=np.int8)
    g[order[:k_in]] = 1
    if k_out:
        g[order[len(scores) - k_out :]] = -1
    return g


def evaluate(
    scores: Mapping[str, np.ndarray],
    canaries: pd.DataFrame,
    job: Mapping[str, Any],
    delta: float,
    select: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """Bounds, AUCs and TPRs for every attack; the coins are only read to count correct guesses."""
    keys = ("confidence", "guess_fractions", "guess_sides", "low_fpr")
    p = OneRunProtocol.from_config({k: job[k] for k in keys}, job.get("where", "audit.one_run"))
    m = len(canaries)
    y = canaries["included"].to_numpy().astype(bool)
    tb = canaries["tiebreak"].to_numpy()
    half = canaries["half"].to_numpy()
    designs = dataclasses.replace(p, m=m).designs()
    n_tests = len(designs) * len(scores)
    beta = 1 - p.confidence
    alpha = beta / n_tests  # Bonferroni over every (attack, design) tried
    # AUC and TPR intervals: one family (the headline + one per attack), jointly at `confidence`.
    beta_auc = beta / (1 + len(scores))
    rows, per_attack = [], {}
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        for k_in, k_out in designs:
            g = guesses(s, tb, k_in, k_out)
            correct = int(((g == 1) & y).sum() + ((g == -1) & ~y).sum())
            r = k_in + k_out
            rows.append(
                {
                    "attack": name,
                    "k_in": k_in,
                    "k_out": k_out,
                    "guesses": r,
                    "correct": correct,
                    "epsilon_lb": bounds.epsilon_lb(m, r, correct, alpha, delta),
                    "ceiling": bounds.epsilon_lb(m, r, r, alpha, delta),
                }
            )
        a, lo, hi = bounds.auc_interval(y, s, beta_auc)
        per_attack[name] = {
            "auc": a,
            "auc_ci_low": lo,
            "auc_ci_high": hi,
            "auc_half0": bounds.auc(y[half == 0], s[half == 0]),
            "tpr_at_low_fpr": bounds.tpr_at_fpr(y, s, p.low_fpr, beta_auc),
        }
    best = max(rows, key=lambda x: (x["epsilon_lb"], x["correct"]))
    ceiling = max(rows, key=lambda x: x["ceiling"])
    # Headline AUC: attack chosen on half 0, evaluated on half 1 (selection does not see half 1).
    chosen = max(per_attack, key=lambda k: (np.nan_to_num(per_attack[k]["auc_half0"]), -list(scores).index(k)))
    s1 = np.asarray(scores[chosen], dtype=float)[half == 1]
    a1, lo1, hi1 = bounds.auc_interval(y[half == 1], s1, beta_auc)
    return {
        "epsilon_lb": best["epsilon_lb"],
        "epsilon_lb_attack": best["attack"],
        "guesses": best["guesses"],
        "correct": best["correct"],
        "k_in": best["k_in"],
        "k_out": best["k_out"],
        "ceiling": ceiling["ceiling"],
        "ceiling_guesses": ceiling["guesses"],
        "tests": n_tests,
        "per_test_alpha": alpha,
        "delta": delta,
        "interval_alpha": beta_auc,
        "auc": {
            "attack": chosen,
            "value": a1,
            "ci_low": lo1,
            "ci_high": hi1,
            "canaries": int((half == 1).sum()),
            "selection": "attack with the highest AUC on canary half 0; value and interval on half 1",
        },
        "tpr_at_low_fpr": {"attack": chosen, **per_attack[chosen]["tpr_at_low_fpr"]},
        "per_attack": per_attack,
        "designs": rows,
        "included": int(y.sum()),
        "excluded": int((~y).sum()),
    }
