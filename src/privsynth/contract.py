"""What a synthesis job checks before it writes: controls keep their contract, metrics keep the cell's identity.

A control's contract is checked on its output, never assumed: a negative control
(``holdout``) that was pointed at the training split would otherwise be reported as
"no leak" while releasing every training row, and a positive control that does not
release them would make every attack look weak.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .errors import GeneratorError

# Fields privsynth writes into metrics.json: a generator's metrics() must not overwrite them
# (summary.csv identifies the cell by them and the report trusts them).
RESERVED = frozenset(
    {
        "dataset",
        "generator",
        "setting",
        "base_setting",
        "repeat",
        "seed",
        "train_rows",
        "rows",
        "fit_seconds",
        "sample_seconds",
        "runtime_seconds",
        "cuda_visible_devices",
        "status",
    }
)
# A generator may declare itself a control from metrics() too; the declaration is checked.
CONTROL_KEYS = ("positive_control", "negative_control")


def merge_metrics(own: dict[str, Any], extra: Any, name: str) -> dict[str, Any]:
    """``own`` (privsynth's fields) plus a generator's ``metrics()``, refused on collisions or bad types."""
    if not isinstance(extra, Mapping):
        raise GeneratorError(f"{name}: metrics() returned {type(extra).__name__}, not a dict")
    clash = sorted(str(k) for k in extra if k in RESERVED or not isinstance(k, str))
    if clash:
        raise GeneratorError(
            f"{name}: metrics() sets {', '.join(map(repr, clash))}, reserved for privsynth's cell identity and "
            f"timings; rename the key (e.g. {name}_{clash[0]})"
        )
    out = dict(own)
    for key, value in extra.items():
        if key in CONTROL_KEYS:
            if not isinstance(value, bool):
                raise GeneratorError(f"{name}: metrics() {key} must be true or false, got {value!r}")
            out[key] = bool(out.get(key)) or value
            continue
        if key == "epsilon":
            _check_epsilon(value, name)
        elif key == "delta" and value is not None:
            if not _number(value) or not 0 <= float(value) <= 1:
                raise GeneratorError(f"{name}: metrics() delta must be a number in [0, 1] or null, got {value!r}")
        try:
            json.dumps(value, allow_nan=True, default=_np_scalar)
        except (TypeError, ValueError):
            raise GeneratorError(
                f"{name}: metrics() {key} is a {type(value).__name__}, not a JSON value (number, text, list, dict)"
            ) from None
        out[key] = value
    if out.get("positive_control") and out.get("negative_control"):
        raise GeneratorError(f"{name}: declares itself both a positive and a negative control")
    return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_epsilon(value: Any, name: str) -> None:
    if value is None:
        return
    if not _number(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise GeneratorError(f"{name}: metrics() epsilon must be a finite number >= 0 or null, got {value!r}")


def _np_scalar(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(type(obj).__name__)


def row_hashes(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One hash per row of ``columns``, equal for equal values whatever the dtype (1 and 1.0, category and str)."""
    canon = pd.DataFrame({c: df[c].astype(object).map(_canon) for c in columns})
    return pd.util.hash_pandas_object(canon, index=False).to_numpy()


def _canon(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "\x00na"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v.item() if isinstance(v, np.generic) else v)


def natural_match_rate(train_hashes: np.ndarray) -> float:
    """Share of training rows whose record another training row also has.

    A leave-one-out estimate of how often a fresh record of the population equals
    some training record (identical records of different people: census has a few).
    """
    if len(train_hashes) < 2:
        return 0.0
    return float(pd.Series(train_hashes).duplicated(keep=False).mean())


def check_control(
    kind: str,
    syn: pd.DataFrame,
    train: pd.DataFrame,
    columns: list[str],
    name: str,
    where: str,
    train_path: str,
    source: str | None = None,
) -> dict[str, Any]:
    """Refuse a control whose output breaks its contract; return what was measured (metrics fields).

    ``kind`` is "negative" (output shares no record with the training split beyond the
    rate identical records of different people explain) or "positive" (output is
    training records, all of them when at least as many rows are asked for).
    ``source``: the file the control draws its rows from (``settings.path``), named in the fix.
    """
    th, sh = row_hashes(train, columns), row_hashes(syn, columns)
    in_train = np.isin(sh, th)
    matched = int(in_train.sum())
    if kind == "negative":
        p = natural_match_rate(th)
        expected = len(sh) * p
        # Generous (2x the rate plus 4 sigma): only a real leak should fail; 0 when records are unique.
        allowed = int(math.floor(2 * expected + 4 * math.sqrt(expected * (1 - p))))
        if matched > allowed:
            raise GeneratorError(
                f"{where}: negative control {name} released {matched} of {len(sh)} rows equal to records of the "
                f"training split {train_path} (at most {allowed} expected from identical records of different "
                f"people); a negative control must share no record with training: "
                + (
                    f"point {where}.path (now {source}) at rows disjoint from training (e.g. the holdout split)"
                    if source
                    else "its generator must not copy training records"
                )
            )
        return {"control_check": "passed", "control_rows_in_train": matched, "control_rows_allowed": allowed}
    covered = len(np.unique(sh[in_train]))
    unique_train = len(np.unique(th))
    if matched < len(sh) or (len(sh) >= len(th) and covered < unique_train):
        raise GeneratorError(
            f"{where}: positive control {name} released {matched} of {len(sh)} rows equal to records of the training "
            f"split {train_path}, covering {covered} of its {unique_train} distinct records; a positive control must "
            "reproduce the training split"
        )
    return {"control_check": "passed", "control_rows_in_train": matched, "control_rows_allowed": len(sh)}
