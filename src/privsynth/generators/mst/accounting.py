"""zCDP accounting of MST: (epsilon, delta) -> rho, and rho split over MST's three steps.

MST (McKenna, Miklau & Sheldon 2021) is analysed in zero-concentrated DP (Bun &
Steinke 2016) under add/remove-one-record neighbours.  The target (epsilon, delta)
is turned into the largest rho whose rho-zCDP guarantee implies it, with the
conversion of Canonne, Kamath & Steinke 2020 ("The discrete Gaussian for
differential privacy", Prop. 12 / Cor. 13), the one the reference implementation
(private-pgm, mechanisms/cdp2adp.py) uses:

    delta(rho, eps) = inf_{a > 1} exp((a - 1)(a rho - eps)) / (a - 1) * (1 - 1/a)^a

Every alpha > 1 gives a valid bound, so where the numerics are inexact they err
on the safe side (a larger delta, hence a smaller rho).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from scipy.optimize import brentq

# alpha below this is numerically unstable and only optimal for eps <~ rho (useless regimes)
_ALPHA_MIN = 1.01


def _log_delta_at(alpha: float, rho: float, eps: float) -> float:
    return (alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1 / alpha) - math.log(alpha - 1)


def cdp_delta(rho: float, eps: float) -> float:
    """Smallest delta such that rho-zCDP implies (eps, delta)-DP (CKS 2020 bound)."""
    if rho < 0 or eps < 0:
        raise ValueError(f"cdp_delta: rho and eps must be >= 0 (got {rho}, {eps})")
    if rho == 0:
        return 0.0

    # The exponent is convex in alpha; its derivative (2a - 1) rho - eps + log(1 - 1/a)
    # increases, so its root (the best alpha) is found by bracketing.
    def slope(a: float) -> float:
        return (2 * a - 1) * rho - eps + math.log1p(-1 / a)

    hi = (eps + 1) / (2 * rho) + 2
    alpha = _ALPHA_MIN if slope(_ALPHA_MIN) >= 0 else brentq(slope, _ALPHA_MIN, hi, xtol=1e-12, maxiter=500)
    return min(1.0, math.exp(_log_delta_at(alpha, rho, eps)))


def cdp_rho(eps: float, delta: float) -> float:
    """Largest rho such that rho-zCDP implies (eps, delta)-DP."""
    if eps < 0 or not 0 < delta:
        raise ValueError(f"cdp_rho: need eps >= 0 and delta > 0 (got {eps}, {delta})")
    if delta >= 1:
        raise ValueError("cdp_rho: delta >= 1 is no privacy guarantee")
    lo, hi = 0.0, eps + 1.0  # cdp_delta(lo) <= delta < cdp_delta(hi)
    for _ in range(200):  # bisection to float precision; returns the side that satisfies delta
        mid = (lo + hi) / 2
        if cdp_delta(mid, eps) <= delta:
            lo = mid
        else:
            hi = mid
    return lo


def cdp_eps(rho: float, delta: float) -> float:
    """Smallest eps such that rho-zCDP implies (eps, delta)-DP."""
    if rho < 0 or not 0 < delta < 1:
        raise ValueError(f"cdp_eps: need rho >= 0 and 0 < delta < 1 (got {rho}, {delta})")
    if rho == 0:
        return 0.0
    lo, hi = 0.0, rho + 2 * math.sqrt(rho * math.log(1 / delta))  # the standard bound is valid
    for _ in range(200):
        mid = (lo + hi) / 2
        if cdp_delta(rho, mid) <= delta:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class Budget:
    """MST's split of rho: a third each to the 1-way measurements, the tree selection, the 2-way measurements.

    Gaussian noise of standard deviation ``sigma`` on a count vector of L2
    sensitivity 1 is 1/(2 sigma^2)-zCDP.  MST measures the k marginals of one step
    with equal weights normalised to unit L2 norm, i.e. noise ``sigma * sqrt(k)``
    on each, so the step costs 1/(2 sigma^2) = rho/3 whatever k is.  The
    selection runs ``edges`` exponential mechanisms, each eps_em-DP, hence
    eps_em^2/8-zCDP (Cesar & Rogers 2021): eps_em = sqrt(8 (rho/3) / edges).
    """

    epsilon: float
    delta: float
    columns: int

    @functools.cached_property
    def rho(self) -> float:
        return cdp_rho(self.epsilon, self.delta)

    @property
    def rho_one_way(self) -> float:
        return self.rho / 3

    @property
    def rho_select(self) -> float:
        return self.rho / 3

    @property
    def rho_two_way(self) -> float:
        return self.rho / 3

    @property
    def sigma(self) -> float:
        """Noise scale of one step before the per-marginal weight: 1/(2 sigma^2) = rho/3."""
        return math.sqrt(3 / (2 * self.rho))

    @property
    def edges(self) -> int:
        """Exponential-mechanism rounds: a spanning tree over the columns has columns - 1 edges."""
        return max(self.columns - 1, 0)

    @property
    def em_epsilon(self) -> float | None:
        return math.sqrt(8 * self.rho_select / self.edges) if self.edges else None

    def stddev(self, marginals: int) -> float:
        """Noise standard deviation on each of ``marginals`` marginals measured in one step."""
        return self.sigma * math.sqrt(marginals)

    def spent(self) -> float:
        """rho the three steps spend, from their noise and exponential mechanisms (equals ``rho``)."""
        measure = 2 * (1 / (2 * self.sigma**2))  # the 1-way and the 2-way step
        select = self.edges * (self.em_epsilon or 0.0) ** 2 / 8
        return measure + select

    def record(self) -> dict[str, float | int | str | None]:
        """The flat metrics.json entries (and so summary.csv columns) of the accounting."""
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "rho_one_way": self.rho_one_way,
            "rho_select": self.rho_select,
            "rho_two_way": self.rho_two_way,
            "dp_accounting": "zCDP, rho from (epsilon, delta) by Canonne-Kamath-Steinke 2020",
            "dp_neighbouring": "add/remove one record",
            "mst_sigma_one_way": self.stddev(self.columns),
            "mst_sigma_two_way": self.stddev(self.edges) if self.edges else None,
            "mst_em_epsilon": self.em_epsilon,
        }
