"""One-run canary audit (Steinke, Nasr & Jagielski, NeurIPS 2023), black box.

Design, per dataset: ``m`` canaries are drawn from the training split (seeded;
optionally the most outlying records and listed ids), each with a fair coin.
Per audited cell the generator, with the cell's exact settings, is trained once
on the *audit training set* (``layout``): base rows drawn once, before and
independently of the coins, plus the included canaries, so flipping one coin adds
or removes exactly one row.  Attacks (``audit.common.record_attacks``) score every canary from
that one synthetic output; the auditor guesses "in" for the top k+ scores and "out"
for the bottom k-, abstaining on the rest, and ``bounds.guessing_epsilon_lb`` turns the
number of correct guesses into a lower bound on ε for (ε, δ)-DP under add/remove
of one canary; ``fdp.mu_lb`` gives the Gaussian-DP bound beside it.

The coins are used only to count correct guesses: attack choice and guess counts
are fixed in advance (few pre-registered tests: one design per attack by default),
and the bound is Bonferroni-corrected over every (attack, guess design) pair tried.
The headline AUC comes from the attack chosen on one half of the canaries and is
evaluated on the other half; every interval of a cell (1 + 2 per attack) is in one
Bonferroni family.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...defaults import properties_of, with_defaults
from ...errors import ConfigError
from ...schema import Schema
from ..common import stats
from ..common.record_attacks import attack_scores
from ..common.threat_model import outlier_scores, row_hashes
from . import bounds, fdp

NEIGHBOURING = "add/remove one canary record (the relation DP-SGD accountants such as Opacus and MOSTLY AI certify)"
ATTACK_NAMES = ("closest_distance", "exact_match", "density")
SIDES = ("both", "in")
# This block's keys and defaults: config/schema.yaml (definitions.one_run_audit), filled by validation.
SCHEMA_NODE = "definitions/one_run_audit"
# Generator setting that caps the rows a generator trains on (it subsamples above it).
SUBSAMPLE_KEYS = {"mostlyai": "max_sample_size"}


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


# --- evaluation -----------------------------------------------------------------------


def guesses(scores: np.ndarray, tiebreak: np.ndarray, k_in: int, k_out: int) -> np.ndarray:
    """+1 for the top k_in scores, -1 for the bottom k_out, 0 (abstain) otherwise; ties broken at random."""
    order = np.lexsort((tiebreak, -scores))  # descending score, then the canary's random key
    g = np.zeros(len(scores), dtype=np.int8)
    g[order[:k_in]] = 1
    if k_out:
        g[order[len(scores) - k_out :]] = -1
    return g


def interval_family(n_attacks: int) -> int:
    """Intervals reported per cell: the headline AUC, and per attack its AUC and its TPR (1 + 2A)."""
    return 1 + 2 * n_attacks


def evaluate(
    scores: Mapping[str, np.ndarray],
    canaries: pd.DataFrame,
    job: Mapping[str, Any],
    delta: float,
    tests: int | None = None,
) -> dict[str, Any]:
    """Bounds, AUCs and TPRs for every attack; the coins are only read to count correct guesses.

    ``tests`` overrides the Bonferroni count (only the soundness tests use it, to show
    that a wrong count is caught).
    """
    keys = ("confidence", "guess_fractions", "guess_sides", "low_fpr")
    p = OneRunProtocol.from_config({k: job[k] for k in keys}, job.get("where", "audit.one_run"))
    m = len(canaries)
    y = canaries["included"].to_numpy().astype(bool)
    tb = canaries["tiebreak"].to_numpy()
    half = canaries["half"].to_numpy()
    designs = dataclasses.replace(p, m=m).designs()
    n_tests = len(designs) * len(scores) if tests is None else int(tests)
    beta = 1 - p.confidence
    alpha = beta / n_tests  # Bonferroni over every (attack, design) tried, fixed before the coins are read
    # Every interval of the cell in one family: the headline AUC + per attack its AUC and its TPR.
    n_intervals = interval_family(len(scores))
    beta_int = beta / n_intervals
    # The ceiling (every guess correct) depends on the design only.
    ceilings = {d: bounds.guessing_epsilon_lb(m, sum(d), sum(d), alpha, delta) for d in designs}
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
                    "epsilon_lb": bounds.guessing_epsilon_lb(m, r, correct, alpha, delta),
                    "ceiling": ceilings[(k_in, k_out)],
                    "gdp_mu_lb": fdp.mu_lb(m, r, correct, alpha),
                }
            )
        a, lo, hi = stats.auc_interval(y, s, beta_int)
        per_attack[name] = {
            "auc": a,
            "auc_ci_low": lo,
            "auc_ci_high": hi,
            "auc_half0": stats.auc(y[half == 0], s[half == 0]),
            "tpr_at_low_fpr": bounds.tpr_at_fpr(y, s, p.low_fpr, beta_int).to_json(),
        }
    best = max(rows, key=lambda x: (x["epsilon_lb"], x["correct"]))
    ceiling = max(rows, key=lambda x: x["ceiling"])
    best_mu = max(rows, key=lambda x: (x["gdp_mu_lb"], x["correct"]))
    r_top = ceiling["guesses"]
    mu_ceiling = fdp.mu_lb(m, r_top, r_top, alpha)
    # Headline AUC: attack chosen on half 0, evaluated on half 1 (selection does not see half 1).
    chosen = max(per_attack, key=lambda k: (np.nan_to_num(per_attack[k]["auc_half0"]), -list(scores).index(k)))
    s1 = np.asarray(scores[chosen], dtype=float)[half == 1]
    a1, lo1, hi1 = stats.auc_interval(y[half == 1], s1, beta_int)
    eps_gdp = fdp.epsilon_at_delta(best_mu["gdp_mu_lb"], delta)
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
        "interval_alpha": beta_int,
        "intervals": n_intervals,
        "gdp": {
            "mu_lb": best_mu["gdp_mu_lb"],
            "attack": best_mu["attack"],
            "guesses": best_mu["guesses"],
            "correct": best_mu["correct"],
            "mu_ceiling": mu_ceiling,
            "epsilon_at_delta": eps_gdp,
            "epsilon_at_delta_ceiling": fdp.epsilon_at_delta(mu_ceiling, delta),
            "epsilon_reason": (
                "n/a: delta = 0, a Gaussian mechanism has no finite pure epsilon"
                if eps_gdp is None
                else f"epsilon of a mu_lb-Gaussian mechanism at delta {delta:g}: an (epsilon, delta) statement only "
                "if the mechanism's trade-off curve is Gaussian (DP-SGD nearly; not randomized response)"
            ),
            "meaning": (
                f"with probability >= {p.confidence:g} over the coins, the audit run is not mu_lb-GDP under add/remove "
                f"of one canary (Mahloujifar, Melis & Chaudhuri 2025), Bonferroni over the same {n_tests} tests; a "
                "separate statement from epsilon_lb (both jointly at 1 - 2 (1 - confidence))"
            ),
        },
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


__all__ = ["ATTACK_NAMES", "NEIGHBOURING", "OneRunProtocol", "attack_scores", "draw_canaries", "evaluate", "guesses"]
