"""Real vs synthetic, per column and per pair of columns: marginal distances (TVD) and associations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats.contingency import association


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _categorical_like(real: pd.Series, max_levels: int) -> bool:
    return not _is_numeric(real) or real.nunique(dropna=True) <= max_levels


def _tvd_categorical(a: pd.Series, b: pd.Series) -> float:
    pa = a.astype("object").where(a.notna(), "(missing)").value_counts(normalize=True)
    pb = b.astype("object").where(b.notna(), "(missing)").value_counts(normalize=True)
    idx = pa.index.union(pb.index)
    return float(0.5 * (pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).abs().sum())


def bins(real: pd.Series, n: int = 30) -> np.ndarray:
    lo, hi = np.nanquantile(real.to_numpy(float), [0.005, 0.995])
    if not np.isfinite(lo) or not np.isfinite(hi) or lo == hi:
        lo, hi = float(real.min()), float(real.max()) + 1.0
    return np.linspace(lo, hi, n + 1)


def _tvd_numeric(a: pd.Series, b: pd.Series, edges: np.ndarray) -> float:
    # Outside values go to the edge bins so every row counts.
    ca = np.histogram(np.clip(a.dropna().to_numpy(float), edges[0], edges[-1]), edges)[0]
    cb = np.histogram(np.clip(b.dropna().to_numpy(float), edges[0], edges[-1]), edges)[0]
    pa = np.append(ca, a.isna().sum()) / max(len(a), 1)
    pb = np.append(cb, b.isna().sum()) / max(len(b), 1)
    return float(0.5 * np.abs(pa - pb).sum())


def column_summary(real: pd.DataFrame, syn: pd.DataFrame, max_levels: int = 20) -> pd.DataFrame:
    """Per-column real vs synthetic statistics, with the total variation distance of the marginal."""
    rows = []
    for col in real.columns:
        r, s = real[col], syn[col] if col in syn else pd.Series(dtype=real[col].dtype)
        row: dict[str, Any] = {
            "column": col,
            "missing real": r.isna().mean(),
            "missing synthetic": s.isna().mean(),
            "distinct real": r.nunique(),
            "distinct synthetic": s.nunique(),
        }
        if _categorical_like(r, max_levels):
            row["kind"] = "categorical"
            row["TVD"] = _tvd_categorical(r, s)
            top = r.astype("object").mode()
            if len(top):
                row["top value"] = str(top.iloc[0])
                row["top share real"] = float((r == top.iloc[0]).mean())
                row["top share synthetic"] = float((s.astype("object") == top.iloc[0]).mean())
        else:
            row["kind"] = "numeric"
            row["TVD"] = _tvd_numeric(r, pd.to_numeric(s, errors="coerce"), bins(r))
            sn = pd.to_numeric(s, errors="coerce")
            row.update(
                {"mean real": r.mean(), "mean synthetic": sn.mean(), "std real": r.std(), "std synthetic": sn.std()}
            )
        rows.append(row)
    return pd.DataFrame(rows)


def association_matrix(df: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """|Spearman| between numeric columns, Cramér's V otherwise (values in [0, 1])."""
    cols = list(df.columns)
    # Integer codes once per column (numeric columns as deciles) so each pair is one bincount.
    codes = {c: _codes(df[c], kinds[c] == "numeric") for c in cols}
    m = pd.DataFrame(np.eye(len(cols)), index=cols, columns=cols)
    num = [c for c in cols if kinds[c] == "numeric"]
    if len(num) > 1:
        sp = df[num].apply(pd.to_numeric, errors="coerce").corr(method="spearman").abs()
        m.loc[num, num] = sp.to_numpy()
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            if kinds[a] == "numeric" and kinds[b] == "numeric":
                continue
            m.loc[a, b] = m.loc[b, a] = cramers_v(*codes[a], *codes[b])
    return m.fillna(0.0)


def _codes(s: pd.Series, numeric: bool) -> tuple[np.ndarray, int]:
    if numeric:
        x = pd.to_numeric(s, errors="coerce")
        try:
            s = pd.qcut(x, 10, duplicates="drop")
        except ValueError:
            s = x
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes)  # missing values are a level of their own
    return codes.astype(np.int64), len(uniques) + 1


def cramers_v(a: np.ndarray, ka: int, b: np.ndarray, kb: int) -> float:
    """Cramér's V of two integer-coded columns (``ka``/``kb`` levels), without continuity correction."""
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    if table.sum() == 0 or min(table.shape) < 2:
        return 0.0
    return float(association(table, method="cramer", correction=False))
