"""Hand-written statistics replaced by library calls give the numbers the old code gave, to the bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from privsynth.audit.common import stats
from privsynth.eda import association_matrix, cramers_v


def _old_cramers_v(a: np.ndarray, ka: int, b: np.ndarray, kb: int) -> float:
    # privsynth.eda before scipy.stats.contingency.association
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    n = table.sum()
    if n == 0 or min(table.shape) < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / n / (min(table.shape) - 1)))


def _old_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    # privsynth.audit.stats / bounds (now privsynth.audit.common.stats) before scipy.stats.mannwhitneyu
    labels = np.asarray(labels).astype(bool)
    n1, n0 = labels.sum(), (~labels).sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = sps.rankdata(scores)
    return float((r[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def test_cramers_v_equals_the_hand_written_one() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        ka, kb = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        n = int(rng.integers(1, 300))
        a = rng.integers(0, ka, n)
        b = (a + rng.integers(0, 2, n)) % kb if rng.random() < 0.5 else rng.integers(0, kb, n)
        assert cramers_v(a, ka, b, kb) == _old_cramers_v(a, ka, b, kb)


def test_association_matrix_on_a_fixed_table() -> None:
    df = pd.DataFrame({"c": list("aabbccaabb") * 3, "d": list("xyxyxyxyyy") * 3, "n": np.arange(30.0)})
    m = association_matrix(df, {"c": "categorical", "d": "categorical", "n": "numeric"})
    assert m.loc["c", "d"] == m.loc["d", "c"] == 0.25  # the old code's value on this table
    assert np.allclose(np.diag(m), 1.0)


def test_auc_equals_the_hand_written_one() -> None:
    rng = np.random.default_rng(1)
    for i in range(300):
        n = int(rng.integers(2, 200))
        y = rng.integers(0, 2, n)
        s = rng.normal(size=n) if i % 2 else rng.integers(0, 4, n).astype(float)  # ties
        if i % 3 == 0:
            s = s.astype(np.float32)  # attacks' scores are often float32: the AUC stays float64
        old = _old_auc(y, s)
        new = stats.auc(y, s)
        assert (np.isnan(old) and np.isnan(new)) or (new == old and type(new) is float)
