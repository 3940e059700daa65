"""Adapter of the rule ``fidelity_qa`` (``privsynth.fidelity``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..datasets import load_split
from ..fidelity import qa_report
from ..io import read_json


def fidelity_qa_job(sm: Any) -> None:
    meta = read_json(sm.input.metrics)
    title = f"{meta['dataset']} / {meta['generator']} / {meta['setting']}"
    qa_report(
        pd.read_parquet(sm.input.synthetic),
        load_split(sm.input.train).reset_index(drop=True),
        load_split(sm.input.holdout).reset_index(drop=True),
        sm.output.html,
        sm.output.metrics,
        sm.params.qa,
        title=title,
        positive_control=bool(meta.get("positive_control")),
        threads=sm.threads,
    )
