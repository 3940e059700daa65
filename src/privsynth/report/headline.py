"""The headline of each dataset: one row per configured setting, the numbers a reader decides on.

Privacy: the accountant ε (the claim) beside the audited ε lower bound (the
evidence) with its design ceiling and the audit that produced it: the one-run
canary audit covers every cell, so it is the primary number; the shadow-model
audit is shown beside it where it ran. Utility: ML utility AUC with its
bootstrap interval and where it sits between the marginals floor and the copy
ceiling (privsynth.bracket). Columns other helpers' features add (dp_check,
one_run_cannot_refute, one_run_verdict) appear when summary.csv has them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..display import fmt, truthy
from .tables import mean_ci


def _f(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _s(v: Any) -> str:
    return v.strip() if isinstance(v, str) else ""


def _pooled(g: pd.DataFrame, col: str) -> tuple[float, int]:
    m, _, _, n = mean_ci(pd.to_numeric(g[col], errors="coerce")) if col in g.columns else (math.nan, 0, 0, 0)
    return m, n


def cells(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One row per setting of ``dataset`` (repeats pooled: mean of the numbers, audit of the first repeat).

    ``number``: the setting's number in the headline table and its plot.
    """
    sub = df[df["dataset"] == dataset]
    rows = []
    for (gen, base), g in sub.groupby(["generator", "base_setting"], sort=True):
        g = g.sort_values("repeat")
        first = g.iloc[0]  # repeats beyond the first are not audited (they would rerun the same audit)
        row: dict[str, Any] = {k: first.get(k) for k in g.columns}
        row.update({"generator": gen, "setting": base, "runs": len(g)})
        for col in (
            "utility_auc",
            "utility_auc_ci_low",
            "utility_auc_ci_high",
            "utility_retained",
            "utility_retained_ci_low",
            "utility_retained_ci_high",
            "fidelity_retained",
            "qa_accuracy_overall",
            "utility_real_auc",
        ):
            row[col] = _pooled(g, col)[0]
        flags = [f for f in g.get("bracket_flag", pd.Series(dtype=str)).map(_s) if f]
        row["bracket_flag"] = flags[0] + (f" ({len(flags)} of {len(g)} runs)" if len(g) > 1 else "") if flags else ""
        row["undertrained"] = bool(g["undertrained"].any())
        row["contradiction"] = bool(g["contradiction"].any())
        row["positive_control"] = bool(g["positive_control"].any())
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        # controls first (copy, marginals), then the real generators by name
        out["_ctl"] = ~(out["positive_control"] | out["generator"].isin(["marginals", "holdout"]))
        out = out.sort_values(["_ctl", "generator", "setting"], kind="stable").drop(columns="_ctl")
        out = out.reset_index(drop=True)
        out["number"] = np.arange(1, len(out) + 1)
    return out


def audited(r: Mapping[str, Any]) -> dict[str, Any]:
    """The primary audited ε lower bound of a cell: one-run where it ran, else the shadow audit's."""
    if _s(r.get("one_run_status")) == "done" and np.isfinite(_f(r.get("one_run_epsilon_lb"))):
        return {
            "lb": _f(r.get("one_run_epsilon_lb")),
            "ceiling": _f(r.get("one_run_ceiling")),
            "audit": "one-run",
        }
    if np.isfinite(_f(r.get("audit_epsilon_lb_worst"))):
        return {"lb": _f(r.get("audit_epsilon_lb_worst")), "ceiling": math.nan, "audit": "shadow"}
    return {"lb": math.nan, "ceiling": math.nan, "audit": ""}


def _interval(v: float, lo: float, hi: float, dec: int) -> dict[str, str]:
    if not np.isfinite(v):
        return {"text": "n/a", "ci": "", "sort": ""}
    ci = f"[{fmt(lo, dec)}, {fmt(hi, dec)}]" if np.isfinite(lo) and np.isfinite(hi) else ""
    return {"text": fmt(v, dec), "ci": ci, "sort": repr(float(v))}


def table(c: pd.DataFrame) -> dict[str, Any]:
    """The headline table of one dataset (``cells``): header and rows of plain values (the template escapes)."""
    has_shadow = bool(len(c)) and any(
        np.isfinite(_f(v)) for v in c.get("audit_epsilon_lb_worst", pd.Series(dtype=float))
    )
    has_dp_check = "dp_check" in c.columns and c["dp_check"].map(_s).astype(bool).any()
    rows = []
    for _, r in c.iterrows():
        a = audited(r)
        flag = _s(r.get("bracket_flag"))
        badges = []
        if r["contradiction"]:
            badges.append(("bad", "AUDIT CONTRADICTS DP CLAIM", "audited ε lower bound above the accountant ε"))
        if r["positive_control"]:
            badges.append(("pc", "POSITIVE CONTROL", "copies the training data; every attack must catch it"))
        if r["generator"] == "holdout":
            badges.append(
                ("floor", "NEGATIVE CONTROL", "real holdout rows: no training record, every attack must fail")
            )
        if r["generator"] == "marginals":
            badges.append(
                ("floor", "UTILITY FLOOR", "every column sampled independently: no dependence, no label link")
            )
        if flag:
            badges.append(("floor-bad", "NO BETTER THAN MARGINALS", flag))
        if r["undertrained"]:
            why = _s(r.get("undertrained_reason")) or "stopped by a cap before it converged"
            badges.append(("ut", "UNDERTRAINED", why))
        if truthy(r.get("one_run_cannot_refute")):
            badges.append(
                (
                    "cr",
                    "CANNOT REFUTE",
                    "the one-run audit's ceiling is below the claimed ε: no outcome could refute it",
                )
            )
        eps = _f(r.get("epsilon"))
        eps_trained = _f(r.get("epsilon_trained"))
        verdict = _s(r.get("one_run_verdict"))
        rows.append(
            {
                "number": int(r["number"]),
                "cls": " ".join(
                    k
                    for k, on in (
                        ("positive-control", r["positive_control"]),
                        ("contradiction", r["contradiction"]),
                        ("floor-bad", bool(flag)),
                    )
                    if on
                ),
                "cell": f"{r['generator']} / {r['setting']}",
                "runs": int(r["runs"]),
                "epsilon": fmt(eps, 2) if np.isfinite(eps) else "no DP",
                "epsilon_sort": repr(eps) if np.isfinite(eps) else "",
                "epsilon_note": (
                    f"δ {fmt(_f(r.get('delta')), 1) if np.isfinite(_f(r.get('delta'))) else 'n/a'}"
                    + (f"; after the last epoch trained: {fmt(eps_trained, 2)}" if np.isfinite(eps_trained) else "")
                )
                if np.isfinite(eps)
                else "no DP accountant",
                # Issue 21: a zero bound is "no leak detected", not a number that reads like privacy.
                "lb": ("0 (no leak detected)" if a["lb"] == 0 else fmt(a["lb"], 2)) if a["audit"] else "n/a",
                "lb_sort": repr(a["lb"]) if a["audit"] else "",
                "ceiling": fmt(a["ceiling"], 2) if np.isfinite(a["ceiling"]) else "",
                "audit": a["audit"] or "not audited",
                "verdict": verdict,
                "uninformative": bool(flag) and bool(a["audit"]),
                "shadow": fmt(_f(r.get("audit_epsilon_lb_worst")), 2),
                "utility": _interval(r["utility_auc"], r["utility_auc_ci_low"], r["utility_auc_ci_high"], 3),
                "retained": _interval(
                    r["utility_retained"], r["utility_retained_ci_low"], r["utility_retained_ci_high"], 2
                ),
                "fidelity": _interval(r["fidelity_retained"], math.nan, math.nan, 2),
                "badges": badges,
                "dp_check": _s(r.get("dp_check")) or "n/a",
                "dp_check_reason": _s(r.get("dp_check_reason")),
            }
        )
    measure = next((_s(v) for v in c.get("fidelity_retained_measure", pd.Series(dtype=str)) if _s(v)), "")
    return {"rows": rows, "shadow": has_shadow, "dp_check": has_dp_check, "fidelity_measure": measure}
