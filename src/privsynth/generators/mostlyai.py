"""``mostlyai``: the MOSTLY AI tabular generator (TabularARGN), SDK in local mode.

Training runs in a subprocess the SDK starts; this module polls its progress,
streams every progress message (epoch, losses, epsilon) and the engine's own
log lines into the job log, and reads accuracy, epsilon and delta from the
trained generator the way the MOSTLY AI differential-privacy tutorial does.
No account or API key is involved: ``MostlyAI(local=True, local_dir=...)``
with ``local_dir`` inside the job's private work directory.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, GeneratorError
from ..schema import FINITE_TYPES, Schema, coerce_frame
from .base import Generator

log = logging.getLogger("privsynth.mostlyai")
# One INFO line per HTTP poll of the local server would drown the progress lines.
logging.getLogger("httpx").setLevel(logging.WARNING)

TABLE = "data"
MODELS = {"small": "MOSTLY_AI/Small", "medium": "MOSTLY_AI/Medium", "large": "MOSTLY_AI/Large"}
POLL_SECONDS = 2.0
# Defaults of the differential_privacy block (the JSON schema cannot fill them, see
# schemas/mostlyai.yaml). max_epsilon defaults to no cap, unlike the SDK's 10.
DP_DEFAULTS: dict[str, Any] = {
    "noise_multiplier": 1.5,
    "max_grad_norm": 1.0,
    "delta": 1e-5,
    "max_epsilon": None,
    "value_protection_epsilon": 1.0,
}


def dp_settings(settings: Mapping[str, Any]) -> dict[str, Any] | None:
    dp = settings.get("differential_privacy")
    return None if dp is None else {**DP_DEFAULTS, **dp}


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def device_for(gpu: int) -> str:
    """``cuda`` or ``cpu``; a requested GPU that is not there is a loud warning, not a failure."""
    if not gpu:
        return "cpu"
    if cuda_available():
        return "cuda"
    log.warning(
        "WARNING: gpu: 1 was requested but no CUDA device is available "
        "(CUDA_VISIBLE_DEVICES=%s); TRAINING ON CPU. Set gpu: 0 to silence this.",
        os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
    return "cpu"


@contextmanager
def _environment(values: Mapping[str, str]):
    """Set environment variables for the SDK's training subprocess, restore them after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def model_configuration(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Our settings -> the SDK's ``tabular_model_configuration``."""
    dp = dp_settings(settings)
    cfg: dict[str, Any] = {
        "model": MODELS[settings.get("model", "small")],
        # The SDK caps with None = its own defaults (100 epochs, 14,400 min); we pass
        # explicit huge numbers so "uncapped" means uncapped.
        "max_epochs": settings.get("max_epochs") if settings.get("max_epochs") is not None else 10_000,
        "max_training_time": (
            settings.get("max_training_time") if settings.get("max_training_time") is not None else 1_000_000
        ),
        "batch_size": settings.get("batch_size"),
        "max_sample_size": settings.get("max_sample_size"),
        "value_protection": bool(settings.get("value_protection", True)),
        # Rare categories are resampled from frequent ones instead of a _RARE_ token,
        # so every generated value stays inside the schema's categories.
        "rare_category_replacement_method": "SAMPLE",
        "enable_flexible_generation": bool(settings.get("flexible_generation", False)),
        # The model report is where the SDK's accuracy comes from (slow on wide tables).
        "enable_model_report": bool(settings.get("model_report", True)),
    }
    if dp is not None:
        cfg["differential_privacy"] = dict(dp)
    return cfg


def column_encodings(schema: Schema) -> list[dict[str, str]]:
    enc = []
    for c in schema:
        if c["type"] in FINITE_TYPES:
            kind = "TABULAR_CATEGORICAL"
        else:
            kind = "TABULAR_NUMERIC_AUTO"
        enc.append({"name": c["name"], "model_encoding_type": kind})
    return enc


def _f(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def describe_message(m: Mapping[str, Any]) -> str:
    parts = [f"epoch {float(m.get('epoch') or 0):6.2f}", f"steps {m.get('steps')}"]
    for key, label in (("trn_loss", "trn_loss"), ("val_loss", "val_loss")):
        v = _f(m.get(key))
        if v is not None:
            parts.append(f"{label} {v:.4f}")
    if m.get("dp_eps") is not None:
        parts.append(f"epsilon {_f(m.get('dp_eps')) or float('nan'):.3f} (delta {m.get('dp_delta')})")
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
    max_eps = (dp_settings(settings) or {}).get("max_epsilon")
    if max_eps is not None and any((_f(m.get("dp_eps")) or 0) > max_eps for m in messages):
        return "max_epsilon"
    max_min = settings.get("max_training_time")
    trained = max(float(last.get("total_time") or 0), train_step_seconds or 0.0)
    if max_min is not None and trained >= max_min * 60:
        return "time"
    max_ep = settings.get("max_epochs")
    if max_ep is not None and float(last.get("epoch") or 0) >= max_ep:
        return "max_epochs"
    return "converged"


# A run that ended on a cap (max_epochs, max_epsilon) while its validation loss
# still fell by more than this share in its last epoch is flagged as undertrained.
STILL_IMPROVING = 0.005


def val_loss_change(messages: list[Mapping[str, Any]]) -> float | None:
    """Relative change of the validation loss over the last epoch (negative = still improving)."""
    vals = [v for v in (_f(m.get("val_loss")) for m in messages) if v is not None]
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
    dp = settings.get("differential_privacy")
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
        "epsilon": _f(last_ckpt.get("dp_eps")) if dp is not None else None,
        "delta": _f(last_ckpt.get("dp_delta")) if dp is not None else None,
        "val_loss": _f(last_ckpt.get("val_loss")),
        "stop_reason": reason,
        "stopped_early": reason in ("converged", "max_epsilon", "time"),
    }


class MostlyAIGenerator(Generator):
    name = "mostlyai"
    description = "MOSTLY AI TabularARGN (SDK local mode), optional DP-SGD"
    uses_gpu = True

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        dp = dp_settings(settings)
        if dp is None:
            return
        max_eps = dp.get("max_epsilon")
        vpe = dp.get("value_protection_epsilon")
        if max_eps is not None and settings.get("value_protection", True) and vpe is not None and vpe >= max_eps:
            # Total epsilon = value-protection epsilon + DP-SGD epsilon, so no checkpoint can qualify.
            raise ConfigError(
                f"{where}.differential_privacy: value_protection_epsilon ({vpe}) must be below "
                f"max_epsilon ({max_eps}); the total epsilon includes it, so no checkpoint could qualify"
            )

    # --- fit ------------------------------------------------------------------
    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        from mostlyai.sdk import MostlyAI

        self.settings = dict(settings)
        self.schema = schema
        self.seed = seed
        base = Path(self.workdir) if self.workdir is not None else Path.cwd() / "mostlyai-work"
        self.local_dir = base / "mostlyai"
        self.export_path = base / "generator.zip"
        self.device = device_for(int(settings.get("gpu", 0) or 0))
        threads = str(max(1, int(self.threads)))
        # torch's threads in the training subprocess. One by default: the model is small and
        # its steps short, so a second OpenMP thread buys little on an idle machine, and on a
        # busy one (load above the cores) its spin-waits made epochs ~9x slower (docs/mostlyai.md).
        tt = settings.get("torch_threads", 1)  # also when called without the schema's defaults
        torch_threads = str(max(1, int(self.threads if tt is None else tt)))
        self.env = {
            "OMP_NUM_THREADS": torch_threads,
            "MKL_NUM_THREADS": torch_threads,
            "OPENBLAS_NUM_THREADS": torch_threads,
            # joblib (engine analysis/encoding) uses cpu_count() - 1 workers.
            "LOKY_MAX_CPU_COUNT": str(int(threads) + 1),
            "TOKENIZERS_PARALLELISM": "false",
        }
        if self.device == "cpu":
            self.env["CUDA_VISIBLE_DEVICES"] = ""  # the engine picks CUDA whenever it sees one
        log.info(
            "device: %s, threads: %s (torch: %s), local_dir: %s", self.device, threads, torch_threads, self.local_dir
        )
        cfg = {
            "name": "privsynth",
            "random_state": seed,
            "tables": [
                {
                    "name": TABLE,
                    "data": train,
                    "tabular_model_configuration": model_configuration(settings),
                    "columns": column_encodings(schema),
                }
            ],
        }
        log.info("tabular_model_configuration: %s", cfg["tables"][0]["tabular_model_configuration"])
        t0 = time.perf_counter()
        with _environment(self.env):
            self.client = MostlyAI(local=True, local_dir=self.local_dir, quiet=True)
            _reopen_file_handlers()
            g = self.client.train(config=cfg, start=True, wait=False, progress_bar=False)
            self.generator = g
            messages = self._follow_training(g)
        self.wall_fit_seconds = time.perf_counter() - t0
        self.messages = messages
        self.training = summarize_training(messages, settings, self.step_seconds.get("TRAIN_MODEL"))
        g.reload()
        self.accuracy = _f(g.accuracy)
        log.info(
            "training done: %.2f epochs, stop reason %s, accuracy %s, epsilon %s, delta %s",
            self.training["epochs"], self.training["stop_reason"], self.accuracy,
            self.training["epsilon"], self.training["delta"],
        )  # fmt: skip
        self._check_max_epsilon()
        if self.for_audit:  # an audit's shadow fit only samples: no generator zip
            return
        g.export_to_file(self.export_path)
        log.info("exported generator to %s (%.1f MB)", self.export_path, self.export_path.stat().st_size / 1e6)

    def _check_max_epsilon(self) -> None:
        max_eps = (dp_settings(self.settings) or {}).get("max_epsilon")
        eps = self.training["epsilon"]
        if max_eps is not None and eps is not None and eps > max_eps:
            # The engine keeps the first-epoch weights even when they already exceed the
            # budget; releasing data from them would break the promised guarantee.
            raise GeneratorError(
                f"no checkpoint within differential_privacy.max_epsilon={max_eps}: the first checkpoint "
                f"(epoch {self.training['checkpoint_epoch']:g}) already had epsilon {eps:.3f}; raise "
                "max_epsilon or noise_multiplier (or lower value_protection_epsilon)"
            )

    def _follow_training(self, g: Any) -> list[dict[str, Any]]:
        """Poll the training job until it ends, streaming messages and engine log lines."""
        job_log = self.local_dir / "generators" / g.id / "job.log"
        engine_log = logging.getLogger("privsynth.mostlyai.engine")
        log_pos = 0
        seen = 0
        messages: list[dict[str, Any]] = []
        steps_done: set[str] = set()
        self.step_seconds: dict[str, float] = {}
        status = None
        while True:
            progress = g.training.progress()
            status = str(getattr(progress.status, "value", progress.status))
            for step in progress.steps or []:
                code = str(getattr(step.step_code, "value", step.step_code))
                if code == "TRAIN_MODEL":
                    messages = [dict(m) for m in (step.messages or [])]
                if step.end_date is not None and code not in steps_done:
                    steps_done.add(code)
                    secs = (step.end_date - step.start_date).total_seconds() if step.start_date else float("nan")
                    self.step_seconds[code] = secs
                    log.info("step %s done (%.1f s)", code, secs)
            for m in messages[seen:]:
                log.info("progress: %s", describe_message(m))
            seen = len(messages)
            log_pos = _tail(job_log, log_pos, engine_log)
            if status in ("DONE", "FAILED", "CANCELED"):
                break
            time.sleep(POLL_SECONDS)
        _tail(job_log, log_pos, engine_log)
        if status != "DONE":
            raise GeneratorError(f"MOSTLY AI training {status.lower()}: {_last_error(job_log)}")
        return messages

    # --- sample ---------------------------------------------------------------
    def sample(self, n: int) -> pd.DataFrame:
        cfg = {
            "random_state": self.seed,
            "tables": [{"name": TABLE, "configuration": {"sample_size": int(n), "enable_data_report": False}}],
        }
        t0 = time.perf_counter()
        with _environment(self.env):
            sd = self.client.generate(self.generator, config=cfg, progress_bar=False)
            status = str(getattr(sd.generation_status, "value", sd.generation_status))
            if status != "DONE":
                job_log = self.local_dir / "synthetic-datasets" / sd.id / "job.log"
                raise GeneratorError(f"MOSTLY AI generation {status.lower()}: {_last_error(job_log)}")
            data = sd.data()
        self.generation_seconds = time.perf_counter() - t0
        if isinstance(data, dict):
            data = data[TABLE]
        log.info("generated %d rows in %.1f s", len(data), self.generation_seconds)
        out, clipped = clip_to_schema(coerce_frame(data[self.schema.names], self.schema), self.schema)
        empty = [c["name"] for c in self.schema if not c.get("nullable") and out[c["name"]].isna().all()]
        if empty and len(out):
            hint = (
                "DP value protection found no value range for them (too few rows for "
                "value_protection_epsilon split over all columns): raise "
                "differential_privacy.value_protection_epsilon or set value_protection: false"
                if dp_settings(self.settings) is not None and self.settings.get("value_protection", True)
                else "the model learned no values for them; train longer (max_epochs / max_training_time)"
            )
            raise GeneratorError(f"generated columns are all missing: {', '.join(empty)}; {hint}")
        self.clipped_values = sum(clipped.values())
        if clipped:
            log.info("clipped to the schema's bounds: %s", ", ".join(f"{k}: {v}" for k, v in clipped.items()))
        return out

    # --- outputs ----------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        out = {
            "accuracy": self.accuracy,
            **self.training,
            "generation_seconds": round(getattr(self, "generation_seconds", 0.0), 3),
            "clipped_values": getattr(self, "clipped_values", 0),
            "device": self.device,
            "model": self.settings.get("model", "small"),
            "differential_privacy": self.settings.get("differential_privacy") is not None,
        }
        dp = dp_settings(self.settings)
        if dp is not None:
            out["noise_multiplier"] = dp.get("noise_multiplier")
            out["max_grad_norm"] = dp.get("max_grad_norm")
            out["max_epsilon"] = dp.get("max_epsilon")
        return out

    def artifacts(self) -> dict[str, Path]:
        return {"generator": self.export_path}


def _reopen_file_handlers() -> None:
    """Re-attach the job's log file after the SDK's local server started.

    uvicorn configures logging with dictConfig, which closes every existing
    handler; a closed FileHandler opened with mode "w" silently drops records.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, logging.FileHandler) and h.stream is None:
            fresh = logging.FileHandler(h.baseFilename, mode="a")
            fresh.setFormatter(h.formatter)
            fresh.setLevel(h.level)
            root.removeHandler(h)
            root.addHandler(fresh)


def clip_to_schema(df: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, dict[str, int]]:
    """Clip numeric columns to the schema's public bounds; count clipped values per column.

    DP value protection draws noisy bounds, so a few values can land just outside
    the observed range. Clipping to the (public) schema is post-processing: it
    costs no privacy and keeps every row valid.
    """
    out = df.copy()
    clipped: dict[str, int] = {}
    for col in schema:
        if col["type"] not in ("countable", "real"):
            continue
        s = pd.to_numeric(out[col["name"]], errors="coerce")
        lo, hi = col.get("min"), col.get("max")
        new = s.clip(lower=lo, upper=hi)
        if col["type"] == "countable":
            new = new.round()
        n = int(((new != s) & s.notna()).sum())
        if n:
            clipped[col["name"]] = n
        out[col["name"]] = new
    return out, clipped


def _tail(path: Path, pos: int, logger: logging.Logger) -> int:
    """Forward new lines of the SDK's job.log; return the new offset."""
    if not path.is_file():
        return pos
    with open(path, "rb") as fh:
        fh.seek(pos)
        chunk = fh.read()
    # Keep a partial last line for the next poll.
    cut = chunk.rfind(b"\n") + 1
    for line in chunk[:cut].decode(errors="replace").splitlines():
        if line.strip():
            logger.info("%s", line.rstrip())
    return pos + cut


def _last_error(path: Path) -> str:
    if not path.is_file():
        return "no job log was written"
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if "ERROR" in ln]
    for ln in reversed(lines):
        if "Exception message:" in ln:
            return ln.split("Exception message:", 1)[1].strip()
    return lines[-1].split(":", 1)[-1].strip() if lines else "see the job log"


GENERATOR = MostlyAIGenerator


# --- job bodies (called by workflow/scripts/*mostlyai*.py) ---------------------------


def synthesize_job(sm: Any) -> None:
    """``privsynth.synthesize.synthesize`` plus the exported generator zip as a third output."""
    import shutil
    import tempfile

    from ..io import write_with
    from ..synthesize import synthesize

    # A private local_dir per job (in node-local TMPDIR): parallel jobs share nothing.
    with tempfile.TemporaryDirectory(prefix="privsynth-mostlyai-", ignore_cleanup_errors=True) as workdir:
        try:
            synthesize(
                sm.input.train,
                sm.input.schema,
                sm.output.synthetic,
                sm.output.metrics,
                sm.params.job,
                workdir=workdir,
                threads=sm.threads,
            )
            exported = Path(workdir) / "generator.zip"
            write_with(lambda tmp: shutil.copyfile(exported, tmp), sm.output.generator)
            log.info("wrote %s", sm.output.generator)
        finally:
            # also on failure: a subprocess still writing would break the cleanup
            _reap_children()


def _reap_children(timeout: float = 60.0) -> None:
    """Wait for the SDK's job subprocesses before their local_dir is deleted.

    The training subprocess reports DONE, then still probes a few sample rows.
    """
    import psutil

    children = psutil.Process().children(recursive=True)
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for proc in alive:
        log.warning("stopping SDK subprocess %d still running after %.0f s", proc.pid, timeout)
        proc.terminate()
    psutil.wait_procs(alive, timeout=10)


COMPARISON_COLUMNS = [
    "setting", "accuracy", "accuracy_source", "training_seconds", "epsilon", "delta", "epochs", "stop_reason",
    "undertrained", "sdk_accuracy", "qa_accuracy", "val_loss", "runtime_seconds", "noise_multiplier",
    "max_grad_norm", "max_epsilon", "device", "undertrained_reason",
]  # fmt: skip
ACCURACY_SOURCES = {"sdk": "SDK model report", "qa": "privsynth QA"}


def comparison_table(metrics: list[Mapping[str, Any]], qa: list[Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """The tutorial's table: one row per setting (runtime = training time of the last checkpoint).

    ``accuracy`` is what the tutorial prints: the SDK's ``g.accuracy`` (its model
    report: mostlyai-qa of generated vs training rows) when that report ran,
    otherwise privsynth's own mostlyai-qa accuracy of the released sample;
    ``accuracy_source`` says which, and both raw values stay in their columns.
    """
    rows = []
    for i, m in enumerate(metrics):
        row = {c: m.get(c) for c in COMPARISON_COLUMNS}
        sdk = _f(m.get("accuracy"))
        q = _f(qa[i].get("accuracy_overall")) if qa else None
        row["sdk_accuracy"], row["qa_accuracy"] = sdk, q
        if sdk is not None:
            row["accuracy"], row["accuracy_source"] = sdk, ACCURACY_SOURCES["sdk"]
        elif q is not None:
            row["accuracy"], row["accuracy_source"] = q, ACCURACY_SOURCES["qa"]
        else:
            row["accuracy"], row["accuracy_source"] = None, None
        if row["undertrained"] is None and m.get("stop_reason") is not None:
            # metrics.json of an older run: derive the flag from what it recorded
            why = undertraining(str(m["stop_reason"]), float(m.get("epochs") or 0), None)
            row["undertrained"], row["undertrained_reason"] = why is not None, why
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _cell(v: Any, col: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if col == "delta":
        return f"{v:.0e}"
    if col in ("accuracy", "sdk_accuracy", "qa_accuracy"):
        return f"{v:.3f}"
    if col in ("epsilon", "val_loss"):
        return f"{v:.2f}"
    if col in ("training_seconds", "runtime_seconds"):
        return f"{v:.0f}"
    if col == "epochs":
        return f"{v:g}"
    if col == "undertrained":
        return "**UNDERTRAINED**" if bool(v) else "no"
    # "|" would end a markdown cell early
    return str(v).replace("|", "\\|")


_MD_COLUMNS = {
    "setting": "setting", "accuracy": "accuracy", "accuracy_source": "accuracy from",
    "training_seconds": "runtime (s)", "epsilon": "epsilon", "delta": "delta", "epochs": "epochs",
    "stop_reason": "stopped because", "undertrained": "undertrained", "val_loss": "val loss",
    "runtime_seconds": "job wall (s)",
}  # fmt: skip


def comparison_markdown(df: pd.DataFrame, dataset: str) -> str:
    shown = pd.DataFrame({head: [_cell(v, col) for v in df[col]] for col, head in _MD_COLUMNS.items()})
    lines = [
        f"# MOSTLY AI on {dataset}",
        "",
        "runtime = training time at the last checkpoint (as in the MOSTLY AI DP tutorial);",
        "accuracy = the tutorial's accuracy: the SDK's model report (mostlyai-qa of generated vs training rows)",
        "when it ran (model_report: true), else privsynth's mostlyai-qa fidelity report of the released sample",
        "('accuracy from' says which; comparison.csv has both);",
        "job wall = the whole job (analysis, training, model report, generation).",
        "",
        shown.to_markdown(index=False, disable_numparse=True),
    ]
    under = df[df["undertrained"].fillna(False).astype(bool)]
    if len(under):
        lines += [
            "",
            f"**{len(under)} of {len(df)} settings are UNDERTRAINED**: their accuracy says more about the cap "
            "than about the generator (a time cap counts seconds, so it depends on how busy the machine was):",
            "",
        ]
        lines += [f"- {r['setting']}: {_cell(r['undertrained_reason'], 'reason')}" for _, r in under.iterrows()]
    return "\n".join(lines) + "\n"


def comparison_job(sm: Any) -> None:
    from ..io import read_json, write_text, write_with

    metrics = [read_json(p) for p in sm.input.metrics]
    qa = [read_json(p) for p in sm.input.get("qa", [])] or None
    df = comparison_table(metrics, qa)
    dataset = sm.wildcards.dataset
    write_with(lambda tmp: df.to_csv(tmp, index=False), sm.output.csv)
    write_text(comparison_markdown(df, dataset), sm.output.md)
    log.info("comparison of %d settings on %s:\n%s", len(df), dataset, comparison_markdown(df, dataset))
