"""Bad input and bad upstreams: errors pass through verbatim, the proxy fails open, never crashes
and never logs a key."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from headroom.pipeline import Pipeline
from headroom.proxy import ProxyServer
from tests.factories import anthropic_request, openai_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY, start_proxy
from tests.proxy.fake_upstream import FakeUpstream, Reply, anthropic_error, openai_error

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _claude(proxy: ProxyServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)


def _chat(proxy: ProxyServer) -> openai.OpenAI:
    return openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)


def _healthy(proxy: ProxyServer) -> bool:
    return httpx.get(proxy.url + "/health").json()["status"] == "ok"


def test_rate_limit_passes_through_verbatim(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    body = anthropic_error(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit")
    headers = {"retry-after": "7", "anthropic-ratelimit-requests-remaining": "0", "x-should-retry": "true"}
    upstream.fail_next(429, body, headers)
    with pytest.raises(anthropic.RateLimitError) as caught:
        _claude(proxy).messages.create(**anthropic_request(HDFS_LOG))
    response = caught.value.response
    assert response.status_code == 429
    assert response.content == body
    assert response.headers["retry-after"] == "7"
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert caught.value.body == json.loads(body)


@pytest.mark.parametrize("stream", [False, True])
def test_openai_bad_request_passes_through(proxy: ProxyServer, upstream: FakeUpstream, stream: bool) -> None:
    body = openai_error("Invalid value for 'temperature'.", "invalid_request_error", "invalid_value")
    upstream.fail_next(400, body, {"x-request-id": "req_abc"})
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(proxy).chat.completions.create(**openai_request(HDFS_LOG), stream=stream)
    assert caught.value.response.content == body
    assert caught.value.response.headers["x-request-id"] == "req_abc"
    assert caught.value.code == "invalid_value"


def test_overloaded_error_event_mid_stream(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = lambda api, body: Reply(text="partial answer " * 5, error_after=4)
    with _claude(proxy).messages.with_streaming_response.create(**anthropic_request(HDFS_LOG), stream=True) as response:
        received = b"".join(response.iter_bytes())
    assert received == upstream.sent[-1]
    assert received.endswith(
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )
    with (
        pytest.raises(anthropic.APIStatusError, match="Overloaded"),
        _claude(proxy).messages.stream(**anthropic_request(HDFS_LOG)) as stream,
    ):
        for _ in stream:
            pass


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_upstream_down_gives_a_clear_502() -> None:
    with start_proxy(_closed_port()) as proxy:
        with pytest.raises(anthropic.InternalServerError) as caught:
            _claude(proxy).messages.create(**anthropic_request(HDFS_LOG))
        assert caught.value.status_code == 502
        assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]
        assert "upstream unreachable" in caught.value.body["error"]["message"]  # type: ignore[index]
        with pytest.raises(openai.InternalServerError) as chat_error:
            _chat(proxy).chat.completions.create(**openai_request(HDFS_LOG), stream=True)
        assert chat_error.value.status_code == 502
        response = httpx.get(proxy.url + "/v1/models")
        assert response.status_code == 502 and "upstream unreachable" in response.json()["error"]["message"]
        assert _healthy(proxy)


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions", "/v1/responses"])
def test_malformed_json_is_forwarded_for_the_upstream_to_judge(
    proxy: ProxyServer, upstream: FakeUpstream, path: str
) -> None:
    body = b'{"model": "x", "messages": [{"role": "user", "content": "hi"'  # truncated
    response = httpx.post(proxy.url + path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert upstream.received[-1].body == body
    assert response.content == upstream.sent[-1]
    assert _healthy(proxy)


def test_wrong_content_type_is_not_touched(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    body = json.dumps(anthropic_request(HDFS_LOG)).encode()
    response = httpx.post(proxy.url + "/v1/messages", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 200
    assert upstream.received[-1].body == body  # byte for byte: not ours to rewrite


def test_body_over_the_limit_is_refused(upstream: FakeUpstream) -> None:
    with start_proxy(upstream.url, max_body_bytes=1 << 20) as proxy:  # type: ignore[attr-defined]
        huge = json.dumps(anthropic_request("x" * (2 << 20))).encode()
        response = httpx.post(proxy.url + "/v1/messages", content=huge, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "request_too_large"
        assert not upstream.received and _healthy(proxy)


def test_huge_body_under_the_limit_is_forwarded(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    line = json.dumps([{"id": i, "value": "v" * 40} for i in range(60_000)])  # one ~4 MB line
    message = _claude(proxy).messages.create(**anthropic_request(line))
    assert message.content[0].text == "Hello from the fake upstream."
    assert len(upstream.received[-1].body) > 0 and _healthy(proxy)


def test_unknown_paths_and_methods_pass_through(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    payload = bytes(range(256)) * 100
    response = httpx.put(
        proxy.url + "/v1/files/file-abc?purpose=batch&x=1",
        content=payload,
        headers={"authorization": f"Bearer {OPENAI_KEY}", "content-type": "application/octet-stream"},
    )
    echo = response.json()
    assert response.headers["x-echo"] == "1"
    assert echo["method"] == "PUT" and echo["path"] == "/v1/files/file-abc" and echo["query"] == "purpose=batch&x=1"
    assert echo["body_length"] == len(payload)
    assert upstream.received[-1].body == payload
    assert upstream.received[-1].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    deleted = httpx.delete(proxy.url + "/v1/batches/batch_1", headers={"x-api-key": ANTHROPIC_KEY})
    assert deleted.json()["method"] == "DELETE"


def test_passthrough_routes_by_provider() -> None:
    anthropic_side, openai_side = FakeUpstream(), FakeUpstream()
    from headroom.proxy import BackgroundServer, ProxyConfig

    with (
        BackgroundServer(anthropic_side.app) as a,
        BackgroundServer(openai_side.app) as o,
        ProxyServer(ProxyConfig(port=0, anthropic_upstream=a.url, openai_upstream=o.url)) as proxy,
    ):
        httpx.get(proxy.url + "/v1/models", headers={"anthropic-version": "2023-06-01"})
        httpx.get(proxy.url + "/v1/models", headers={"authorization": "Bearer x"})
        httpx.get(proxy.url + "/v1/v1/models")
        httpx.post(proxy.url + "/v1/chat/completions", json=openai_request("hi"))
        httpx.post(proxy.url + "/v1/v1/messages", json=anthropic_request("hi"))
    assert [r.path for r in anthropic_side.received] == ["/v1/models", "/v1/models", "/v1/messages"]
    assert [r.path for r in openai_side.received] == ["/v1/models", "/v1/chat/completions"]


@pytest.mark.parametrize("retrieval", [False, True])
def test_client_disconnect_mid_stream_cancels_upstream(upstream: FakeUpstream, retrieval: bool) -> None:
    upstream.brain = lambda api, body: Reply(text="token " * 400, chunk_delay=0.02)
    with start_proxy(upstream.url, retrieval=retrieval) as proxy:  # type: ignore[attr-defined]
        request = anthropic_request(HDFS_LOG)
        with httpx.stream(
            "POST", proxy.url + "/v1/messages", json={**request, "stream": True}, headers={"x-api-key": ANTHROPIC_KEY}
        ) as response:
            chunks = response.iter_bytes()
            assert b"message_start" in next(chunks)
            next(chunks)
        # The client is gone: the proxy must close its upstream stream long before it ends.
        assert upstream.aborted.wait(10)
        assert upstream.streams_completed == 0
        assert _healthy(proxy)
        assert _claude(proxy).messages.create(**anthropic_request("next")).content  # still serving


def test_fail_open_when_compression_raises(upstream: FakeUpstream, monkeypatch) -> None:
    """A compression bug fails open per unit too: a new unit goes whole, a unit sent compressed
    on an earlier turn keeps its bytes (else the provider's cached prefix breaks)."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("compressor bug")

    with start_proxy(upstream.url) as proxy:  # type: ignore[attr-defined]
        turn1 = anthropic_request(HDFS_LOG)
        _claude(proxy).messages.create(**turn1)
        monkeypatch.setattr(proxy.state.compressor, "compress_sync", broken)
        new_log = HDFS_LOG.replace("INFO", "WARN")
        turn2 = {
            **turn1,
            "messages": [
                *turn1["messages"],
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "read", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": new_log}]},
            ],
        }
        _claude(proxy).messages.create(**turn2)
        assert proxy.state.metrics.fail_open == {"error": 1}
    first, second = (r.json()["messages"] for r in upstream.received[-2:])
    assert second[: len(first)] == first  # turn 1's compressed bytes again
    assert second[-1]["content"][0]["content"] == new_log  # the new unit went whole


def test_fail_open_on_timeout(upstream: FakeUpstream, monkeypatch) -> None:
    with start_proxy(upstream.url, compress_timeout_ms=50, inline_compress_bytes=0) as proxy:  # type: ignore[attr-defined]
        slow = proxy.state.compressor.compress_sync

        def sleepy(*args: object) -> object:
            time.sleep(0.5)
            return slow(*args)

        monkeypatch.setattr(proxy.state.compressor, "compress_sync", sleepy)
        request = openai_request(HDFS_LOG)
        _chat(proxy).chat.completions.create(**request)
        assert upstream.received[-1].json()["messages"] == request["messages"]
        assert proxy.state.metrics.fail_open == {"timeout": 1}


def test_a_unit_that_times_out_fails_open_alone(upstream: FakeUpstream, monkeypatch) -> None:
    """A 10-turn session whose turn 6 brings a unit that runs past the budget: that request goes
    out at the budget with the new unit whole, turns 1-5's units keep the exact bytes they were
    sent with, the slow unit stays whole on every later turn (though its compression finishes in
    the background), and the units of turns 7-10 still compress."""
    stall, released = "STALL-THIS-UNIT", threading.Event()
    real = Pipeline._compress_uncached

    def compress_uncached(self: Pipeline, text: str, *args: Any, **kwargs: Any) -> Any:
        if stall in text:
            released.wait(60)  # an event, not a sleep: it outlasts the budget however busy the machine
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "_compress_uncached", compress_uncached)
    units = [HDFS_LOG + f"\n081111 000000 {n} INFO dfs.DataNode: run {n}" for n in range(1, 11)]
    units[5] += f"\n{stall}"
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What happened to the blocks?"}]
    with start_proxy(upstream.url, compress_timeout_ms=3000, inline_compress_bytes=0) as proxy:  # type: ignore[attr-defined]
        for n, unit in enumerate(units, 1):
            call = {"id": f"call_{n}", "type": "function", "function": {"name": "read_log", "arguments": "{}"}}
            messages += [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": f"call_{n}", "content": unit},
            ]
            _chat(proxy).chat.completions.create(
                model="gpt-4o", messages=[*messages, {"role": "user", "content": "Go on."}]
            )
            if n == 6:
                released.set()
        assert proxy.state.metrics.fail_open == {"timeout": 1}
    sent = [r.json()["messages"] for r in upstream.received]
    assert len(sent) == 10
    for n in range(9):  # every turn starts with the previous turn's exact bytes (its last user turn aside)
        assert json.dumps(sent[n + 1][: len(sent[n]) - 1]) == json.dumps(sent[n][:-1]), f"turn {n + 2}"
    final = [m["content"] for m in sent[-1] if m["role"] == "tool"]
    assert final[5] == units[5]  # whole, as first sent
    assert all(len(final[i]) < len(units[i]) // 2 for i in (0, 1, 2, 3, 4, 6, 7, 8, 9))


def test_keys_never_reach_the_logs(upstream: FakeUpstream, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with start_proxy(upstream.url) as proxy:  # type: ignore[attr-defined]
        upstream.fail_next(429, anthropic_error(429, "rate_limit_error", "slow down"), {"retry-after": "1"})
        with pytest.raises(anthropic.RateLimitError):
            _claude(proxy).messages.create(**anthropic_request(HDFS_LOG))
        _chat(proxy).chat.completions.create(**openai_request(HDFS_LOG))
        httpx.post(proxy.url + "/v1/messages", content=b"{bad", headers={"x-api-key": ANTHROPIC_KEY})
    with start_proxy(_closed_port()) as down, pytest.raises(openai.InternalServerError):
        _chat(down).chat.completions.create(**openai_request("hi"))
    assert caplog.records  # debug logging was on
    assert ANTHROPIC_KEY not in caplog.text and OPENAI_KEY not in caplog.text
