"""The DP claim checked from above: each DP cell's ε recomputed from its training trace.

A generator that trains with DP-SGD reports a *trace* (``metrics["dp_trace"]``):
the noise multiplier, δ, the sampling rate and steps its accountant saw, how
batches were sampled, which accountant it used and the other parts of its ε
(e.g. MOSTLY AI's value protection).  ``check`` recomputes the DP-SGD part with
Opacus's RDP and PRV accountants, adds the documented parts (basic composition)
and compares the totals with the claimed ε (docs/accounting.md):

- ``agrees``: the claim is within ``TOLERANCE`` of the smallest recomputation;
- ``tighter available``: an accountant certifies an ε below the claim (shown);
- ``MISMATCH``: the claim is below every recomputation: the generator promises
  more privacy than its own trace supports;
- ``n/a`` with the reason (no DP claim, no trace, trace incomplete, not Poisson).

Google's dp-accounting (PLD) is not used: 0.6.0 would downgrade attrs 26 -> 23.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

log = logging.getLogger("privsynth.accounting")

TOLERANCE = 0.02  # relative; PRV's own error (eps_error 0.01) is far below it at these ε
ACCOUNTANTS = ("rdp", "prv")
PART_LABELS = {"dp_sgd": "DP-SGD", "value_protection": "value protection"}
# What a trace must name for the DP-SGD part to be recomputed.
REQUIRED = ("noise_multiplier", "delta", "sample_rate", "steps", "sampling", "accountant")
STATUSES = ("agrees", "tighter available", "MISMATCH", "n/a")


def history(trace: Mapping[str, Any]) -> list[tuple[float, float, int]]:
    """The accountant's history ``[(noise multiplier, sampling rate, steps), ...]`` of the trace."""
    if trace.get("history"):
        return [(float(s), float(q), int(k)) for s, q, k in trace["history"]]
    return [(float(trace["noise_multiplier"]), float(trace["sample_rate"]), int(trace["steps"]))]


def sgd_epsilon(accountant: str, hist: Iterable[tuple[float, float, int]], delta: float) -> float:
    """ε of Poisson-subsampled Gaussian steps at ``delta`` with one of Opacus's accountants."""
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    acc.history = [(float(s), float(q), int(k)) for s, q, k in hist if int(k) > 0]
    if not acc.history:
        return 0.0
    return float(acc.get_epsilon(delta=float(delta)))


def other_parts(trace: Mapping[str, Any]) -> dict[str, float]:
    """The documented non-DP-SGD parts of ε (pure ε-DP pre-processing, composed by addition)."""
    return {k: float(v) for k, v in (trace.get("parts") or {}).items() if k != "dp_sgd" and v}


def parts_text(parts: Mapping[str, float]) -> str:
    return " + ".join(f"{PART_LABELS.get(k, k)} {v:.3f}" for k, v in parts.items())


def _na(reason: str) -> dict[str, Any]:
    return {"dp_check": "n/a", "dp_check_reason": reason, "dp_epsilon_rdp": None, "dp_epsilon_prv": None}


def check(
    trace: Mapping[str, Any] | None,
    claimed: float | None,
    accountants: Iterable[str] = ACCOUNTANTS,
    tolerance: float = TOLERANCE,
) -> dict[str, Any]:
    """The check of one claim: flat ``dp_*`` values plus ``dp_recomputed`` (per accountant).

    ``claimed``: the ε the generator reports for its release (DP-SGD plus the trace's parts).
    """
    if claimed is None or not math.isfinite(float(claimed)):
        return _na("no DP claim (no accountant ε)")
    if not trace:
        return _na("the generator reports an ε but no training trace")
    missing = [k for k in REQUIRED if trace.get(k) is None]
    if missing:
        return _na(f"trace incomplete: no {', '.join(missing)}")
    if str(trace["sampling"]).lower() != "poisson":
        return _na(f"{trace['sampling']} batches: the Poisson-subsampling accountants do not apply")
    hist = history(trace)
    if not all(0 < q <= 1 and s > 0 for s, q, _ in hist):
        return _na(f"trace has a sampling rate outside (0, 1] or no noise: {hist}")
    try:
        import opacus  # noqa: F401
    except ImportError:
        return _na("opacus is not installed in this job's environment")
    claimed = float(claimed)
    extra = other_parts(trace)
    base = sum(extra.values())
    delta = float(trace["delta"])
    recomputed: dict[str, dict[str, float]] = {}
    for acc in accountants:
        sgd = sgd_epsilon(acc, hist, delta)
        recomputed[acc] = {"dp_sgd": round(sgd, 4), "total": round(sgd + base, 4)}
        trained = trace.get("steps_trained")
        if trained is not None and int(trained) != sum(k for _, _, k in hist):
            # Everything trained, the checkpoint's successors included (same rate and noise).
            s, q, _ = hist[-1]
            done = sum(k for _, _, k in hist[:-1])
            rest = int(trained) - done
            tsgd = sgd_epsilon(acc, [*hist[:-1], (s, q, rest)], delta) if rest > 0 else sgd
            recomputed[acc]["total_trained"] = round(tsgd + base, 4)
    totals = {a: r["total"] for a, r in recomputed.items()}
    sgds = {a: r["dp_sgd"] for a, r in recomputed.items()}
    best_acc = min(sgds, key=sgds.get)
    best, best_total = sgds[best_acc], totals[best_acc]
    named = str(trace["accountant"]).lower()
    parts = {"dp_sgd": round(recomputed.get(named, recomputed[best_acc])["dp_sgd"], 4), **extra}
    claimed_sgd = claimed - base
    claimed_parts = {"dp_sgd": round(claimed_sgd, 4), **extra}
    # Compared on the DP-SGD part, the only one recomputed (the documented parts would dilute
    # a wrong rate); an engine that rounds ε (MOSTLY AI: 2 decimals) gets that much slack too.
    slack = max(tolerance * best, float(trace.get("claim_rounding") or 0.0))
    own = sgds.get(named)
    if claimed_sgd < best - slack:
        status = "MISMATCH"
        reason = (
            f"claimed ε {claimed:.3f} is below every recomputation from the trace "
            f"({', '.join(f'{a.upper()} {v:.3f}' for a, v in totals.items())}): the claim is not supported"
        )
    elif best < claimed_sgd - max(tolerance * claimed_sgd, slack):
        status = "tighter available"
        reason = f"{best_acc.upper()} certifies ε {best_total:.3f} for the same run (claim {claimed:.3f})"
        if own is not None and abs(own - claimed_sgd) > slack:
            reason += f"; its own {named.upper()} accountant recomputes {totals[named]:.3f}: a part is missing?"
    else:
        status = "agrees"
        reason = f"claim {claimed:.3f} = {best_acc.upper()} recomputation {best_total:.3f} (DP-SGD part within {tolerance:.0%})"
        if own is not None and best_acc != named and abs(own - claimed_sgd) > slack:
            reason += f"; not with the named {named.upper()} accountant ({totals[named]:.3f})"
    return {
        "dp_check": status,
        "dp_check_reason": reason,
        "dp_epsilon_rdp": totals.get("rdp"),
        "dp_epsilon_prv": totals.get("prv"),
        "dp_epsilon_parts": parts_text(parts),
        "dp_epsilon_claimed_parts": parts_text(claimed_parts),
        "dp_recomputed": recomputed,
    }


def annotate(metrics: MutableMapping[str, Any]) -> dict[str, Any]:
    """Add the check of ``metrics``' claim (``epsilon``, ``dp_trace``) to it; log it, MISMATCH loudly."""
    result = check(metrics.get("dp_trace"), metrics.get("epsilon"))
    metrics.update(result)
    trace = metrics.get("dp_trace")
    if trace:  # flat copies for summary.csv (the nested trace stays in metrics.json)
        metrics["dp_sample_rate"] = trace.get("sample_rate")
        metrics["dp_steps"] = trace.get("steps")
        metrics["dp_rows_sampled_from"] = trace.get("rows_sampled_from")
        metrics["dp_not_covered"] = "; ".join(not_covered(trace))
    cell = "/".join(str(metrics.get(k, "?")) for k in ("dataset", "generator", "setting"))
    if result["dp_check"] == "MISMATCH":
        log.warning("DP CLAIM MISMATCH (%s): %s", cell, result["dp_check_reason"])
    elif metrics.get("epsilon") is not None:
        log.info("DP check (%s): %s: %s", cell, result["dp_check"], result["dp_check_reason"])
    return result


def not_covered(trace: Mapping[str, Any] | None) -> list[str]:
    """What this cell's ε does not cover, from its trace (the generator's own lines first)."""
    if not trace:
        return []
    lines = list(trace.get("not_covered") or [])
    val = trace.get("validation_rows")
    if val:
        used = int(val) + int(trace.get("rows_sampled_from") or 0)
        lines.insert(
            0,
            f"{int(val):,} validation rows ({int(val) / used:.0%} of the {used:,} the engine used) steer early "
            "stopping and the checkpoint choice without DP: they are not protected",
        )
    return lines
