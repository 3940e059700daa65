"""``mostlyai``: the MOSTLY AI tabular generator (TabularARGN), SDK in local mode.

Training runs in a subprocess the SDK starts; the generator polls its progress,
streams every progress message (epoch, losses, epsilon) and the engine's own
log lines into the job log, and reads accuracy, epsilon and delta from the
trained generator the way the MOSTLY AI differential-privacy tutorial does.
No account or API key is involved: ``MostlyAI(local=True, local_dir=...)``
with ``local_dir`` inside the job's private work directory.

- ``engine``: our settings as the SDK's configuration, its job logs and subprocesses
- ``progress``: the training progress messages (why training stopped, undertraining)
- ``comparison``: the tutorial's comparison table of a dataset's settings
- ``generator``: the ``Generator`` class
"""

from __future__ import annotations

from .comparison import comparison_markdown, comparison_table, write_comparison
from .engine import column_encodings, model_configuration, reap_children
from .generator import MostlyAIGenerator, clip_to_schema
from .progress import describe_message, stop_reason, summarize_training, undertraining, val_loss_change

GENERATOR = MostlyAIGenerator

__all__ = [
    "GENERATOR",
    "MostlyAIGenerator",
    "clip_to_schema",
    "column_encodings",
    "comparison_markdown",
    "comparison_table",
    "describe_message",
    "model_configuration",
    "reap_children",
    "stop_reason",
    "summarize_training",
    "undertraining",
    "val_loss_change",
    "write_comparison",
]
