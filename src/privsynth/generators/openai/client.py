"""The transport: the OpenAI client, its HTTP attempts, token accounting and the key kept out of logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from ...errors import GeneratorError

log = logging.getLogger(__package__)  # one logger for the package, as before the split

API_KEY_ENV = "OPENAI_API_KEY"


class Transport:
    """The client of one ``sample()`` call.

    Every HTTP attempt (first tries and the client's retries) and every reply is
    counted where it happens, so the accounting holds when a request finally fails
    too; token usage goes into ``metrics``.
    """

    def __init__(self, openai: Any, key: str, s: Mapping[str, Any], metrics: dict[str, Any]) -> None:
        self.openai = openai
        self.s = s
        self.m = metrics
        self.http = {"attempts": 0, "replies": 0}
        self.unsent = False  # the last request never reached the server (connection refused)
        self.client = openai.OpenAI(
            api_key=key,
            base_url=s["base_url"],
            timeout=float(s["request_timeout"]),
            max_retries=int(s["max_retries"]),
            http_client=openai.DefaultHttpxClient(
                event_hooks={"request": [self._on_request], "response": [self._on_response]}
            ),
        )

    def _on_request(self, _request: Any) -> None:
        self.http["attempts"] += 1

    def _on_response(self, _response: Any) -> None:
        self.http["replies"] += 1

    def close(self) -> None:
        self.client.close()

    def request(self, messages: list[dict[str, str]], i: int, seed: int) -> Any:
        """One chat completion; the client retries 429/5xx/timeouts with exponential backoff."""
        s, openai = self.s, self.openai
        try:
            raw = self.client.chat.completions.with_raw_response.create(
                model=s["model"],
                messages=messages,
                temperature=s["temperature"],
                max_tokens=s["max_completion_tokens"],
                seed=seed + i,  # best-effort determinism where the server supports it
                n=1,
            )
            return raw.parse()
        except openai.AuthenticationError as exc:
            raise GeneratorError(
                f"openai: {public_url(s['base_url'])} rejected {API_KEY_ENV} (HTTP {exc.status_code})"
            ) from None
        except openai.PermissionDeniedError as exc:
            raise GeneratorError(
                f"openai: {public_url(s['base_url'])} denied access for {API_KEY_ENV} "
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
            self.unsent = type(cause).__name__ in ("ConnectError", "ConnectionRefusedError")
            raise GeneratorError(
                f"openai: cannot reach {public_url(s['base_url'])} after max_retries={s['max_retries']} "
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

    def account(self, resp: Any, messages: list[dict[str, str]]) -> tuple[str, str | None]:
        """Add the reply's token usage to the metrics; return its text and finish reason."""
        m = self.m
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

    def cost(self) -> float | None:
        s, m = self.s, self.m
        pp, pc = s["usd_per_million_prompt_tokens"], s["usd_per_million_completion_tokens"]
        if pp is None and pc is None:
            return None
        return round((m["prompt_tokens"] * (pp or 0) + m["completion_tokens"] * (pc or 0)) / 1e6, 6)


def log_accounting(m: Mapping[str, Any]) -> None:
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


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    msg = body.get("message") if isinstance(body, dict) else None
    text = str(msg or getattr(exc, "message", "") or type(exc).__name__)
    return text.splitlines()[0][:200] if text.strip() else type(exc).__name__


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
def scrubbed_logs(secret: str) -> Iterator[None]:
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


def scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def public_url(url: str) -> str:
    """base_url without user:password@ (never logged)."""
    p = urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host += f":{p.port}"
    return f"{p.scheme}://{host}{p.path}"
