"""The engine's training progress messages: log lines, why training stopped, undertraining."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# A run that ended on a cap (max_epochs, max_epsilon) while its validation loss
# still fell by more than this share in its last epoch is flagged as undertrained.
STILL_IMPROVING = 0.005


def finite(x: Any) -> float | None:
    """``x`` as a float, or None when it is missing, not a number or not finite."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def describe_message(m: Mapping[str, Any]) -> str:
    parts = [f"epoch {float(m.get('epoch') or 0):6.2f}", f"steps {m.get('steps')}"]
    for key, label in (("trn_loss", "trn_loss"), ("val_loss", "val_loss")):
        v = finite(m.get(key))
        if v is not None:
            parts.append(f"{label} {v:.4f}")
    if m.get("dp_eps") is not None:
        parts.append(f"epsilon {finite(m.get('dp_eps')) or float('nan'):.3f} (delta {m.get('dp_delta')})")
    parts.append(f"{float(m.get('total_time') or 0):.1f} s")
    if m.get("is_checkpoint"):
        parts.append("checkpoint")
    return ", ".join(parts)


def stop_reason(
    messages: list[Mapping[str, Any]], settings: Mapping[str, Any], train_step_seconds: float | None = None
) -> str:
    """Why training ended: max_epsilon, time, max_epochs or converged (early stopping on val loss).

    ``train_step_seconds``: duration of the SDK's TRAIN_MODEL step; a time cap usually
    stops training mid-epoch, after the last progress message was sent.
    """
    if not messages:
        return "no training"
    last = messages[-1]
    dp = settings["differential_privacy"]
    max_eps = dp["max_epsilon"] if dp is not None else None
    if max_eps is not None and any((finite(m.get("dp_eps")) or 0) > max_eps for m in messages):
        return "max_epsilon"
    max_min = settings["max_training_time"]
    trained = max(float(last.get("total_time") or 0), train_step_seconds or 0.0)
    if max_min is not None and trained >= max_min * 60:
        return "time"
    max_ep = settings["max_epochs"]
    if max_ep is not None and float(last.get("epoch") or 0) >= max_ep:
        return "max_epochs"
    return "converged"


def val_loss_change(messages: list[Mapping[str, Any]]) -> float | None:
    """Relative change of the validation loss over the last epoch (negative = still improving)."""
    vals = [v for v in (finite(m.get("val_loss")) for m in messages) if v is not None]
    if len(vals) < 2 or vals[-2] == 0:
        return None
    return (vals[-1] - vals[-2]) / abs(vals[-2])


def undertraining(reason: str, epochs: float, change: float | None) -> str | None:
    """Why a run is undertrained (None = it is not): a time cap, or a cap hit while still improving.

    A time cap measures seconds, not learning: the same setting reaches 1 epoch on a
    busy laptop and 9 on an idle one, so any time-capped run is flagged. The
    engine's own early stopping ("converged") is the tutorial's "trained until
    converged"; a max_epochs / max_epsilon cap is flagged when the validation
    loss still fell by more than STILL_IMPROVING in the last epoch (or there
    was no full epoch to tell).
    """
    if reason in ("no training", "time"):
        cap = "no training" if reason == "no training" else "time cap"
        return f"stopped by the {cap} after {epochs:g} epoch{'' if epochs == 1 else 's'}"
    if reason in ("max_epochs", "max_epsilon"):
        if epochs < 1 or change is None:
            return f"stopped by {reason} after {epochs:g} epochs, before the validation loss could level off"
        if change < -STILL_IMPROVING:
            return (
                f"stopped by {reason} after {epochs:g} epochs while the validation loss still fell "
                f"{-change:.1%} in the last epoch"
            )
    return None


def summarize_training(
    messages: list[Mapping[str, Any]], settings: Mapping[str, Any], train_step_seconds: float | None = None
) -> dict[str, Any]:
    """Metrics from the progress messages, as in the tutorial: values of the last checkpoint."""
    checkpoints = [m for m in messages if m.get("is_checkpoint")]
    last_ckpt = checkpoints[-1] if checkpoints else (messages[-1] if messages else {})
    last = messages[-1] if messages else {}
    reason = stop_reason(messages, settings, train_step_seconds)
    dp = settings["differential_privacy"]
    epochs = round(float(last.get("epoch") or 0), 3)
    change = val_loss_change(messages)
    why = undertraining(reason, epochs, change)
    return {
        "undertrained": why is not None,
        "undertrained_reason": why,
        "val_loss_change_last_epoch": None if change is None else round(change, 5),
        "epochs": epochs,
        "checkpoint_epoch": round(float(last_ckpt.get("epoch") or 0), 3),
        "training_seconds": round(float(last_ckpt.get("total_time") or 0), 3),
        "training_seconds_total": round(float(last.get("total_time") or 0), 3),
        "epsilon": finite(last_ckpt.get("dp_eps")) if dp is not None else None,
        "delta": finite(last_ckpt.get("dp_delta")) if dp is not None else None,
        # Accountant ε after the last epoch trained: the checkpoint was chosen after it (issue 21).
        "epsilon_trained": finite(last.get("dp_eps")) if dp is not None else None,
        "val_loss": finite(last_ckpt.get("val_loss")),
        "stop_reason": reason,
        "stopped_early": reason in ("converged", "max_epsilon", "time"),
    }
