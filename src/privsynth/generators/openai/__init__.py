"""``openai``: an LLM prompted with the schema and real example rows returns CSV.

Reproduces the thesis' GPT-4 experiment as a generator: each request carries the
column descriptions (types, categories, bounds) and a seeded sample of real
training rows; the reply is parsed as CSV and every row is validated against the
schema.  Invalid rows are dropped and counted; requests repeat until enough valid
rows exist or a limit (requests, tokens) is hit.

PRIVACY: real training rows leave the machine.  The config must opt in with
``send_real_rows_to_api: true`` (checked when the workflow starts).  The API key
is read from ``OPENAI_API_KEY`` only and scrubbed from every log line and error.

- ``prompting``: the request (schema in words, example rows as CSV)
- ``parsing``: the reply (CSV rows found in the text, checked against the schema)
- ``client``: the transport (HTTP attempts, token accounting, the key kept out of logs)
- ``generator``: the ``Generator`` class and its request loop
"""

from __future__ import annotations

from .client import API_KEY_ENV, scrubbed_logs
from .generator import OPT_IN, OpenAIGenerator
from .parsing import MalformedReply, parse_reply, validate_rows
from .prompting import SYSTEM_PROMPT, build_messages, describe_schema, to_csv

GENERATOR = OpenAIGenerator

__all__ = [
    "API_KEY_ENV",
    "GENERATOR",
    "OPT_IN",
    "SYSTEM_PROMPT",
    "MalformedReply",
    "OpenAIGenerator",
    "build_messages",
    "describe_schema",
    "parse_reply",
    "scrubbed_logs",
    "to_csv",
    "validate_rows",
]
