"""Kernel density of the synthetic set at the target (the numerator of DOMIAS)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ....errors import ConfigError
from .base import Attack, SyntheticSets

if TYPE_CHECKING:
    from ..encoding import Encoder
    from ..knowledge import AuxiliaryDataKnowledge


class Density(Attack):
    """Score = log p_syn(target) - log p_ref(target).

    p_syn: a kernel density estimate of the synthetic set at the target
    (Gaussian kernel on normalised numeric columns, per-column bandwidth
    sigma_j * m^(-1/(p+4)) (Scott's rule, sigma_j from the auxiliary data),
    times ``mismatch_weight`` per categorical mismatch).  p_ref: the same
    estimate on ``reference_rows`` rows of the attacker's auxiliary data.

    What it is, exactly: DOMIAS (van Breugel et al., 2023) divides by p_ref to
    compare *different query records*; here each target is scored across sets,
    and p_ref(target) is one constant per target.  So every per-target metric
    (AUC, TPR, epsilon bound) is that of p_syn alone; the ratio only puts the
    targets' scores on one scale (scores.parquet).  It is a density attack, not
    a DOMIAS membership test.
    """

    name = "density"
    label = "Density (KDE of the synthetic set)"
    options = {"mismatch_weight": 0.1, "reference_rows": 10000}

    @classmethod
    def check_options(cls, options: Mapping[str, Any], where: str) -> None:
        super().check_options(options, where)
        w = {**cls.options, **options}["mismatch_weight"]
        if not isinstance(w, (int, float)) or not 0 < w < 1:
            raise ConfigError(f"{where}.attack_options.density.mismatch_weight: a number in (0, 1)")

    def prepare(self, knowledge: AuxiliaryDataKnowledge, encoder: Encoder) -> None:
        super().prepare(knowledge, encoder)
        aux = knowledge.auxiliary
        rows = int(self.opts["reference_rows"])
        if len(aux) > rows:
            aux = aux.sample(n=rows, random_state=self.seed)
        ref = encoder.encode(aux)
        p = ref.num.shape[1]
        sigma = ref.num.std(0) if len(ref.num) > 1 else np.ones(p, dtype=np.float32)
        self.h = np.maximum(sigma, 1e-3) * knowledge.m ** (-1.0 / (p + 4))
        self.log_w = float(np.log(self.opts["mismatch_weight"]))
        self.log_ref = self._log_density(ref.num[None], ref.cat[None])[0]  # (k,)

    def _log_density(self, num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """log mean kernel over rows, for each set and target: (sets, k)."""
        from scipy.special import logsumexp

        z = (num[:, :, None, :] - self.t_num[None, None]) / self.h
        logk = -0.5 * np.einsum("smkp,smkp->smk", z, z)
        logk += self.log_w * (cat[:, :, None, :] != self.t_cat[None, None]).sum(-1)
        return logsumexp(logk, axis=1) - np.log(num.shape[1])

    def score(self, sets: SyntheticSets, idx: np.ndarray) -> np.ndarray:
        key = f"density:{hash((self.h.tobytes(), self.log_w))}"
        s = self._per_set(sets, key, lambda lo, hi: self._log_density(sets.num[lo:hi], sets.cat[lo:hi]), idx)
        return s - self.log_ref
