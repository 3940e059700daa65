"""The ``openai`` generator class: opt-in checks, the request loop, memorisation counts, metrics."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from ...errors import ConfigError, GeneratorError
from ...schema import Schema, restore_dtypes
from ..base import Generator
from .client import API_KEY_ENV, Transport, log_accounting, public_url, scrub, scrubbed_logs
from .parsing import MalformedReply, fmt_reasons, parse_reply, validate_rows
from .prompting import build_messages, fmt_value

log = logging.getLogger(__package__)  # one logger for the package, as before the split

OPT_IN = "send_real_rows_to_api"


class OpenAIGenerator(Generator):
    name = "openai"
    # LLM generators write rows as text and copy digit strings: add the string-distance attack.
    description = "LLM (OpenAI-compatible API) prompted with the schema and real example rows"

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        s = settings
        if s[OPT_IN] is not True:
            raise ConfigError(
                f"{where}.{OPT_IN}: must be true to run this generator - it sends up to "
                f"{s['example_rows']} real training rows per request (and the schema's categories "
                f"and bounds) to {public_url(s['base_url'])}, a third party; set {OPT_IN}: true "
                "to consent, or remove this setting (see docs/openai.md)"
            )
        if s["max_completion_tokens"] > s["max_total_tokens"]:
            raise ConfigError(
                f"{where}.max_total_tokens: {s['max_total_tokens']} is below max_completion_tokens "
                f"({s['max_completion_tokens']}), so no request fits the budget"
            )

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        self.check_settings(settings, "openai settings")
        self._s = dict(settings)
        if not os.environ.get(API_KEY_ENV):
            raise ConfigError(
                f"{API_KEY_ENV} is not set: export it in the environment that runs snakemake "
                "(the key is never read from the config; local servers accept any value)"
            )
        self._train = train.reset_index(drop=True)
        self._schema = schema
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._train_keys = set(self._keys(self._train))
        self._sent: set[int] = set()  # training row positions sent in prompts
        self._m: dict[str, Any] = {}
        url = self._s["base_url"]
        if urlsplit(url).scheme == "http" and urlsplit(url).hostname not in ("localhost", "127.0.0.1", "::1"):
            log.warning("base_url %s is plain http: real rows travel unencrypted", public_url(url))

    # Rows as hashable tuples, comparable between training and generated data.
    def _keys(self, df: pd.DataFrame) -> list[tuple[str, ...]]:
        cols = []
        for name in self._schema.names:
            s = df[name]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                cols.append([fmt_value(float(v)) if pd.notna(v) else "" for v in s])
            else:
                cols.append(["" if pd.isna(v) else str(v) for v in s])
        return list(zip(*cols, strict=True))

    def _examples(self) -> tuple[np.ndarray, pd.DataFrame]:
        k = min(self._s["example_rows"], len(self._train))
        idx = np.sort(self._rng.choice(len(self._train), size=k, replace=False)) if k else np.array([], int)
        return idx, self._train.iloc[idx][self._schema.names]

    def sample(self, n: int) -> pd.DataFrame:
        key = os.environ.get(API_KEY_ENV, "")
        with scrubbed_logs(key) if key else nullcontext():
            try:
                return self._sample(n, key)
            except GeneratorError as exc:
                raise GeneratorError(scrub(str(exc), key)) from None
            except Exception as exc:  # noqa: BLE001 - no exception text may carry the key
                raise GeneratorError(f"openai: {type(exc).__name__}: {scrub(str(exc), key)}") from None
            finally:
                log_accounting(self._m)

    def _sample(self, n: int, key: str) -> pd.DataFrame:
        import openai

        s = self._s
        m = self._m
        m.update(
            api_model=s["model"],
            api_model_reported=None,
            api_requests=0,
            api_retries=0,
            http_requests=0,
            malformed_replies=0,
            prompt_tokens=0,
            completion_tokens=0,
            total_tokens=0,
            tokens_estimated=False,
            rows_requested=0,
            rows_returned=0,
            rows_valid=0,
            rows_invalid=0,
            invalid_reasons={},
            rows_memorised=0,
            rows_memorised_from_prompt=0,
            training_rows_sent=0,
            cost_usd=None,
            api_wall_seconds=0.0,
        )
        transport = Transport(openai, key, s, m)
        http = transport.http
        where = f"{public_url(s['base_url'])} (model {s['model']})"
        log.info("openai: asking %s for %d valid rows, %d per request", where, n, s["rows_per_request"])
        frames: list[pd.DataFrame] = []
        n_valid = 0
        malformed_in_row = 0
        last_prompt_tokens: int | None = None
        t0 = time.perf_counter()
        try:
            while n_valid < n:
                m["api_wall_seconds"] = round(time.perf_counter() - t0, 3)
                if m["api_requests"] >= s["max_requests"]:
                    raise GeneratorError(
                        f"openai: only {n_valid} of {n} valid rows after max_requests={s['max_requests']} "
                        f"requests ({self._tally()}); raise max_requests or max_total_tokens in this "
                        "generator's settings, or lower sample_size"
                    )
                want = min(s["rows_per_request"], n - n_valid)
                shown, examples = self._examples()
                messages = build_messages(self._schema, examples, want)
                est_prompt = last_prompt_tokens or sum(len(x["content"]) for x in messages) // 3
                if m["total_tokens"] + est_prompt + s["max_completion_tokens"] > s["max_total_tokens"]:
                    raise GeneratorError(
                        f"openai: only {n_valid} of {n} valid rows when the token budget ran out: "
                        f"{m['total_tokens']} tokens spent, the next request needs about "
                        f"{est_prompt + s['max_completion_tokens']} (prompt + max_completion_tokens) and "
                        f"max_total_tokens={s['max_total_tokens']} ({self._tally()}); raise max_total_tokens"
                    )
                i = m["api_requests"] + 1
                before = dict(http)
                transport.unsent = False
                try:
                    resp = transport.request(messages, i, self._seed)
                finally:
                    # Retries = attempts beyond the first, also for a request that failed in the end.
                    # Rows count as sent once the server got the prompt: a reply came back, or the
                    # failure was not a connection that never opened.
                    attempts = http["attempts"] - before["attempts"]
                    m["http_requests"] += attempts
                    m["api_retries"] += max(attempts - 1, 0)
                    if http["replies"] > before["replies"] or (attempts and not transport.unsent):
                        self._sent.update(int(j) for j in shown)
                m["api_requests"] = i
                m["rows_requested"] += want
                text, finish = transport.account(resp, messages)
                if resp.usage is not None and resp.usage.prompt_tokens:
                    last_prompt_tokens = int(resp.usage.prompt_tokens)
                try:
                    rows, bad = parse_reply(text, self._schema.names)
                except MalformedReply as exc:
                    m["malformed_replies"] += 1
                    malformed_in_row += 1
                    if malformed_in_row > s["max_retries"]:
                        raise GeneratorError(
                            f"openai: {malformed_in_row} malformed replies in a row (last: {exc}); "
                            f"max_retries={s['max_retries']}; check model and base_url"
                        ) from None
                    log.warning("request %d: malformed reply (%s); retrying", i, exc)
                    continue
                malformed_in_row = 0
                reasons: dict[str, int] = {}
                returned = len(rows) + bad
                if bad:
                    reasons["wrong number of fields"] = bad
                if finish == "length" and rows:
                    # The last line may be cut mid-value: "12.3" of "12.345" would pass.
                    rows = rows[:-1]
                    reasons["reply cut off (max_completion_tokens)"] = 1
                good, why = validate_rows(rows, self._schema)
                for k, v in why.items():
                    reasons[k] = reasons.get(k, 0) + v
                m["rows_returned"] += returned
                m["rows_valid"] += len(good)
                m["rows_invalid"] += returned - len(good)
                for k, v in reasons.items():
                    m["invalid_reasons"][k] = m["invalid_reasons"].get(k, 0) + v
                frames.append(good)
                n_valid += len(good)
                log.info(
                    "request %d: %d rows returned, %d valid%s; %d/%d valid so far, %d tokens spent",
                    i,
                    returned,
                    len(good),
                    f" (invalid: {fmt_reasons(reasons)})" if reasons else "",
                    min(n_valid, n),
                    n,
                    m["total_tokens"],
                )
        finally:
            m["api_wall_seconds"] = round(time.perf_counter() - t0, 3)
            m["training_rows_sent"] = len(self._sent)
            m["cost_usd"] = transport.cost()
            transport.close()
        out = pd.concat(frames).iloc[:n].reset_index(drop=True)
        self._memorisation(out)
        return out

    def _memorisation(self, out: pd.DataFrame) -> None:
        typed = restore_dtypes(out, self._schema, like=self._train)
        keys = self._keys(typed)
        sent = set(self._keys(self._train.iloc[sorted(self._sent)])) if self._sent else set()
        self._m["rows_memorised"] = sum(k in self._train_keys for k in keys)
        self._m["rows_memorised_from_prompt"] = sum(k in sent for k in keys)
        if self._m["rows_memorised"]:
            log.warning(
                "%d of %d generated rows are exact copies of training rows (%d of rows shown in prompts)",
                self._m["rows_memorised"],
                len(out),
                self._m["rows_memorised_from_prompt"],
            )

    def _tally(self) -> str:
        m = self._m
        t = f"{m['rows_returned']} rows returned, {m['rows_invalid']} invalid"
        if m["invalid_reasons"]:
            t += f": {fmt_reasons(m['invalid_reasons'])}"
        if m["malformed_replies"]:
            t += f"; {m['malformed_replies']} malformed replies"
        return t

    def metrics(self) -> dict[str, Any]:
        return dict(self._m)
