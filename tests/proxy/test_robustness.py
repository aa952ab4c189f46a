"""Odd upstreams and odd bodies, in process: the proxy app over httpx's ASGI transport, the
upstream an `httpx.MockTransport`. Failures must reach the client in its provider's shape,
never as a bare 500, and bodies the proxy cannot re-serialize faithfully go out untouched."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.proxy import ProxyConfig
from headroom.proxy.app import build_app
from tests.factories import anthropic_request, openai_request
from tests.proxy._fake_wire import anthropic_events
from tests.proxy.conftest import HDFS_LOG

Handler = Callable[[httpx.Request], Any]


class BrokenStream(httpx.AsyncByteStream):
    """A body that sends `chunks`, then breaks like a dropped connection."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        raise httpx.ReadError("connection reset")

    async def aclose(self) -> None:
        self.closed = True


def call(handler: Handler, path: str, body: Any, apps: list[Any] | None = None, **overrides: Any) -> httpx.Response:
    """One request through a fresh proxy app whose upstream is `handler` (appended to `apps`)."""
    config = ProxyConfig(anthropic_upstream="http://up", openai_upstream="http://up", **overrides)
    app = build_app(config, store=MemoryStore(), transport=httpx.MockTransport(handler))
    if apps is not None:
        apps.append(app)
    content = body if isinstance(body, bytes) else orjson.dumps(body)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            response = await client.post(path, content=content, headers={"content-type": "application/json"})
            await response.aread()
            return response

    return asyncio.run(go())


def _retrieve_reply(request: httpx.Request) -> httpx.Response:
    ref = find_refs(request.content.decode())[0]
    content = [{"type": "tool_use", "id": "toolu_r", "name": "headroom_retrieve", "input": {"ref": ref}}]
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": content, "stop_reason": "tool_use"}
    return httpx.Response(200, json=message)


# -- finding 1: a failing continuation or body read is a provider-shaped 502/504 ------------


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_continuation_unreachable_is_a_provider_error(failure: Exception) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return _retrieve_reply(request)
        raise failure

    response = call(handler, "/v1/messages", anthropic_request(HDFS_LOG))
    assert len(calls) == 2
    assert response.status_code == (504 if isinstance(failure, httpx.TimeoutException) else 502)
    assert response.json()["type"] == "error" and "upstream" in response.json()["error"]["message"]
    assert response.headers["content-length"] == str(len(response.content))


def test_continuation_body_breaking_is_a_provider_error() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return _retrieve_reply(request)
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=BrokenStream(b'{"id'))

    response = call(handler, "/v1/messages", anthropic_request(HDFS_LOG))
    assert response.status_code == 502 and response.json()["error"]["type"] == "api_error"


@pytest.mark.parametrize("retrieval", [True, False])
def test_first_body_breaking_is_a_provider_error(retrieval: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=BrokenStream(b'{"id"'))

    response = call(handler, "/v1/chat/completions", openai_request(HDFS_LOG), retrieval=retrieval)
    assert response.status_code == 502
    assert "upstream unreachable" in response.json()["error"]["message"]


# -- findings 2 and 3: bodies orjson cannot write back faithfully go out untouched ----------


def _recording(received: list[bytes]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        message = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "stop_reason": "end_turn"}
        return httpx.Response(200, json=message)

    return handler


def _with_tool_input(value: str) -> bytes:
    """An Anthropic request (with a compressible tool result) whose earlier tool call's input is
    the raw JSON `value`."""
    body = orjson.dumps(anthropic_request(HDFS_LOG))
    return body.replace(b'"input":{"limit":200}', b'"input":{"limit":' + value.encode() + b"}")


@pytest.mark.parametrize(
    "value",
    ["123456789012345678901234567890", "-9223372036854775809", "[" * 300 + "1" + "]" * 300],
    ids=["wide-int", "below-int64", "deep"],
)
def test_unfaithful_round_trip_forwards_the_original_bytes(value: str) -> None:
    body = _with_tool_input(value)
    assert body.count(value.encode()) == 1
    received: list[bytes] = []
    apps: list[Any] = []
    response = call(_recording(received), "/v1/messages", body, apps)
    assert response.status_code == 200
    assert received == [body]
    assert sum(apps[0].state.proxy.metrics.fail_open.values()) == 1  # counted


def test_long_digit_strings_still_compress() -> None:
    body = _with_tool_input('"1234567890123456789012345"')  # a long number inside a string: fine
    received: list[bytes] = []
    assert call(_recording(received), "/v1/messages", body).status_code == 200
    assert len(received[0]) < len(body) and b'"1234567890123456789012345"' in received[0]


# -- finding 4: a body httpx decoded goes out without the upstream's content-encoding ---------

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Decoded answer."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 3},
}


def _gzipped(data: bytes, content_type: str) -> httpx.Response:
    packed = gzip.compress(data)
    headers = {"content-type": content_type, "content-encoding": "gzip", "content-length": str(len(packed))}
    return httpx.Response(200, headers=headers, content=packed)


@pytest.mark.parametrize("retrieval", [True, False])
def test_gzipped_json_reaches_the_client_decoded(retrieval: bool) -> None:
    data = orjson.dumps(MESSAGE)
    response = call(
        lambda r: _gzipped(data, "application/json"), "/v1/messages", anthropic_request(HDFS_LOG), retrieval=retrieval
    )
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    assert response.json()["content"][0]["text"] == "Decoded answer."


def test_gzipped_stream_through_the_retrieval_loop() -> None:
    events = b"".join(anthropic_events(MESSAGE, None))
    response = call(
        lambda r: _gzipped(events, "text/event-stream"), "/v1/messages", {**anthropic_request(HDFS_LOG), "stream": True}
    )
    assert response.status_code == 200 and "content-encoding" not in response.headers
    assert b"Decoded answ" in response.content and b"message_stop" in response.content


# -- finding 6: an upstream that breaks mid-stream ends the client's stream with an error -----


def _broken_sse(*events: bytes) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=BrokenStream(*events))

    return handler


@pytest.mark.parametrize("retrieval", [True, False])
@pytest.mark.parametrize("partial", [b"", b'event: content_block_delta\ndata: {"type":"content_bl'])
def test_anthropic_stream_broken_mid_way_ends_in_an_error_event(retrieval: bool, partial: bytes) -> None:
    events = anthropic_events(MESSAGE, None)[:4]
    request = {**anthropic_request(HDFS_LOG), "stream": True}
    response = call(_broken_sse(*events, partial), "/v1/messages", request, retrieval=retrieval)
    assert response.status_code == 200
    assert response.content.startswith(events[0])
    tail = response.content.rsplit(b"\n\n", 2)[-2]
    assert tail.startswith(b"event: error\ndata: ") and b"upstream stream broke (ReadError)" in tail
    # The half event is dropped, not closed: the error event follows the last whole one.
    assert response.content.startswith(b"".join(events) + b"event: error\n")


@pytest.mark.parametrize("retrieval", [True, False])
def test_chat_stream_broken_mid_way_ends_in_an_error_and_done(retrieval: bool) -> None:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    first = b"data: " + orjson.dumps(chunk) + b"\n\n"
    request = {**openai_request(HDFS_LOG), "stream": True}
    response = call(_broken_sse(first), "/v1/chat/completions", request, retrieval=retrieval)
    assert response.content.startswith(first)
    assert response.content.endswith(b"data: [DONE]\n\n")
    assert b'"error":{"message":"headroom proxy: upstream stream broke (ReadError)"' in response.content


def test_responses_error_event_carries_the_next_sequence_number() -> None:
    events = [
        b"event: response.created\ndata: "
        + orjson.dumps({"type": "response.created", "sequence_number": n, "response": {"id": "r"}})
        + b"\n\n"
        for n in range(3)
    ]
    request = {"model": "gpt-5", "input": "hi", "stream": True}
    response = call(_broken_sse(*events), "/v1/responses", request)
    error = response.content.rsplit(b"\n\n", 2)[-2].split(b"data: ", 1)[1]
    assert orjson.loads(error)["type"] == "error" and orjson.loads(error)["sequence_number"] == 3


# -- finding 7: a failed continuation during a stream is read, closed and reported ------------


def test_streamed_continuation_error_with_a_broken_body_is_closed_and_reported() -> None:
    calls: list[httpx.Request] = []
    failed = BrokenStream(b'{"type":"error","error":{"type":"overloaded_error"')

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) > 1:
            return httpx.Response(529, headers={"content-type": "application/json"}, stream=failed)
        ref = find_refs(request.content.decode())[0]
        block = {"type": "tool_use", "id": "toolu_r", "name": "headroom_retrieve", "input": {"ref": ref}}
        message = {**MESSAGE, "content": [block], "stop_reason": "tool_use"}
        events = b"".join(anthropic_events(message, None))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events)

    response = call(handler, "/v1/messages", {**anthropic_request(HDFS_LOG), "stream": True})
    assert len(calls) == 2 and failed.closed
    tail = response.content.rsplit(b"\n\n", 2)[-2]
    assert tail.startswith(b"event: error\n") and b"upstream returned 529 during retrieval" in tail
    assert b"headroom_retrieve" not in response.content


# -- finding 10: a loopback-bound proxy answers only requests addressed to a loopback name ----


def _health(host_header: str, bind: str = "127.0.0.1") -> int:
    app = build_app(ProxyConfig(host=bind), store=MemoryStore(), transport=httpx.MockTransport(_recording([])))

    async def go() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            return (await client.get("/health", headers={"host": host_header})).status_code

    return asyncio.run(go())


@pytest.mark.parametrize("host", ["127.0.0.1:8787", "localhost:8787", "LOCALHOST", "[::1]:8787", "[::1]", "127.0.0.2"])
def test_loopback_names_are_served(host: str) -> None:
    assert _health(host) == 200


@pytest.mark.parametrize("host", ["attacker.example:8787", "attacker.example", "", "10.0.0.1:8787", "[::2]:80"])
def test_other_host_headers_are_refused_on_loopback(host: str) -> None:
    assert _health(host) == 400


# Issue 12 #8: Host is parsed strictly (a name or IPv4, or an IPv6 in brackets; an optional
# numeric port), so a value that merely starts like a loopback name is refused.
@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:19011@evil.com",
        "[::1",
        "127.0.0.1:abc",
        "localhost:",
        "localhost:99999",
        "127.0.0.1:80:80",
        "[::1]x",
        "[::1]:80x",
        "[::1]:",
        "::1",
        "[127.0.0.1]",
        "localhost/evil.com",
        "localhost evil.com",
        "user@localhost",
        "localhost:+80",
    ],
)
def test_malformed_host_headers_are_refused_on_loopback(host: str) -> None:
    assert _health(host) == 400


@pytest.mark.parametrize("host", ["localhost:1", "127.0.0.1:65535", "[::1]:0", "127.9.8.7", "app.localhost:8787"])
def test_well_formed_loopback_hosts_are_served(host: str) -> None:
    assert _health(host) == 200


def test_a_proxy_bound_beyond_loopback_serves_any_host() -> None:
    assert _health("proxy.internal:8787", bind="0.0.0.0") == 200


# -- finding 14: all compression workers busy (abandoned jobs) -> fail open at once ----------


def test_busy_workers_fail_open_at_once_instead_of_queueing() -> None:
    import threading

    from headroom.proxy.compression import RequestCompressor

    release = threading.Event()
    compressor = RequestCompressor(MemoryStore(), timeout_ms=500, inline_bytes=0, workers=1)
    real = compressor.compress_sync

    def stuck(request: dict[str, Any], fmt: str) -> Any:
        release.wait(10)
        return real(request, fmt)

    compressor.compress_sync = stuck  # type: ignore[method-assign]
    request = anthropic_request(HDFS_LOG)

    async def go() -> list[str | None]:
        first = await compressor.compress(request, "anthropic", 10**6)  # times out, job keeps its worker
        second = await compressor.compress(request, "anthropic", 10**6)  # the worker is still taken
        release.set()
        while not compressor._free.acquire(blocking=False):  # the abandoned job ends, its slot frees
            await asyncio.sleep(0.01)
        compressor._free.release()
        compressor.compress_sync = real  # type: ignore[method-assign]
        third = await compressor.compress(request, "anthropic", 10**6)
        return [first.failed, second.failed, third.failed]

    try:
        assert asyncio.run(go()) == ["timeout", "busy", None]
    finally:
        release.set()
        compressor.close()
