"""What a one-run audit result says, in words and flags (issue 21, item 8).

* ε_lb = 0 is "no leak detected (bound 0, ceiling X at δ)", never a bare 0.000: it is no
  evidence of privacy, only that this design found nothing it could certify.
* A claimed ε above the design's ceiling can never be refuted by this audit:
  flagged "cannot refute the claimed ε".
* The claim compared with is the accountant ε after the **last epoch trained**
  (``epsilon_trained``: the engine spent budget on epochs after the checkpoint it
  released, and chose that checkpoint after them), with the checkpoint's ε beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LIMITS = (
    "ε_lb = 0 is no evidence of privacy (the attacks found nothing they can certify); only membership of the "
    "canaries is tested (a leak confined to a few records, attribute inference and reconstruction are invisible); "
    "when the release is the audit run its training set over-represents the outlier canaries."
)


def claimed_epsilon(meta: Mapping[str, Any]) -> tuple[float | None, str]:
    """The ε the audit is compared with, and where it comes from."""
    trained, ckpt = meta.get("epsilon_trained"), meta.get("epsilon")
    if trained is not None:
        return float(trained), "accountant epsilon after the last epoch trained (epsilon_trained)"
    if ckpt is not None:
        return float(ckpt), "accountant epsilon of the released checkpoint (no epsilon_trained recorded)"
    return None, "no DP claim"


def verdict(epsilon_lb: float, ceiling: float, delta: float, claimed: float | None) -> dict[str, Any]:
    """Sentence and flags for one cell; every number with its δ and what it means."""
    at = f"at δ = {delta:g}"
    if epsilon_lb > 0:
        text = f"not ({epsilon_lb:.3g}, {delta:g})-DP under add/remove of one canary (ceiling {ceiling:.3g} {at})"
    else:
        text = f"no leak detected (bound 0, ceiling {ceiling:.3g} {at})"
    contradicts = claimed is not None and epsilon_lb > claimed
    cannot_refute = claimed is not None and not contradicts and ceiling < claimed
    flags = []
    if contradicts:
        flags.append(f"contradicts the claimed ε {claimed:.3g}")
    if cannot_refute:
        flags.append(
            f"cannot refute the claimed ε: ceiling {ceiling:.3g} {at} is below the claimed ε {claimed:.3g}; "
            "raise m or lower the number of tests"
        )
    return {
        "verdict": text + ("; " + "; ".join(flags) if flags else ""),
        "flags": flags,
        "contradicts_dp_claim": bool(contradicts),
        "cannot_refute": bool(cannot_refute),
    }


__all__ = ["LIMITS", "claimed_epsilon", "verdict"]
