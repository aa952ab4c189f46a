"""OpenAI clients through the proxy: the real `openai` SDK, Chat Completions and Responses."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai

from headroom.ccr.markers import find_refs
from headroom.proxy import ProxyServer
from tests.factories import openai_request, responses_request
from tests.proxy.conftest import HDFS_LOG, OPENAI_KEY, ROWS
from tests.proxy.fake_upstream import FakeUpstream, Reply, ToolCall


def _client(proxy: ProxyServer, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0, **kwargs)


def _chat_compressed(upstream: FakeUpstream, original: dict[str, Any]) -> dict[str, Any]:
    sent = upstream.received[-1].json()
    assert upstream.received[-1].path == "/v1/chat/completions"
    assert len(sent["messages"][3]["content"]) < len(original["messages"][3]["content"]) / 4
    for i in (0, 1, 2, 4, 5):  # system, user turns, assistant turns: never altered
        assert sent["messages"][i] == original["messages"][i]
    return sent


def _responses_compressed(upstream: FakeUpstream, original: dict[str, Any]) -> dict[str, Any]:
    sent = upstream.received[-1].json()
    assert upstream.received[-1].path == "/v1/responses"
    assert len(sent["input"][2]["output"]) < len(original["input"][2]["output"]) / 4
    assert sent["instructions"] == original["instructions"]
    assert sent["input"][-1] == original["input"][-1]
    return sent


def test_chat_create(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = openai_request(HDFS_LOG)
    raw = _client(proxy).chat.completions.with_raw_response.create(**request)
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from the fake upstream."
    assert raw.http_response.content == upstream.sent[-1]
    sent = _chat_compressed(upstream, request)
    assert find_refs(sent["messages"][3]["content"])
    assert sent["tools"][-1]["function"]["name"] == "headroom_retrieve"
    assert upstream.received[-1].headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_org_and_project_headers_forwarded(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    _client(proxy, organization="org-abc", project="proj_123").chat.completions.create(**openai_request(ROWS))
    headers = upstream.received[-1].headers
    assert headers["openai-organization"] == "org-abc"
    assert headers["openai-project"] == "proj_123"
    assert "tools" not in upstream.received[-1].json()  # lossless: nothing to retrieve


def test_chat_async(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    async def run() -> str | None:
        async with openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0) as client:
            completion = await client.chat.completions.create(**openai_request(HDFS_LOG))
        return completion.choices[0].message.content

    assert asyncio.run(run()) == "Hello from the fake upstream."
    _chat_compressed(upstream, openai_request(HDFS_LOG))


def test_chat_stream_bytes_and_usage(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = openai_request(ROWS)
    with _client(proxy).chat.completions.with_streaming_response.create(
        **request, stream=True, stream_options={"include_usage": True}
    ) as response:
        received = b"".join(response.iter_bytes())
    assert received == upstream.sent[-1]
    assert received.endswith(b"data: [DONE]\n\n")
    _chat_compressed(upstream, request)


def test_chat_stream_with_client_tool_call(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = lambda api, body: Reply(tool_calls=(ToolCall("list_customers", {"limit": 5}),))
    stream = _client(proxy).chat.completions.create(**openai_request(HDFS_LOG), stream=True)
    calls: dict[int, str] = {}
    finish = None
    for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or () if chunk.choices else ():
            calls[call.index] = calls.get(call.index, "") + (call.function.arguments or "")
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert calls == {0: '{"limit":5}'}
    assert finish == "tool_calls"


def test_async_chat_stream(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0) as client:
            stream = await client.chat.completions.create(**openai_request(HDFS_LOG), stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(run()) == "Hello from the fake upstream."


def test_responses_create(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = responses_request(HDFS_LOG)
    raw = _client(proxy).responses.with_raw_response.create(**request)
    assert raw.parse().output_text == "Hello from the fake upstream."
    assert raw.http_response.content == upstream.sent[-1]
    sent = _responses_compressed(upstream, request)
    assert sent["tools"][-1]["name"] == "headroom_retrieve"


def test_responses_stream(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = responses_request(HDFS_LOG)
    with _client(proxy).responses.stream(**request) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Hello from the fake upstream."
    assert final.usage is not None and final.usage.input_tokens > 0
    _responses_compressed(upstream, request)


def test_responses_create_stream_bytes(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = responses_request(ROWS)
    with _client(proxy).responses.with_streaming_response.create(**request, stream=True) as response:
        received = b"".join(response.iter_bytes())
    assert received == upstream.sent[-1]
    assert b"event: response.completed" in received


def test_async_responses(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0) as client:
            response = await client.responses.create(**responses_request(HDFS_LOG))
        return response.output_text

    assert asyncio.run(run()) == "Hello from the fake upstream."


def test_other_openai_endpoints_pass_through(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    client = _client(proxy)
    assert client.models.list().data[0].id == "gpt-4o"
    embedding = client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert embedding.data[0].embedding == [0.25, -0.5]
    assert upstream.received[-1].path == "/v1/embeddings"
    assert upstream.received[-1].json()["input"] == "hello"


def test_azure_style_paths_are_compressed(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    client = openai.AzureOpenAI(
        api_key=OPENAI_KEY, azure_endpoint=proxy.url, api_version="2024-10-21", azure_deployment="gpt4o", max_retries=0
    )
    client.chat.completions.create(**openai_request(HDFS_LOG))
    record = upstream.received[-1]
    assert record.path == "/openai/deployments/gpt4o/chat/completions" and record.query == "api-version=2024-10-21"
    assert record.headers["api-key"] == OPENAI_KEY
    _chat_compressed_at(record.json(), openai_request(HDFS_LOG))


def test_assistants_thread_messages_pass_through(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    body = {"role": "user", "content": HDFS_LOG}
    httpx.post(proxy.url + "/v1/threads/thread_1/messages", json=body, headers={"authorization": "Bearer x"})
    assert upstream.received[-1].path == "/v1/threads/thread_1/messages"
    assert upstream.received[-1].json() == body  # not an Anthropic Messages call: untouched


def _chat_compressed_at(sent: dict[str, Any], original: dict[str, Any]) -> None:
    assert len(sent["messages"][3]["content"]) < len(original["messages"][3]["content"]) / 4
