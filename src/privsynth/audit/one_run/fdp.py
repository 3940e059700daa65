"""Gaussian-DP (f-DP) analysis of the one-run guessing game (Mahloujifar, Melis & Chaudhuri,
"Auditing f-Differential Privacy in One Run", 2025; arXiv:2410.22235).

Same game as ``bounds`` (m canaries with fair coins, r guesses, v correct), a different
hypothesis: the mechanism is **μ-GDP** (its trade-off curve is at least
G_μ(x) = Φ(Φ⁻¹(1 − x) − μ)).  The paper's recursion bounds the probability of v or more
correct guesses for any f-DP mechanism; ``rejects`` implements it for
f = G_μ and ``mu_lb`` returns the largest μ rejected at level ``alpha``.

What it means: "the audit run is not μ_lb-GDP under add/remove of one canary", at
the stated confidence.  ``epsilon_at_delta`` converts μ to the ε of a Gaussian
mechanism at δ (Balle & Wang 2018 / Dong, Roth & Su 2022): that ε is an
(ε, δ) statement **only if** the mechanism's trade-off curve is Gaussian, which
DP-SGD's nearly is and randomized response (pure ε-DP, tests/plugins/rr_canary) is
not; for pure ε-DP mechanisms compare μ_lb with ``mu_of_pure_dp(ε)`` instead.
"""

from __future__ import annotations

import math

from scipy import special

_STEPS = 40
MU_MAX = 40.0


def _inverse_blowup(x: float, mu: float) -> float:
    # For G_mu: the smallest "in"-error probability compatible with "out"-error x, Φ(Φ⁻¹(x) − μ).
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return float(special.ndtr(special.ndtri(x) - mu))


def rejects(m: int, r: int, v: int, mu: float, alpha: float) -> bool:
    """True when v correct of r guesses (m canaries) has probability < alpha under every μ-GDP mechanism."""
    if not 0 <= v <= r <= m:
        raise ValueError(f"need 0 <= v <= r <= m, got v={v}, r={r}, m={m}")
    if v == 0:
        return False
    tau = alpha * r / m
    s, h = tau * v / r, tau * (r - v) / r  # probability mass of the correct / wrong guesses at the tail
    for i in range(v - 1, -1, -1):
        h_next = max(h, _inverse_blowup(s, mu))
        s = s + (i / (r - i)) * (h_next - h)
        h = h_next
    return s + h > r / m


def mu_lb(m: int, r: int, v: int, alpha: float) -> float:
    """Largest μ rejected at level alpha (0.0 when μ = 0, perfect privacy, is not rejected)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if r == 0 or not rejects(m, r, v, 0.0, alpha):
        return 0.0
    lo, hi = 0.0, 1.0
    while rejects(m, r, v, hi, alpha):
        lo, hi = hi, hi * 2
        if hi > MU_MAX:
            return lo
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        if rejects(m, r, v, mid, alpha):
            lo = mid
        else:
            hi = mid
    return lo


def delta_of(mu: float, eps: float) -> float:
    """δ(ε) of a μ-GDP mechanism: Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2)."""
    if mu <= 0:
        return 0.0
    a = float(special.ndtr(-eps / mu + mu / 2))
    b = math.exp(eps + float(special.log_ndtr(-eps / mu - mu / 2)))
    return max(a - b, 0.0)


def epsilon_at_delta(mu: float, delta: float) -> float | None:
    """ε of a μ-Gaussian mechanism at δ (None at δ = 0: a Gaussian mechanism has no finite pure ε)."""
    if delta <= 0:
        return None
    if mu <= 0 or delta_of(mu, 0.0) <= delta:
        return 0.0
    lo, hi = 0.0, 1.0
    while delta_of(mu, hi) > delta:
        lo, hi = hi, hi * 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if delta_of(mu, mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi


def mu_of_pure_dp(eps: float) -> float:
    """Smallest μ for which ε-DP randomized response is μ-GDP: 2 Φ⁻¹(e^ε / (1 + e^ε))."""
    return 2.0 * float(special.ndtri(1.0 / (1.0 + math.exp(-eps))))


__all__ = ["delta_of", "epsilon_at_delta", "mu_lb", "mu_of_pure_dp", "rejects"]
