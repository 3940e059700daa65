"""Report part of the no-box section: one table per dataset of its external cells (escaped)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from markupsafe import Markup

from .. import display
from ..audit.nobox.measures import MEANING, NO_EPSILON
from ..audit.nobox.plan import REFITTED

HEAD = [
    "generator / setting",
    "no-box status",
    "made from (members)",
    "members / non-members",
    "training records copied [interval]",
    "holdout records copied [interval]",
    "DCR share [interval]",
    "membership AUC [interval]",
    "attack",
    "claimed ε (δ), not verified",
    "shadow / one-run audit",
    "warning",
]


def _get(r: pd.Series, col: str) -> Any:
    v = r.get(col)
    return None if v is None or (isinstance(v, float) and pd.isna(v)) else v


def _share(r: pd.Series, stem: str, count: str) -> str:
    n = _get(r, count)
    if n is None:
        return "n/a"
    share = display.num(_get(r, f"{stem}_share"))
    lo, hi = display.num(_get(r, f"{stem}_ci_low")), display.num(_get(r, f"{stem}_ci_high"))
    return f"{display.num(n, 0)} ({share}) [{lo}, {hi}]"


def _interval(r: pd.Series, col: str) -> str:
    v = _get(r, col)
    if v is None:
        return "n/a"
    return f"{display.num(v)} [{display.num(_get(r, f'{col}_ci_low'))}, {display.num(_get(r, f'{col}_ci_high'))}]"


def _claim(r: pd.Series) -> str:
    e, d = _get(r, "claimed_epsilon"), _get(r, "claimed_delta")
    if e is None and d is None:
        return "none"
    return f"{display.num(e)} ({display.num(d, 6) if d is not None else 'n/a'})"


def rows(df: pd.DataFrame, dataset: str) -> list[list[str]]:
    if "nobox_status" not in df.columns:
        return []
    sub = df[(df["dataset"].astype(str) == dataset) & df["nobox_status"].notna()]
    sub = sub[sub["nobox_status"].astype(str) != REFITTED]
    out = []
    for _, r in sub.iterrows():
        audits = " / ".join(str(_get(r, c) or "n/a") for c in ("audit_status", "one_run_status"))
        out.append(
            [
                f"{r['generator']}/{r['setting']}",
                str(r["nobox_status"]),
                str(_get(r, "nobox_trained_on") or "n/a"),
                f"{display.num(_get(r, 'nobox_members'), 0)} / {display.num(_get(r, 'nobox_nonmembers'), 0)}",
                _share(r, "nobox_train_copy", "nobox_train_copies"),
                _share(r, "nobox_holdout_copy", "nobox_holdout_copies"),
                _interval(r, "nobox_dcr_share"),
                _interval(r, "nobox_auc"),
                str(_get(r, "nobox_auc_attack") or "n/a"),
                _claim(r),
                audits,
                str(_get(r, "nobox_warning") or ""),
            ]
        )
    return out


def html_section(df: pd.DataFrame, dataset: str) -> Markup:
    """The no-box table of ``dataset`` and what each measure does and does not show; "" if it has none."""
    body = rows(df, dataset)
    if not body:
        return Markup("")
    conf = pd.to_numeric(df.get("nobox_confidence"), errors="coerce").dropna()
    page = display.environment().get_template("nobox_table.html.j2")
    return Markup(
        page.render(
            dataset=dataset,
            head=HEAD,
            rows=body,
            meaning=MEANING,
            no_epsilon=NO_EPSILON,
            confidence=f"{conf.iloc[0]:g}" if len(conf) else "n/a",
        )
    )


__all__ = ["html_section", "rows"]
