"""The openai generator against a loopback OpenAI-compatible server.

The real ``openai`` client talks HTTP to a stdlib server on 127.0.0.1 that plays
scripted replies (good CSV, fenced CSV, wrong columns, bad values, 429, 500, a
slow reply, ...).  No network is needed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, tiny_config
from generator_settings import filled

from privsynth import synthesize as synthesis
from privsynth.config import Grid
from privsynth.errors import ConfigError, GeneratorError
from privsynth.generators import load
from privsynth.generators.openai import OPT_IN, build_messages, parse_reply, to_csv
from privsynth.io import write_json
from privsynth.schema import infer_schema

KEY = "sk-test-DO-NOT-LEAK-3f9c2a71b8e54d06"


# --- loopback server ------------------------------------------------------------


@dataclass
class Reply:
    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    usage: bool = True
    finish: str = "stop"
    error: str = "scripted error"


Script = Reply | Callable[[dict[str, Any]], Reply]


class FakeOpenAI:
    """Serves POST /v1/chat/completions; each request takes the next scripted reply."""

    def __init__(self) -> None:
        self.script: list[Script] = []
        self.default: Script | None = None
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake._lock:
                    fake.requests.append(body)
                    fake.auth.append(self.headers.get("Authorization", ""))
                    item = fake.script.pop(0) if fake.script else fake.default
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    assert self.path == "/v1/chat/completions", self.path
                    assert item is not None, "no scripted reply left"
                    reply = item(body) if callable(item) else item
                    time.sleep(reply.delay)
                    self._send(reply, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _send(self, r: Reply, req: dict[str, Any]) -> None:
                if r.status != 200:
                    payload: dict[str, Any] = {"error": {"message": r.error, "type": "test", "code": None}}
                else:
                    content = r.content or ""
                    payload = {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": req["model"] + "-0613",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": r.finish,
                            }
                        ],
                    }
                    if r.usage:
                        p, c = 100 + len(fake.requests), len(content) // 4
                        payload["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
                data = json.dumps(payload).encode()
                self.send_response(r.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in r.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        self.script, self.default, self.requests, self.auth = [], None, [], []
        self.max_in_flight = 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def _server() -> Iterator[FakeOpenAI]:
    s = FakeOpenAI()
    yield s
    s.close()


@pytest.fixture
def api(_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    _server.reset()
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return _server


# --- a tiny table -----------------------------------------------------------------


@pytest.fixture
def table(tmp_path: Path) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "age": rng.integers(20, 61, 40),
            "income": rng.choice(["<=50K", ">50K"], 40),
            "score": rng.uniform(0, 1, 40).round(3),
        }
    )
    train.loc[[0, 39], ["age", "score"]] = [[20, 0.0], [60, 1.0]]  # bounds: age 20..60, score 0..1
    schema = infer_schema(train)
    train.index.name = "row_id"
    paths = {"train_path": tmp_path / "train.parquet", "schema_path": tmp_path / "schema.json"}
    train.to_parquet(paths["train_path"])
    write_json(schema.to_json(), paths["schema_path"])
    return {"train": train, "schema": schema, **paths, "dir": tmp_path}


def good_csv(n: int, start: int = 0) -> str:
    rows = [f"{20 + (start + i) % 40},{'>50K' if i % 2 else '<=50K'},0.{(start + i) % 1000:03d}5" for i in range(n)]
    return "age,income,score\n" + "\n".join(rows) + "\n"


def settings(api: FakeOpenAI, **kw: Any) -> dict[str, Any]:
    return filled(
        "openai",
        {
            OPT_IN: True,
            "base_url": api.url,
            "model": "test-model",
            "rows_per_request": 5,
            "example_rows": 3,
            "max_requests": 6,
            "max_retries": 2,
            "request_timeout": 0.5,
            "sample_size": 5,
            **kw,
        },
    )


def synthesize(table: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    out = table["dir"] / "out"
    return synthesis.synthesize(
        str(table["train_path"]),
        str(table["schema_path"]),
        str(out / "synthetic.parquet"),
        str(out / "metrics.json"),
        {"dataset": "toy", "generator": "openai", "setting": "t", "settings": filled("openai", s), "seed": 7},
    )


def outputs(table: dict[str, Any]) -> tuple[Path, Path]:
    return table["dir"] / "out" / "synthetic.parquet", table["dir"] / "out" / "metrics.json"


# --- replies ------------------------------------------------------------------------


def test_good_csv_rows_metrics_and_prompt(api: FakeOpenAI, table: dict[str, Any]) -> None:
    t = table["train"]
    copied = f"{t.age[5]},{t.income[5]},{t.score[5]}"  # an exact training row
    api.script = [Reply(good_csv(4) + copied + "\n")]
    m = synthesize(table, settings(api, temperature=0.3, usd_per_million_prompt_tokens=2.0))
    syn = pd.read_parquet(outputs(table)[0])
    assert len(syn) == 5 and list(syn.columns) == ["age", "income", "score"]
    assert syn.dtypes.to_dict() == t.dtypes.to_dict()
    assert syn.age.tolist()[:4] == [20, 21, 22, 23] and syn.score[3] == 0.0035
    assert m["api_requests"] == 1 and m["api_retries"] == 0
    assert m["prompt_tokens"] == 101 and m["completion_tokens"] > 0 and not m["tokens_estimated"]
    assert m["total_tokens"] == m["prompt_tokens"] + m["completion_tokens"]
    assert m["cost_usd"] == pytest.approx(101 * 2.0 / 1e6)
    assert (m["rows_returned"], m["rows_valid"], m["rows_invalid"]) == (5, 5, 0)
    assert m["rows_memorised"] == 1 and m["training_rows_sent"] == 3
    assert m["api_model_reported"] == "test-model-0613" and m["api_wall_seconds"] > 0
    saved = json.loads(outputs(table)[1].read_text())
    assert saved["rows_memorised"] == 1 and saved["rows"] == 5
    # The request: real client, key as bearer token, settings passed through.
    req = api.requests[0]
    assert api.auth == [f"Bearer {KEY}"]
    assert req["model"] == "test-model" and req["temperature"] == 0.3 and req["max_tokens"] == 4096
    prompt = req["messages"][1]["content"]
    assert '- income: category, one of ["<=50K", ">50K"]' in prompt
    assert "- age: integer between 20 and 60" in prompt and "- score: number between 0 and 1" in prompt
    shown = pd.read_csv(pd.io.common.StringIO(prompt.split("```csv\n")[1].split("```")[0]))
    assert len(shown) == 3 and shown.merge(t, how="left", indicator=True)["_merge"].eq("both").all()


def test_examples_are_seeded_and_drawn_from_train(api: FakeOpenAI, table: dict[str, Any]) -> None:
    prompts = []
    for _ in range(2):
        api.reset()
        api.script = [Reply(good_csv(5))]
        synthesize(table, settings(api))
        prompts.append(api.requests[0]["messages"][1]["content"])
    assert prompts[0] == prompts[1]


def test_csv_in_markdown_fence_with_chatter(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.script = [Reply("Sure! Here are the rows:\n\n```csv\n" + good_csv(5) + "```\nLet me know if you need more.")]
    m = synthesize(table, settings(api))
    assert (m["rows_returned"], m["rows_valid"], m["malformed_replies"]) == (5, 5, 0)


def test_columns_in_other_order_are_mapped(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.script = [Reply("score,age,income\n0.5,30,>50K\n0.25,40,<=50K\n")]
    m = synthesize(table, settings(api, sample_size=2))
    syn = pd.read_parquet(outputs(table)[0])
    assert syn.to_dict("list") == {"age": [30, 40], "income": [">50K", "<=50K"], "score": [0.5, 0.25]}
    assert m["rows_valid"] == 2


def test_wrong_columns_cost_one_retry(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.script = [Reply("age,income,salary\n30,>50K,1\n"), Reply(good_csv(5))]
    m = synthesize(table, settings(api))
    assert m["malformed_replies"] == 1 and m["api_requests"] == 2 and m["rows_valid"] == 5


def test_malformed_replies_in_a_row_fail_cleanly(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.default = Reply("I cannot help with that.")
    with pytest.raises(GeneratorError, match=r"3 malformed replies in a row .*max_retries=2"):
        synthesize(table, settings(api))
    assert len(api.requests) == 3
    assert not any(p.exists() for p in outputs(table))


def test_out_of_range_and_bad_values_are_dropped_and_counted(api: FakeOpenAI, table: dict[str, Any]) -> None:
    bad = (
        "age,income,score\n"
        "200,>50K,0.5\n"  # above max
        "30,maybe,0.5\n"  # not a category
        "30,>50K,1.5\n"  # above max
        "thirty,>50K,0.5\n"  # not a number
        "30.5,>50K,0.5\n"  # not an integer
        "30,>50K\n"  # wrong number of fields
        "30,,0.5\n"  # missing value
        "31,<=50K,0.25\n"  # the only valid row
    )
    api.script = [Reply(bad), Reply(good_csv(4))]
    m = synthesize(table, settings(api))
    assert (m["rows_returned"], m["rows_valid"], m["rows_invalid"]) == (12, 5, 7)
    assert m["invalid_reasons"] == {
        "age: above max 60": 1,
        "income: value not in categories": 1,
        "score: above max 1.0": 1,
        "age: unparseable value": 1,
        "age: not an integer": 1,
        "wrong number of fields": 1,
        "income: missing value": 1,
    }
    assert pd.read_parquet(outputs(table)[0]).age.tolist() == [31, 20, 21, 22, 23]
    # The second request asks only for the rows still missing.
    assert "Write 4 new" in api.requests[1]["messages"][1]["content"]


def test_cut_off_reply_drops_its_last_row(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.script = [Reply(good_csv(5) + "33,>50K,0.1", finish="length"), Reply(good_csv(1, start=9))]
    m = synthesize(table, settings(api, sample_size=6))
    assert m["invalid_reasons"] == {"reply cut off (max_completion_tokens)": 1}
    assert pd.read_parquet(outputs(table)[0]).age.tolist() == [20, 21, 22, 23, 24, 29]


def test_429_then_success(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.script = [Reply(status=429, headers={"retry-after-ms": "20"}, error="Rate limit reached"), Reply(good_csv(5))]
    m = synthesize(table, settings(api))
    assert m["api_requests"] == 1 and m["api_retries"] == 1 and len(api.requests) == 2


def test_500_then_success_with_exponential_backoff(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.script = [Reply(status=500), Reply(status=503), Reply(good_csv(5))]
    t0 = time.perf_counter()
    m = synthesize(table, settings(api))
    # openai client backoff: 0.5 s then 1 s, minus up to 25 % jitter.
    assert time.perf_counter() - t0 >= 0.375 + 0.75
    assert m["api_retries"] == 2 and m["rows_valid"] == 5


def test_timeout_then_success(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.script = [Reply(good_csv(5), delay=1.5), Reply(good_csv(5, start=10))]
    m = synthesize(table, settings(api, request_timeout=0.4))
    assert m["api_retries"] == 1
    assert pd.read_parquet(outputs(table)[0]).age.tolist() == [30, 31, 32, 33, 34]


def test_retries_exhausted_fail_with_the_setting_to_change(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.default = Reply(status=429, headers={"retry-after-ms": "10"})
    with pytest.raises(GeneratorError, match=r"still rate limited \(HTTP 429\) after max_retries=2.*openai_requests"):
        synthesize(table, settings(api))
    assert len(api.requests) == 3


def _accounting(caplog: pytest.LogCaptureFixture) -> str:
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("openai accounting:")]
    assert len(lines) == 1, lines
    return lines[0]


def test_accounting_of_a_failed_request_counts_its_retries_and_rows(
    api: FakeOpenAI, table: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    api.script = [Reply(good_csv(2)), Reply("no table here")]
    api.default = Reply(status=500)
    with pytest.raises(GeneratorError, match="HTTP 500"):
        synthesize(table, settings(api))
    # 1 answered prompt, 1 malformed reply, then a prompt that failed after 2 retries: 5 HTTP requests.
    assert len(api.requests) == 5
    line = _accounting(caplog)
    assert "openai accounting: 5 HTTP requests (2 answered prompts, 2 retries, 1 malformed replies)" in line
    rows = len({row for r in api.requests for row in _example_rows(r)})
    assert f", {rows} training rows sent," in line and rows >= 3


def _example_rows(request: dict[str, Any]) -> list[str]:
    """The real rows a prompt showed (CSV lines of the example block)."""
    text = "\n".join(m["content"] for m in request["messages"])
    return [ln for ln in text.splitlines() if re.fullmatch(r"\d+,[<>=]+50K,[0-9.]+", ln.strip())]


def test_accounting_when_the_server_is_unreachable_sends_no_rows(
    table: dict[str, Any], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    caplog.set_level("INFO")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = {
        OPT_IN: True,
        "model": "m",
        "max_retries": 1,
        "base_url": f"http://127.0.0.1:{port}/v1",
        "rows_per_request": 5,
        "example_rows": 3,
        "sample_size": 5,
        "request_timeout": 0.5,
    }
    with pytest.raises(GeneratorError, match="cannot reach"):
        synthesize(table, s)
    line = _accounting(caplog)
    assert "2 HTTP requests (0 answered prompts, 1 retries" in line and ", 0 training rows sent," in line


def test_never_enough_valid_rows_fails_cleanly(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.default = Reply("age,income,score\n99,>50K,0.5\n30,>50K,0.5\n")
    with pytest.raises(GeneratorError) as err:
        synthesize(table, settings(api, max_requests=3))
    msg = str(err.value)
    assert msg.startswith("openai: only 3 of 5 valid rows after max_requests=3 requests")
    assert "age: above max 60 (3)" in msg and "raise max_requests" in msg
    assert len(api.requests) == 3
    assert not any(p.exists() for p in outputs(table))
    assert not list((table["dir"] / "out").glob("*"))  # no partial files either


def test_token_budget_stops_before_overspending(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.default = Reply("age,income,score\n30,>50K,0.5\n")
    s = settings(api, max_completion_tokens=100, max_total_tokens=350, max_requests=50)
    with pytest.raises(GeneratorError, match=r"token budget ran out: 217 tokens spent.*raise max_total_tokens"):
        synthesize(table, s)
    # Replies cost 101 + 7 and 102 + 7 tokens; a third (~102 prompt + up to 100
    # completion tokens) would not fit in 350, so it is not sent.
    assert len(api.requests) == 2


def test_missing_usage_is_estimated_and_flagged(api: FakeOpenAI, table: dict[str, Any]) -> None:
    api.script = [Reply(good_csv(5), usage=False)]
    m = synthesize(table, settings(api))
    assert m["tokens_estimated"] and m["prompt_tokens"] > 0 and m["completion_tokens"] > 0


def test_key_never_in_errors_or_logs(api: FakeOpenAI, table: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    # A hostile server echoing the key in its error message.
    api.script = [Reply(status=400, error=f"invalid request for key {KEY}")]
    with pytest.raises(GeneratorError) as err:
        synthesize(table, settings(api))
    assert KEY not in str(err.value) and "HTTP 400" in str(err.value) and "***" in str(err.value)
    api.script = [Reply(status=401, error=f"Incorrect API key provided: {KEY[:8]}...{KEY[-4:]}")]
    with pytest.raises(GeneratorError, match=r"rejected OPENAI_API_KEY \(HTTP 401\)") as err:
        synthesize(table, settings(api))
    assert KEY[-4:] not in str(err.value)
    assert KEY not in caplog.text


def test_log_records_are_scrubbed_of_the_key(caplog: pytest.LogCaptureFixture) -> None:
    from privsynth.generators.openai import scrubbed_logs

    lg = logging.getLogger("openai._base_client")
    with scrubbed_logs(KEY):
        lg.warning("headers: Authorization: Bearer %s", KEY)
        try:
            raise RuntimeError(f"boom {KEY}")
        except RuntimeError:
            lg.exception("failed")
    assert "Bearer ***" in caplog.text and "boom ***" in caplog.text
    assert KEY not in caplog.text


def test_missing_key_is_a_config_error(api: FakeOpenAI, table: dict[str, Any], monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        synthesize(table, settings(api))
    assert api.requests == []


# --- parsing and prompt units ---------------------------------------------------------


def test_parse_reply_edge_cases() -> None:
    names = ["a", "b"]
    assert parse_reply('"A", "b"\n1,"x, y"\n\n2,z\n', names) == ([["1", "x, y"], ["2", "z"]], 0)
    with pytest.raises(Exception, match="no CSV header"):
        parse_reply("a,b,c\n1,2,3\n", names)
    with pytest.raises(Exception, match="empty reply"):
        parse_reply("  ", names)
    # Unterminated fence (reply cut off inside the block).
    assert parse_reply("```\na,b\n1,2\n3", names) == ([["1", "2"]], 1)


def test_prompt_round_trips_float_values() -> None:
    df = pd.DataFrame({"x": [0.1 + 0.2, 17.99, 3.0], "y": ["a,b", "c", None]})
    text = to_csv(df)
    assert text == 'x,y\n0.30000000000000004,"a,b"\n17.99,c\n3,\n'
    msgs = build_messages(infer_schema(df.fillna("c")), df, 4)
    assert "Write 4 new" in msgs[1]["content"] and msgs[0]["role"] == "system"


# --- opt-in and config ----------------------------------------------------------------


def test_check_settings_requires_opt_in() -> None:
    cls = load("openai")
    for s in ({}, {OPT_IN: False}):
        with pytest.raises(ConfigError, match=r"x\.y\.send_real_rows_to_api: must be true .* real training rows"):
            cls.check_settings(filled("openai", s), "x.y")
    cls.check_settings(filled("openai", {OPT_IN: True}), "x.y")
    with pytest.raises(ConfigError, match="max_total_tokens: 100 is below max_completion_tokens"):
        cls.check_settings(filled("openai", {OPT_IN: True, "max_total_tokens": 100}), "x.y")


def _validate(obj: Any, schema: str) -> None:
    from snakemake.utils import validate

    validate(obj, schema)


def test_default_config_lists_openai_commented_out_and_the_block_is_valid() -> None:
    text = (REPO / "config" / "config.yaml").read_text()
    cfg = yaml.safe_load(text)
    _validate(cfg, str(REPO / "config" / "schema.yaml"))
    grid = Grid(cfg, _validate)  # the default config must pass: openai is not active
    assert not grid.of(generator="openai")
    # Uncommenting the block gives a config that is rejected until the user opts in.
    block = re.search(r"^( +)# openai:\n((?:\1#  .*\n)+)", text, re.M)
    assert block, "config/config.yaml should list the openai generator in a comment"
    indent = block.group(1)
    active = text.replace(block.group(0), re.sub(rf"^{indent}# ?", indent, block.group(0), flags=re.M))
    cfg = yaml.safe_load(active)
    _validate(cfg, str(REPO / "config" / "schema.yaml"))
    assert cfg["datasets"]["wdbc"]["generators"]["openai"]["gpt4"][OPT_IN] is False
    with pytest.raises(ConfigError, match=r"datasets\.wdbc\.generators\.openai\.gpt4\.send_real_rows_to_api"):
        Grid(cfg, _validate)
    cfg["datasets"]["wdbc"]["generators"]["openai"]["gpt4"][OPT_IN] = True
    assert Grid(cfg, _validate).of(generator="openai")


def test_config_without_opt_in_is_rejected_at_workflow_start(tmp_path: Path, run_workflow) -> None:
    cfg = tiny_config(wdbc={"source": {"kind": "wdbc"}, "generators": {"openai": {"g": {"model": "m"}}}})
    proc = run_workflow(tmp_path, cfg, "-n", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "invalid config: datasets.wdbc.generators.openai.g.send_real_rows_to_api: must be true" in out
    assert "sends up to 20 real training rows per request" in out and "third party" in out
    assert not (tmp_path / "results").exists()


# --- through Snakemake ----------------------------------------------------------------


def _wdbc_replies(workdir: Path) -> Callable[[dict[str, Any]], Reply]:
    """Replies built from the workflow's own training split: two exact copies per
    reply (the first example row of the prompt, verbatim, and another training
    row), blends of two rows (valid, new) and one out-of-range row."""

    def reply(req: dict[str, Any]) -> Reply:
        train = pd.read_parquet(workdir / "results/wdbc/data/train.parquet").reset_index(drop=True)
        prompt = req["messages"][1]["content"]
        want = int(re.search(r"Write (\d+) new", prompt).group(1))
        if req["model"] == "starved":
            bad = train.iloc[:want].copy()
            bad["mean radius"] = 1e6
            return Reply(to_csv(bad), delay=0.2)
        header, shown = prompt.split("```csv\n")[1].split("\n")[:2]
        a, b = train.iloc[10 : 10 + want].reset_index(drop=True), train.iloc[40 : 40 + want].reset_index(drop=True)
        blend = a.copy()
        real = [c for c in train.columns if c != "target"]
        blend[real] = (a[real] + b[real]) / 2 + 1e-7
        other = train.iloc[[100 + int(req["seed"])]]  # seed differs per request
        out_of_range = train.iloc[[0]].assign(**{"mean area": -5.0})
        rows = pd.concat([other, blend.iloc[: want - 2], out_of_range])
        body = to_csv(rows).split("\n", 1)[1]
        return Reply(f"```csv\n{header}\n{shown}\n{body}```", delay=0.2)

    return reply


def test_workflow_end_to_end(api: FakeOpenAI, tmp_path: Path, run_workflow) -> None:
    base = {OPT_IN: True, "base_url": api.url, "rows_per_request": 10, "example_rows": 5, "max_retries": 2}
    gens = {
        "openai": {
            "a": {**base, "model": "good", "sample_size": 16},
            "b": {**base, "model": "good", "sample_size": 8},
        }
    }
    cfg = tiny_config(wdbc={"source": {"kind": "wdbc"}, "generators": gens})
    api.script = [Reply(status=429, headers={"retry-after-ms": "50"})]
    api.default = _wdbc_replies(tmp_path)
    proc = run_workflow(tmp_path, cfg)
    assert "Using workflow specific profile" in proc.stdout + proc.stderr

    res = tmp_path / "results"
    train = pd.read_parquet(res / "wdbc/data/train.parquet")
    syn = pd.read_parquet(res / "wdbc/openai/a/synthetic.parquet")
    assert len(syn) == 16 and syn.dtypes.to_dict() == train.dtypes.to_dict()
    m = json.loads((res / "wdbc/openai/a/metrics.json").read_text())
    # a: requests of 10 and 6 rows, each with one invalid row and two copies.
    assert (m["api_requests"], m["rows_returned"], m["rows_valid"], m["rows_invalid"]) == (2, 18, 16, 2)
    assert m["invalid_reasons"] == {"mean area: below min 143.5": 2}
    assert m["rows_memorised"] == 4 and m["rows_memorised_from_prompt"] >= 2
    assert m["training_rows_sent"] <= 10
    assert (
        m["prompt_tokens"] > 0
        and m["api_retries"] + json.loads((res / "wdbc/openai/b/metrics.json").read_text())["api_retries"] == 1
    )
    summary = pd.read_csv(res / "summary.csv")
    assert set(summary.generator) == {"openai"} and "rows_memorised" in summary
    # The rule holds the global resource openai_requests (default profile: 1), so
    # the two jobs never overlap at the server although 2 cores are free.
    assert api.max_in_flight == 1
    assert "openai_requests=1" in proc.stdout + proc.stderr  # shown with each job's resources
    log = (res / "logs/synthesize/wdbc/openai/a.log").read_text()
    assert "openai accounting:" in log and "request 1:" in log

    # A setting whose replies never validate fails on its own, leaving no output.
    gens["openai"]["starved"] = {**base, "model": "starved", "sample_size": 5, "max_requests": 2}
    proc = run_workflow(tmp_path, cfg, check=False)
    assert proc.returncode != 0
    assert not (res / "wdbc/openai/starved").exists() or not any((res / "wdbc/openai/starved").iterdir())
    log = (res / "logs/synthesize/wdbc/openai/starved.log").read_text()
    assert log.splitlines()[-1].startswith("ERROR: openai: only 0 of 5 valid rows after max_requests=2 requests")

    # The key reached the server, and no file the run wrote contains it.
    assert set(api.auth) == {f"Bearer {KEY}"}
    leaks = [
        p
        for d in (res, tmp_path / ".snakemake")
        for p in d.rglob("*")
        if p.is_file() and KEY.encode() in p.read_bytes()
    ]
    assert leaks == []
    assert KEY not in proc.stdout + proc.stderr
