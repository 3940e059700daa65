"""What the attacker knows (TAPAS's AuxiliaryDataKnowledge): shared by the threat model, which
builds it, and the attacks, which are prepared with it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ...schema import Schema


@dataclass
class AuxiliaryDataKnowledge:
    """What the attacker knows: the auxiliary pool, the targets, n and m (TAPAS's
    AuxiliaryDataKnowledge + the black-box generator)."""

    auxiliary: pd.DataFrame
    targets: pd.DataFrame  # one row per target, index row_id, in target order
    schema: Schema
    n: int
    m: int
