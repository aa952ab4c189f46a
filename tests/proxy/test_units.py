"""The proxy's small pieces: SSE parsing, usage normalization, redaction, prices, config."""

from __future__ import annotations

import logging

import orjson
import pytest

from headroom.formats.sse import SSEParser, encode_event
from headroom.formats.usage import Usage, UsageTap, usage_from_body, usage_from_mapping
from headroom.pricing import input_price_per_mtok
from headroom.proxy.config import Mode, ProxyConfig
from headroom.proxy.redact import RedactingFilter, redact, safe_headers

STREAM = (
    b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":10,'
    b'"cache_read_input_tokens":90,"cache_creation_input_tokens":0,"output_tokens":1}}}\n\n'
    b": keep-alive comment\n\n"
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"hi"}}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    b'"usage":{"output_tokens":42}}\n\n'
)


@pytest.mark.parametrize("size", [1, 2, 7, 64, len(STREAM)])
def test_sse_parser_keeps_raw_bytes_at_any_chunking(size: int) -> None:
    parser = SSEParser()
    events = []
    for i in range(0, len(STREAM), size):
        events += parser.feed(STREAM[i : i + size])
    events += parser.flush()
    assert b"".join(e.raw for e in events) == STREAM
    assert [e.event for e in events] == ["message_start", None, "content_block_delta", "message_delta"]
    assert events[2].json()["delta"]["text"] == "hi"


def test_sse_crlf_and_multiline_data() -> None:
    parser = SSEParser()
    (event,) = parser.feed(b"event: x\r\ndata: line1\r\ndata: line2\r\n\r\n")
    assert event.event == "x" and event.data == "line1\nline2"
    assert parser.feed(b"data: [DONE]\n\n")[0].json() is None
    assert parser.feed(b"data: {tail") == [] and parser.flush()[0].data == "{tail"
    assert encode_event({"a": 1}, "e") == b'event: e\ndata: {"a":1}\n\n'


def test_usage_tap_merges_anthropic_start_and_delta() -> None:
    tap = UsageTap()
    tap.feed(STREAM)
    assert tap.usage == Usage(input_tokens=10, cache_read_tokens=90, cache_write_tokens=0, output_tokens=42)
    assert tap.usage.hit_rate == 0.9


def test_usage_shapes() -> None:
    chat = {"prompt_tokens": 1000, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 768}}
    assert usage_from_mapping(chat) == Usage(232, 768, 0, 5)
    responses = {"input_tokens": 500, "input_tokens_details": {"cached_tokens": 100}, "output_tokens": 3}
    assert usage_from_mapping(responses) == Usage(400, 100, 0, 3)
    assert usage_from_body(b'{"usage": {"input_tokens": 7, "output_tokens": 1}}') == Usage(7, 0, 0, 1)
    assert usage_from_body(b'not json with "usage"') is None
    assert usage_from_mapping({"prompt_tokens": -3, "completion_tokens": True}) == Usage()


def test_redaction() -> None:
    text = (
        "key sk-ant-api03-abcdefghijklmnopqrstuv and sk-proj-ABCDEFGHIJKLMNOP, Bearer abc.def.ghi123, "
        "GET /v1/models?key=AIzaSySecretValue123&x=1 x-api-key: hunter2hunter2"
    )
    cleaned = redact(text)
    for secret in ("abcdefghijklmnop", "ABCDEFGHIJKLMNOP", "abc.def.ghi123", "AIzaSySecretValue123", "hunter2"):
        assert secret not in cleaned
    assert "x=1" in cleaned and "GET /v1/models" in cleaned
    assert safe_headers({"Authorization": "Bearer sk-x", "Accept": "json"}) == {
        "Authorization": "[redacted]",
        "Accept": "json",
    }


def test_redacting_filter_rewrites_records() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '"%s" %d', ("GET /?api_key=s3cr3t", 200), None
    )
    assert RedactingFilter().filter(record)
    assert "s3cr3t" not in record.getMessage() and "200" in record.getMessage()


def test_redacting_filter_keeps_uvicorn_access_args() -> None:
    from uvicorn.logging import AccessFormatter

    args = ("127.0.0.1:5000", "GET", "/v1/models?key=sk-proj-abcdefghijklmnopqrstu", "1.1", 200)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)
    assert RedactingFilter().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '127.0.0.1:5000 - "GET /v1/models?key=[redacted] HTTP/1.1" 200 OK'


def test_redacting_filter_masks_a_key_in_the_proxys_request_line() -> None:
    # `headroom -v proxy` logs each request's path (never its query): a key pasted into the
    # path is masked like any other.
    from headroom.proxy.handlers import _PASSTHROUGH_LINE

    args = ("GET", "/v1/files/sk-proj-abcdefghijklmnopqrstu", 200, 1.5)
    record = logging.LogRecord("headroom.proxy.handlers", logging.DEBUG, __file__, 1, _PASSTHROUGH_LINE, args, None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "GET /v1/files/[redacted] api=passthrough status=200 upstream_ms=1.5"


def test_prices() -> None:
    assert input_price_per_mtok("claude-sonnet-4-5-20250929") == 3.0
    assert input_price_per_mtok("claude-opus-4-5") == 5.0
    assert input_price_per_mtok("claude-opus-4-1") == 15.0
    assert input_price_per_mtok("gpt-4o-mini-2024-07-18") == 0.15
    assert input_price_per_mtok("llama3:70b") is None


def test_config() -> None:
    config = ProxyConfig(mode="audit", anthropic_upstream="http://x/", port=9)  # type: ignore[arg-type]
    assert config.mode is Mode.AUDIT and config.anthropic_upstream == "http://x" and config.url == "http://127.0.0.1:9"
    with pytest.raises(ValueError):
        ProxyConfig(compress_timeout_ms=0)


@pytest.mark.parametrize(
    ("api", "request_body", "offered"),
    [
        ("anthropic", {"messages": [], "tools": []}, True),
        ("anthropic", {"messages": [], "tool_choice": {"type": "auto"}}, True),
        ("anthropic", {"messages": [], "tool_choice": {"type": "any"}}, False),
        ("anthropic", {"messages": [], "tool_choice": {"type": "none"}}, True),  # same tools as other turns
        ("openai", {"messages": [], "tools": [], "tool_choice": "none"}, True),
        ("anthropic", {"messages": [], "tools": [{"name": "headroom_retrieve"}]}, False),
        ("openai", {"messages": [], "tool_choice": "required"}, False),
        ("openai", {"messages": [], "n": 2}, False),
        ("openai", {"messages": [], "functions": [{"name": "f"}]}, False),
        ("openai", {"messages": [], "tools": [{"type": "function", "function": {"name": "f"}}]}, True),
        ("responses", {"input": "hi", "tool_choice": "auto"}, True),
        (
            "responses",
            {
                "input": [
                    {
                        "type": "additional_tools",
                        "tools": [{"type": "namespace", "tools": [{"type": "function", "name": "headroom_retrieve"}]}],
                    }
                ]
            },
            False,
        ),
    ],
)
def test_when_the_retrieval_tool_is_offered(api: str, request_body: dict, offered: bool) -> None:
    from headroom.formats import FORMATS as DIALECTS

    result = DIALECTS[api].add_tool(request_body)
    assert (result is not None) == offered
    if result is not None:  # appended after the client's own tools
        assert len(result["tools"]) == len(request_body.get("tools") or []) + 1


def test_a_whitespace_only_rewrite_counts_as_a_change() -> None:
    """Reported as "passthrough" at an equal token count, but its text changed: the rewritten
    request must be sent on this turn already, as it will be on every later turn."""
    from headroom.ccr.base import MemoryStore
    from headroom.proxy.compression import RequestCompressor

    text = "".join(f"line {i} of a plain note \t \t \t\n\n\n\n\n\n" for i in range(60))  # whitespace only
    request = {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "Read the note."},
            {"role": "assistant", "content": None, "tool_calls": [_call("c1")]},
            {"role": "tool", "tool_call_id": "c1", "content": text},
            {"role": "user", "content": "Summarize it."},
        ],
    }
    outcome = RequestCompressor(MemoryStore()).compress_sync(request, "openai")
    assert outcome.stats is not None and {u.compressor for u in outcome.stats.units} == {"passthrough"}
    assert outcome.request["messages"][2]["content"] != text and outcome.changed
    untouched = {**request, "messages": [request["messages"][0], request["messages"][3]]}
    assert not RequestCompressor(MemoryStore()).compress_sync(untouched, "openai").changed


def _call(call_id: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": "read_note", "arguments": "{}"}}


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c"])
def test_sse_lines_split_only_on_cr_and_lf(separator: str) -> None:
    text = f"before{separator}after"
    raw = b"event: content_block_delta\ndata: " + orjson.dumps({"delta": {"text": text}}) + b"\n\n"
    (event,) = SSEParser().feed(raw)
    assert event.event == "content_block_delta"
    assert event.json() == {"delta": {"text": text}}


@pytest.mark.parametrize("last", [{"choices": []}, {"choices": [{"index": 0}]}, {"choices": None}, {}])
def test_chat_finish_survives_a_last_round_without_a_message(last: dict) -> None:
    from headroom.formats.openai_chat import OpenAIChatFormat as ChatDialect

    result = ChatDialect().finish(["Looked it up. "], {"id": "c2", **last})
    assert result["id"] == "c2"
    assert result["choices"][0]["message"]["content"] == "Looked it up. "


def test_http_url_brackets_ipv6() -> None:
    from headroom.proxy._net import http_url

    assert http_url("127.0.0.1", 8787) == "http://127.0.0.1:8787"
    assert http_url("::1", 8787) == "http://[::1]:8787"
    assert ProxyConfig(host="::1", port=9).url == "http://[::1]:9"


def test_is_proxy_running_on_a_server_answering_a_non_object(monkeypatch) -> None:
    import httpx

    from headroom.proxy import server

    monkeypatch.setattr(server.httpx, "get", lambda *a, **k: httpx.Response(200, json=["not", "a", "dict"]))
    assert server.is_proxy_running("http://127.0.0.1:1") is False
