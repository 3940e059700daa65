"""``openai``: an LLM prompted with the schema and real example rows returns CSV.

Reproduces the thesis' GPT-4 experiment as a generator: each request carries the
column descriptions (types, categories, bounds) and a seeded sample of real
training rows; the reply is parsed as CSV and every row is validated against the
schema.  Invalid rows are dropped and counted; requests repeat until enough valid
rows exist or a limit (requests, tokens) is hit.

PRIVACY: real training rows leave the machine.  The config must opt in with
``send_real_rows_to_api: true`` (checked when the workflow starts).  The API key
is read from ``OPENAI_API_KEY`` only and scrubbed from every log line and error.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from ..errors import ConfigError, GeneratorError
from ..schema import FINITE_TYPES, Schema, coerce_frame, restore_dtypes, validate_frame
from .base import Generator

log = logging.getLogger(__name__)

API_KEY_ENV = "OPENAI_API_KEY"
OPT_IN = "send_real_rows_to_api"
# Defaults mirror schemas/openai.yaml (snakemake's validate fills them in; these
# serve direct callers such as tests and notebooks).
DEFAULTS: dict[str, Any] = {
    OPT_IN: False,
    "sample_size": None,
    "model": "gpt-4o",
    "base_url": "https://api.openai.com/v1",
    "temperature": 1.0,
    "rows_per_request": 25,
    "example_rows": 20,
    "max_requests": 100,
    "max_total_tokens": 500_000,
    "max_completion_tokens": 4096,
    "request_timeout": 120,
    "max_retries": 5,
    "usd_per_million_prompt_tokens": None,
    "usd_per_million_completion_tokens": None,
}

SYSTEM_PROMPT = (
    "You generate synthetic tabular data. Reply with CSV only: one header line with "
    "the column names exactly as given, then one data row per line. Comma-separated, "
    "double quotes around values that contain commas, no index column, no commentary."
)


class MalformedReply(Exception):
    """A reply that holds no usable CSV table (costs one retry, not the job)."""


# --- prompt -------------------------------------------------------------------


def _fmt(v: Any) -> str:
    """A value as CSV text: shortest round-trip floats, integral floats as integers."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def to_csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(df.columns))
    for row in df.itertuples(index=False, name=None):
        w.writerow([_fmt(v) for v in row])
    return buf.getvalue()


def describe_schema(schema: Schema) -> str:
    lines = []
    for c in schema:
        if c["type"] in FINITE_TYPES:
            kind = "ordered category" if c["type"] == "finite/ordered" else "category"
            what = f"{kind}, one of {json.dumps([str(v) for v in c['representation']])}"
        else:
            kind = "integer" if c["type"] == "countable" else "number"
            what = f"{kind} between {_fmt(c.get('min'))} and {_fmt(c.get('max'))}"
        if c.get("nullable"):
            what += "; may be empty (missing)"
        lines.append(f"- {c['name']}: {what}")
    return "\n".join(lines)


def build_messages(schema: Schema, examples: pd.DataFrame, n_rows: int) -> list[dict[str, str]]:
    parts = [f"The table has {len(schema)} columns:", describe_schema(schema), ""]
    if len(examples):
        parts += [
            f"{len(examples)} example rows from the real table:",
            "```csv",
            to_csv(examples).rstrip("\n"),
            "```",
            "",
        ]
    parts.append(
        f"Write {n_rows} new, realistic rows of this table as CSV with the header line "
        f"{','.join(schema.names)}. Do not repeat the example rows."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(parts)}]


# --- reply parsing ------------------------------------------------------------

_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def _norm(name: str) -> str:
    return name.strip().strip('"').strip("'").strip().lower()


def _split(line: str) -> list[str]:
    return next(csv.reader([line], skipinitialspace=True), [])


def parse_reply(text: str, names: Sequence[str]) -> tuple[list[list[str]], int]:
    """CSV rows (in schema column order) from a reply, and the count of malformed lines.

    Accepts a bare CSV or one inside a markdown fence, with commentary around it.
    Raises MalformedReply when no header line with exactly the schema's columns exists.
    """
    if not text or not text.strip():
        raise MalformedReply("empty reply")
    want = [_norm(n) for n in names]
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    seen: list[str] = []
    for block in candidates:
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if "," not in line and len(names) > 1:
                continue
            header = [_norm(f) for f in _split(line)]
            if sorted(header) == sorted(want) and len(set(header)) == len(header):
                order = [header.index(w) for w in want]
                rows, bad = [], 0
                for raw in lines[i + 1 :]:
                    if not raw.strip():
                        continue
                    if raw.lstrip().startswith("```"):
                        break
                    fields = [f.strip() for f in _split(raw)]
                    if len(fields) != len(names):
                        bad += 1
                        continue
                    rows.append([fields[j] for j in order])
                return rows, bad
            if len(seen) < 1 and len(header) > 1:
                seen.append(",".join(header))
    got = f" (first header-like line: {seen[0][:120]!r})" if seen else ""
    raise MalformedReply(f"no CSV header with the {len(names)} expected columns{got}")


def validate_rows(rows: list[list[str]], schema: Schema) -> tuple[pd.DataFrame, dict[str, int]]:
    """Typed frame of the valid rows, and counts of why the others failed."""
    raw = pd.DataFrame(rows, columns=schema.names, dtype=object)
    if raw.empty:
        return coerce_frame(raw, schema), {}
    raw = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    given = raw.ne("")
    typed = coerce_frame(raw.where(given, np.nan), schema)
    # coerce_frame turns unparseable text into NaN; such a value is wrong, not missing.
    valid = pd.Series(True, index=raw.index)
    reasons: dict[str, int] = {}
    for name in schema.names:
        bad = given[name] & typed[name].isna() & valid
        if bad.any():
            reasons[f"{name}: unparseable value"] = int(bad.sum())
            valid &= ~bad
    check = validate_frame(typed, schema)
    newly = ~check.valid & valid
    if newly.any():
        # validate_frame counts reasons over all rows; recount over rows not failed yet.
        sub = validate_frame(typed[newly], schema)
        for k, v in sub.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    valid &= check.valid
    return typed[valid], reasons


# --- secrets ------------------------------------------------------------------


class _Scrub(logging.Filter):
    """Replaces the API key in every record that reaches a handler."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if self.secret in msg or (record.exc_text and self.secret in record.exc_text):
            record.msg, record.args = msg.replace(self.secret, "***"), None
            if record.exc_text:
                record.exc_text = record.exc_text.replace(self.secret, "***")
        return True


@contextmanager
def _scrubbed_logs(secret: str) -> Iterator[None]:
    # Every handler, not only the root's: OPENAI_LOG=debug gives the client its own.
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {h for lg in loggers if isinstance(lg, logging.Logger) for h in lg.handlers}
    f = _Scrub(secret)
    for h in handlers:
        h.addFilter(f)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(f)


def _public_url(url: str) -> str:
    """base_url without user:password@ (never logged)."""
    p = urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host += f":{p.port}"
    return f"{p.scheme}://{host}{p.path}"


# --- generator ----------------------------------------------------------------


class OpenAIGenerator(Generator):
    name = "openai"
    # LLM generators write rows as text and copy digit strings: add the string-distance attack.
    audit_attacks = (*Generator.audit_attacks, "levenshtein")
    description = "LLM (OpenAI-compatible API) prompted with the schema and real example rows"

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], where: str) -> None:
        s = {**DEFAULTS, **settings}
        if s[OPT_IN] is not True:
            raise ConfigError(
                f"{where}.{OPT_IN}: must be true to run this generator - it sends up to "
                f"{s['example_rows']} real training rows per request (and the schema's categories "
                f"and bounds) to {_public_url(s['base_url'])}, a third party; set {OPT_IN}: true "
                "to consent, or remove this setting (see docs/openai.md)"
            )
        if s["max_completion_tokens"] > s["max_total_tokens"]:
            raise ConfigError(
                f"{where}.max_total_tokens: {s['max_total_tokens']} is below max_completion_tokens "
                f"({s['max_completion_tokens']}), so no request fits the budget"
            )

    def fit(self, train: pd.DataFrame, schema: Schema, settings: Mapping[str, Any], seed: int) -> None:
        self.check_settings(settings, "openai settings")
        self._s = {**DEFAULTS, **settings}
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
        self._unsent = False  # the last request never reached the server (connection refused)
        self._m: dict[str, Any] = {}
        url = self._s["base_url"]
        if urlsplit(url).scheme == "http" and urlsplit(url).hostname not in ("localhost", "127.0.0.1", "::1"):
            log.warning("base_url %s is plain http: real rows travel unencrypted", _public_url(url))

    # Rows as hashable tuples, comparable between training and generated data.
    def _keys(self, df: pd.DataFrame) -> list[tuple[str, ...]]:
        cols = []
        for name in self._schema.names:
            s = df[name]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                cols.append([_fmt(float(v)) if pd.notna(v) else "" for v in s])
            else:
                cols.append(["" if pd.isna(v) else str(v) for v in s])
        return list(zip(*cols, strict=True))

    def _examples(self) -> tuple[np.ndarray, pd.DataFrame]:
        k = min(self._s["example_rows"], len(self._train))
        idx = np.sort(self._rng.choice(len(self._train), size=k, replace=False)) if k else np.array([], int)
        return idx, self._train.iloc[idx][self._schema.names]

    def sample(self, n: int) -> pd.DataFrame:
        key = os.environ.get(API_KEY_ENV, "")
        with _scrubbed_logs(key) if key else nullcontext():
            try:
                return self._sample(n, key)
            except GeneratorError as exc:
                raise GeneratorError(_scrub(str(exc), key)) from None
            except Exception as exc:  # noqa: BLE001 - no exception text may carry the key
                raise GeneratorError(f"openai: {type(exc).__name__}: {_scrub(str(exc), key)}") from None
            finally:
                self._log_accounting()

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
        # Every HTTP attempt (first tries and the client's retries) and every reply, counted
        # where they happen, so the accounting holds when a request finally fails too.
        http = {"attempts": 0, "replies": 0}

        def _on_request(_request: Any) -> None:
            http["attempts"] += 1

        def _on_response(_response: Any) -> None:
            http["replies"] += 1

        client = openai.OpenAI(
            api_key=key,
            base_url=s["base_url"],
            timeout=float(s["request_timeout"]),
            max_retries=int(s["max_retries"]),
            http_client=openai.DefaultHttpxClient(event_hooks={"request": [_on_request], "response": [_on_response]}),
        )
        where = f"{_public_url(s['base_url'])} (model {s['model']})"
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
                self._unsent = False
                try:
                    resp, _ = self._request(client, openai, messages, i)
                finally:
                    # Retries = attempts beyond the first, also for a request that failed in the end.
                    # Rows count as sent once the server got the prompt: a reply came back, or the
                    # failure was not a connection that never opened.
                    attempts = http["attempts"] - before["attempts"]
                    m["http_requests"] += attempts
                    m["api_retries"] += max(attempts - 1, 0)
                    if http["replies"] > before["replies"] or (attempts and not self._unsent):
                        self._sent.update(int(j) for j in shown)
                m["api_requests"] = i
                m["rows_requested"] += want
                text, finish = self._account(resp, messages)
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
                    f" (invalid: {_fmt_reasons(reasons)})" if reasons else "",
                    min(n_valid, n),
                    n,
                    m["total_tokens"],
                )
        finally:
            m["api_wall_seconds"] = round(time.perf_counter() - t0, 3)
            m["training_rows_sent"] = len(self._sent)
            m["cost_usd"] = self._cost()
            client.close()
        out = pd.concat(frames).iloc[:n].reset_index(drop=True)
        self._memorisation(out)
        return out

    def _request(self, client: Any, openai: Any, messages: list[dict[str, str]], i: int) -> tuple[Any, int]:
        """One chat completion; the client retries 429/5xx/timeouts with exponential backoff."""
        s = self._s
        try:
            raw = client.chat.completions.with_raw_response.create(
                model=s["model"],
                messages=messages,
                temperature=s["temperature"],
                max_tokens=s["max_completion_tokens"],
                seed=self._seed + i,  # best-effort determinism where the server supports it
                n=1,
            )
            return raw.parse(), int(getattr(raw, "retries_taken", 0) or 0)
        except openai.AuthenticationError as exc:
            raise GeneratorError(
                f"openai: {_public_url(s['base_url'])} rejected {API_KEY_ENV} (HTTP {exc.status_code})"
            ) from None
        except openai.PermissionDeniedError as exc:
            raise GeneratorError(
                f"openai: {_public_url(s['base_url'])} denied access for {API_KEY_ENV} "
                f"(HTTP {exc.status_code}) to model {s['model']}"
            ) from None
        except openai.RateLimitError as exc:
            raise GeneratorError(
                f"openai: request {i} still rate limited (HTTP 429) after max_retries={s['max_retries']} "
                f"retries: {_server_message(exc)}; run fewer jobs at once (--resources openai_requests=1) "
                "or raise max_retries"
            ) from None
        except openai.APITimeoutError:
            raise GeneratorError(
                f"openai: request {i} got no reply within request_timeout={s['request_timeout']} s "
                f"after max_retries={s['max_retries']} retries; raise request_timeout"
            ) from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            self._unsent = type(cause).__name__ in ("ConnectError", "ConnectionRefusedError")
            raise GeneratorError(
                f"openai: cannot reach {_public_url(s['base_url'])} after max_retries={s['max_retries']} "
                f"retries ({type(cause).__name__}); check base_url"
            ) from None
        except openai.APIStatusError as exc:
            hint = ""
            if exc.status_code == 400:
                hint = "; if the prompt is too long, lower example_rows or rows_per_request"
            elif exc.status_code == 404:
                hint = "; check model and base_url"
            elif exc.status_code >= 500:
                hint = f" after max_retries={s['max_retries']} retries"
            raise GeneratorError(
                f"openai: request {i} failed with HTTP {exc.status_code}: {_server_message(exc)}{hint}"
            ) from None

    def _account(self, resp: Any, messages: list[dict[str, str]]) -> tuple[str, str | None]:
        """Add the reply's token usage to the metrics; return its text and finish reason."""
        m = self._m
        choice = resp.choices[0] if resp.choices else None
        text = (choice.message.content or "") if choice is not None and choice.message else ""
        usage = resp.usage
        if usage is not None and (usage.prompt_tokens or usage.completion_tokens):
            p, c = int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
        else:
            # Some compatible servers omit usage: estimate (~4 characters per token) and say so.
            p = sum(len(x["content"]) for x in messages) // 4
            c = len(text) // 4
            m["tokens_estimated"] = True
        m["prompt_tokens"] += p
        m["completion_tokens"] += c
        m["total_tokens"] += p + c
        if getattr(resp, "model", None):
            m["api_model_reported"] = resp.model
        return text, (choice.finish_reason if choice is not None else None)

    def _cost(self) -> float | None:
        s, m = self._s, self._m
        pp, pc = s["usd_per_million_prompt_tokens"], s["usd_per_million_completion_tokens"]
        if pp is None and pc is None:
            return None
        return round((m["prompt_tokens"] * (pp or 0) + m["completion_tokens"] * (pc or 0)) / 1e6, 6)

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
            t += f": {_fmt_reasons(m['invalid_reasons'])}"
        if m["malformed_replies"]:
            t += f"; {m['malformed_replies']} malformed replies"
        return t

    def _log_accounting(self) -> None:
        m = self._m
        if not m:
            return
        cost = f", cost ${m['cost_usd']:.4f}" if m.get("cost_usd") is not None else ""
        log.info(
            "openai accounting: %d HTTP requests (%d answered prompts, %d retries, %d malformed replies), "
            "%d prompt + %d completion tokens%s%s, %d training rows sent, %.1f s",
            m["http_requests"],
            m["api_requests"],
            m["api_retries"],
            m["malformed_replies"],
            m["prompt_tokens"],
            m["completion_tokens"],
            " (estimated)" if m["tokens_estimated"] else "",
            cost,
            m["training_rows_sent"],
            m["api_wall_seconds"],
        )

    def metrics(self) -> dict[str, Any]:
        return dict(self._m)


def _fmt_reasons(reasons: Mapping[str, int]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])[:6])


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    msg = body.get("message") if isinstance(body, dict) else None
    text = str(msg or getattr(exc, "message", "") or type(exc).__name__)
    return text.splitlines()[0][:200] if text.strip() else type(exc).__name__


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


GENERATOR = OpenAIGenerator
