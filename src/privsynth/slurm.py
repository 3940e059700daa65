"""What a job log says about the SLURM job it runs in (nothing outside SLURM).

The Snakemake log names each SLURM job id and its log file at submission; this
puts the same link into the rule's own log (results/logs/...), so either log
leads to the other.
"""

from __future__ import annotations

import os
import subprocess


def job_context() -> str | None:
    """One line: SLURM job id, partition, node, granted GPUs and SLURM log; None outside SLURM."""
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id:
        return None
    info = _scontrol(job_id)
    node = info.get("NodeList") or os.environ.get("SLURMD_NODENAME") or "?"
    parts = [f"SLURM job {job_id}", f"partition {info.get('Partition', '?')}", f"node {node}"]
    gpus = info.get("TresPerJob") or info.get("TresPerNode")
    parts.append(f"GPU request {gpus}" if gpus and "gpu" in gpus else "no GPU request")
    parts.append(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')}")
    if info.get("StdOut"):
        parts.append(f"SLURM log {info['StdOut']}")
    return "; ".join(parts)


def _scontrol(job_id: str) -> dict[str, str]:
    # Best effort: a missing or slow scontrol must never fail the job itself.
    try:
        out = subprocess.run(
            ["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return dict(tok.split("=", 1) for tok in out.split() if "=" in tok)
