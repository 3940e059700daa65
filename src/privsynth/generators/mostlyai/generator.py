"""The ``mostlyai`` generator class: fit through the SDK's local engine, sample, metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ...envvars import environment
from ...errors import ConfigError, GeneratorError
from ...schema import Schema, coerce_frame
from ..base import Generator, pick_device
from .engine import POLL_SECONDS, TABLE, column_encodings, last_error, model_configuration, reopen_file_handlers, tail
from .progress import describe_message, finite, summarize_training
from .trace import read_trace

log = logging.getLogger("privsynth.mostlyai")
# One INFO line per HTTP poll of the local server would drown the progress lines.
logging.getLogger("httpx").setLevel(logging.WARNING)


class MostlyAIGenerator(Generator):
    name = "mostlyai"
    description = "MOSTLY AI TabularARGN (SDK local mode), optional DP-SGD"

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        dp = settings["differential_privacy"]
        if dp is None:
            return
        max_eps = dp["max_epsilon"]
        vpe = dp["value_protection_epsilon"]
        if max_eps is not None and settings["value_protection"] and vpe is not None and vpe >= max_eps:
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
        self.device = pick_device(int(settings["gpu"]), "MOSTLY AI")
        threads = str(max(1, int(self.threads)))
        # torch's threads in the training subprocess. One by default: the model is small and
        # its steps short, so a second OpenMP thread buys little on an idle machine, and on a
        # busy one (load above the cores) its spin-waits made epochs ~9x slower (docs/mostlyai.md).
        tt = settings["torch_threads"]
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
        with environment(self.env):
            self.client = MostlyAI(local=True, local_dir=self.local_dir, quiet=True)
            reopen_file_handlers()
            g = self.client.train(config=cfg, start=True, wait=False, progress_bar=False)
            self.generator = g
            messages = self._follow_training(g)
        self.wall_fit_seconds = time.perf_counter() - t0
        self.messages = messages
        self.training = summarize_training(messages, settings, self.step_seconds.get("TRAIN_MODEL"))
        # Read before the workspace goes: what the engine's DP-SGD loop used (docs/accounting.md).
        self.dp_trace = read_trace(self.local_dir / "generators" / g.id, messages, settings, len(train))
        g.reload()
        self.accuracy = finite(g.accuracy)
        log.info(
            "training done: %.2f epochs, stop reason %s, accuracy %s, epsilon %s, delta %s",
            self.training["epochs"],
            self.training["stop_reason"],
            self.accuracy,
            self.training["epsilon"],
            self.training["delta"],
        )
        self._check_max_epsilon()
        if self.for_audit:  # an audit's shadow fit only samples: no generator zip
            return
        g.export_to_file(self.export_path)
        log.info("exported generator to %s (%.1f MB)", self.export_path, self.export_path.stat().st_size / 1e6)

    def _check_max_epsilon(self) -> None:
        dp = self.settings["differential_privacy"]
        max_eps = dp["max_epsilon"] if dp is not None else None
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
            log_pos = tail(job_log, log_pos, engine_log)
            if status in ("DONE", "FAILED", "CANCELED"):
                break
            time.sleep(POLL_SECONDS)
        tail(job_log, log_pos, engine_log)
        if status != "DONE":
            raise GeneratorError(f"MOSTLY AI training {status.lower()}: {last_error(job_log)}")
        return messages

    # --- sample ---------------------------------------------------------------
    def sample(self, n: int) -> pd.DataFrame:
        cfg = {
            "random_state": self.seed,
            "tables": [{"name": TABLE, "configuration": {"sample_size": int(n), "enable_data_report": False}}],
        }
        t0 = time.perf_counter()
        with environment(self.env):
            sd = self.client.generate(self.generator, config=cfg, progress_bar=False)
            status = str(getattr(sd.generation_status, "value", sd.generation_status))
            if status != "DONE":
                job_log = self.local_dir / "synthetic-datasets" / sd.id / "job.log"
                raise GeneratorError(f"MOSTLY AI generation {status.lower()}: {last_error(job_log)}")
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
                if self.settings["differential_privacy"] is not None and self.settings["value_protection"]
                else "the model learned no values for them; train longer (max_epochs / max_training_time)"
            )
            raise GeneratorError(f"generated columns are all missing: {', '.join(empty)}; {hint}")
        self.clipped_values = sum(clipped.values())
        if clipped:
            log.info("clipped to the schema's bounds: %s", ", ".join(f"{k}: {v}" for k, v in clipped.items()))
        return out

    # --- outputs ----------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        dp = self.settings["differential_privacy"]
        out = {
            "accuracy": self.accuracy,
            **self.training,
            "generation_seconds": round(getattr(self, "generation_seconds", 0.0), 3),
            "clipped_values": getattr(self, "clipped_values", 0),
            "device": self.device,
            "model": self.settings["model"],
            "differential_privacy": dp is not None,
        }
        if dp is not None:
            out["noise_multiplier"] = dp["noise_multiplier"]
            out["max_grad_norm"] = dp["max_grad_norm"]
            out["max_epsilon"] = dp["max_epsilon"]
            out["dp_trace"] = getattr(self, "dp_trace", None)
        return out


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
