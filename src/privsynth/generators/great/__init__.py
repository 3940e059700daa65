"""``great``: GReaT (be-great 0.0.14) - rows as text, a causal LLM fine-tuned on them.

- ``codec``: rows as be-great text (names and labels its format cannot carry, renamed reversibly)
- ``loading``: the LLM loaded into be-great, its text limits, the Conv1D <-> Linear layer surgery
- ``dp``: the opacus DP-SGD fine-tuning loop (Poisson-sampled rows, our own accountant hook)
- ``sampling``: bounded sampling, every candidate row checked against the schema
- ``failures``: out-of-memory and device asserts as errors naming the settings to change
- ``generator``: the ``Generator`` class that ties them together
"""

from __future__ import annotations

from .codec import Codec
from .generator import GReaTGenerator

GENERATOR = GReaTGenerator

__all__ = ["GENERATOR", "Codec", "GReaTGenerator"]
