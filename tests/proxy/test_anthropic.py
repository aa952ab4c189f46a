"""Anthropic clients through the proxy: the real `anthropic` SDK, sync, async and streaming."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import anthropic
import pytest

from headroom.ccr.markers import find_refs
from headroom.proxy import ProxyServer
from tests.factories import anthropic_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, ROWS
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _client(proxy: ProxyServer, suffix: str = "") -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url + suffix, max_retries=0)


def _tool_result(body: dict[str, Any]) -> str:
    return body["messages"][2]["content"][0]["content"]


def _assert_compressed(upstream: FakeUpstream, original: dict[str, Any]) -> dict[str, Any]:
    sent = upstream.received[-1].json()
    assert len(_tool_result(sent)) < len(_tool_result(original)) / 4
    assert sent["system"] == original["system"]
    assert sent["messages"][-1] == original["messages"][-1]  # the latest user turn: never altered
    assert sent["messages"][:2] == original["messages"][:2]
    return sent


@pytest.mark.parametrize("suffix", ["", "/v1"])  # ANTHROPIC_BASE_URL with and without /v1
def test_create_compresses_and_returns_upstream_bytes(proxy: ProxyServer, upstream: FakeUpstream, suffix: str) -> None:
    request = anthropic_request(HDFS_LOG)
    raw = _client(proxy, suffix).messages.with_raw_response.create(**request)
    message = raw.parse()
    assert message.content[0].text == "Hello from the fake upstream."
    assert raw.http_response.content == upstream.sent[-1]  # the upstream's bytes, unchanged
    assert raw.headers["request-id"].startswith("req_01")
    assert upstream.received[-1].path == "/v1/messages"  # /v1/v1/messages was normalized
    sent = _assert_compressed(upstream, request)
    refs = find_refs(_tool_result(sent))
    assert refs and "WARN" in _tool_result(sent)  # markers point at stored originals, warnings kept
    assert proxy.state.store.get(refs[0]).text == HDFS_LOG
    assert sent["tools"][-1]["name"] == "headroom_retrieve"  # offered because there are markers


def test_auth_and_version_headers_forwarded(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    client = _client(proxy)
    client.messages.create(**anthropic_request(ROWS), extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    headers = upstream.received[-1].headers
    # The SDK authenticates with x-api-key or a bearer token depending on its version.
    assert ANTHROPIC_KEY in (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))
    assert headers["anthropic-version"]
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert headers["host"] == upstream.url.removeprefix("http://")  # type: ignore[attr-defined]
    sent = upstream.received[-1].json()
    assert "tools" not in sent  # lossless compression only: no markers, nothing to retrieve


def test_async_client(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    async def run() -> str:
        client = anthropic.AsyncAnthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
        async with client:
            message = await client.messages.create(**anthropic_request(HDFS_LOG))
        return message.content[0].text

    assert asyncio.run(run()) == "Hello from the fake upstream."
    _assert_compressed(upstream, anthropic_request(HDFS_LOG))


def test_stream_relays_upstream_bytes(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = anthropic_request(ROWS)
    with _client(proxy).messages.with_streaming_response.create(**request, stream=True) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        received = b"".join(response.iter_bytes())
    assert received == upstream.sent[-1]
    assert received.count(b"event: content_block_delta") > 1
    _assert_compressed(upstream, request)


def test_messages_stream_helper(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = lambda api, body: __import__("tests.proxy.fake_upstream", fromlist=["Reply"]).Reply(
        text="The DataNode at 10.251.30.6 threw an exception."
    )
    with _client(proxy).messages.stream(**anthropic_request(HDFS_LOG)) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "The DataNode at 10.251.30.6 threw an exception."
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    _assert_compressed(upstream, anthropic_request(HDFS_LOG))


def test_async_stream(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    async def run() -> list[str]:
        client = anthropic.AsyncAnthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url + "/v1", max_retries=0)
        async with client:
            stream = await client.messages.create(**anthropic_request(HDFS_LOG), stream=True)
            return [event.type async for event in stream]

    types = asyncio.run(run())
    assert types[0] == "message_start" and types[-1] == "message_stop"


def test_count_tokens_is_compressed(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = anthropic_request(HDFS_LOG)
    request.pop("max_tokens")
    count = _client(proxy, "/v1").messages.count_tokens(**request)
    assert upstream.received[-1].path == "/v1/messages/count_tokens"
    assert count.input_tokens > 0
    _assert_compressed(upstream, request)


def test_cache_control_breakpoints_survive(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = anthropic_request(HDFS_LOG)
    request["system"] = [{"type": "text", "text": "You are an SRE.", "cache_control": {"type": "ephemeral"}}]
    block = request["messages"][2]["content"][0]
    block["cache_control"] = {"type": "ephemeral"}
    request["messages"][3]["content"][0]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    _client(proxy).messages.create(**copy.deepcopy(request))
    sent = upstream.received[-1].json()
    assert sent["system"] == request["system"]
    assert sent["messages"][2]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"][3] == request["messages"][3]
    assert "cache_control" not in sent["tools"][-1]  # our tool adds no breakpoint


def test_model_list_passes_through(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    models = _client(proxy).models.list()
    assert models.data[0].id == "claude-sonnet-4-5"
    assert upstream.received[-1].path == "/v1/models"
    assert ANTHROPIC_KEY in str(upstream.received[-1].headers)
