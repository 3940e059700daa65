"""The report's "DP claims checked" table: per DP cell the claim from above and from below.

One line per cell with a claimed ε: the claim (and the ε of everything trained), its
independent recomputation per accountant (privsynth.accounting, from the cell's
training trace), the parts it is made of, the check's status and the one-run
audit's lower bound; then what the guarantee does not cover, per cell.  Read from
the summary frame only, so cells without a trace or an audit show n/a.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..display import num


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)


def cross_cell(df: pd.DataFrame, r: pd.Series) -> list[str]:
    """Gaps that only the whole grid shows: repeats, the audit's own fit, selection across settings."""
    eps = pd.to_numeric(df["epsilon"], errors="coerce")
    out = []
    base = r.get("base_setting", r["setting"])
    same = df[(df["dataset"] == r["dataset"]) & (df["generator"] == r["generator"])]
    reps = int((same.get("base_setting", same["setting"]) == base).sum())
    e = float(pd.to_numeric(r["epsilon"], errors="coerce"))
    if reps > 1:
        out.append(f"{reps} repeats of this setting are released from the same rows: together up to {reps * e:.2f}")
    if _text(r.get("one_run_audit_run")) == "separate fit":
        out.append(f"the one-run audit trained another model on the same rows: with it up to {2 * e:.2f}")
    ds = df[df["dataset"] == r["dataset"]]
    dp = ds[eps.loc[ds.index].notna()]
    plain = len(ds) - len(dp)
    if len(dp) > 1 or plain:
        line = (
            f"choosing among this dataset's {len(ds)} settings after seeing results: covered only by the sum "
            f"of the DP settings' ε ({eps.loc[dp.index].sum():.2f})"
        )
        if plain:
            line += f", and not at all while {plain} setting(s) without DP trained on the same rows are released"
        out.append(line)
    return out


def rows(df: pd.DataFrame, dataset: str) -> list[dict[str, Any]]:
    """The table's lines for one dataset (empty without DP cells)."""
    if "epsilon" not in df.columns:
        return []
    eps = pd.to_numeric(df["epsilon"], errors="coerce")
    out = []
    for _, r in df[(df["dataset"] == dataset) & eps.notna()].iterrows():
        status = _text(r.get("dp_check")) or "n/a"
        gaps = [g for g in _text(r.get("dp_not_covered")).split("; ") if g] + cross_cell(df, r)
        out.append(
            {
                "cell": f"{r['generator']}/{r['setting']}",
                "claimed": num(r.get("epsilon"), 3),
                "trained": num(r.get("epsilon_trained"), 3),
                "rdp": num(r.get("dp_epsilon_rdp"), 3),
                "prv": num(r.get("dp_epsilon_prv"), 3),
                "parts": _text(r.get("dp_epsilon_parts")) or "n/a",
                "status": status,
                "mismatch": status == "MISMATCH",
                "reason": _text(r.get("dp_check_reason")) or "not checked (no check in this cell's metrics)",
                "lb": "0 (no leak detected)"
                if pd.to_numeric(r.get("one_run_epsilon_lb"), errors="coerce") == 0
                else num(r.get("one_run_epsilon_lb"), 3),
                "ceiling": num(r.get("one_run_ceiling"), 2),
                "gaps": gaps,
            }
        )
    return out
