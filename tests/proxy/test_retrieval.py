"""Transparent retrieval: the model calls headroom_retrieve, the proxy answers it from the store
and continues upstream; the client only ever sees its own tools."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import openai
import orjson
import pytest

from headroom.ccr.markers import find_refs
from headroom.proxy import ProxyServer
from tests.factories import anthropic_request, openai_request, responses_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY, start_proxy
from tests.proxy.fake_upstream import FakeUpstream, Reply, ToolCall, anthropic_error, last_tool_output

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NEEDLE = "Got exception while serving"  # in WARN lines the log compressor keeps; the full text is retrieved
REQUESTS = {"anthropic": anthropic_request, "openai": openai_request, "responses": responses_request}


def retriever(preamble: str = "", client_tool: bool = False, always: bool = False) -> Callable[..., Reply]:
    """A model that looks up the first marker, then answers with the first retrieved line."""

    def brain(api: str, body: dict[str, Any]) -> Reply:
        output = last_tool_output(api, body)
        if output and output.startswith("h_") and not always:
            found = NEEDLE if NEEDLE in output else "nothing"
            return Reply(text=f"Answer: the original says {found}")
        refs = find_refs(orjson.dumps(body).decode())
        call = ToolCall("headroom_retrieve", {"ref": refs[0], "query": "exception"})
        extra = (ToolCall("list_customers", {"limit": 1}),) if client_tool else ()
        return Reply(text=preamble, tool_calls=(call, *extra))

    return brain


def _answer_line() -> str:
    return f"Answer: the original says {NEEDLE}"


def _chat(proxy: ProxyServer) -> openai.OpenAI:
    return openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)


def _claude(proxy: ProxyServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)


def _assert_loop_ran(upstream: FakeUpstream, api: str) -> None:
    assert len(upstream.received) == 2
    continuation = upstream.received[1].json()
    retrieved = last_tool_output(api, continuation)
    assert retrieved is not None and retrieved.startswith("h_") and NEEDLE in retrieved
    # The continuation replays the compressed request, then the model's call and our answer.
    first = upstream.received[0].json()
    key = "input" if api == "responses" else "messages"
    assert continuation[key][: len(first[key])] == first[key]


def test_anthropic_create(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = retriever(preamble="Let me look at the full log.")
    message = _claude(proxy).messages.create(**anthropic_request(HDFS_LOG))
    assert [b.type for b in message.content] == ["text", "text"]
    assert message.content[0].text == "Let me look at the full log."
    assert message.content[1].text == _answer_line()
    assert message.stop_reason == "end_turn"
    _assert_loop_ran(upstream, "anthropic")


def test_anthropic_stream(upstream: FakeUpstream) -> None:
    upstream.brain = retriever(preamble="Checking.")
    # A proxy of its own: the shared one may still be counting an earlier test's exchange.
    # Counted once the exchange is over, which may be just after the client read the last event;
    # leaving the `with` stops the server only after every exchange has finished.
    with (
        start_proxy(upstream.url) as proxy,  # type: ignore[attr-defined]
        _claude(proxy).messages.stream(**anthropic_request(HDFS_LOG)) as stream,
    ):
        events = [event.type for event in stream]
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "text"]
    assert final.content[0].text == "Checking." and final.content[1].text == _answer_line()
    assert final.stop_reason == "end_turn"
    assert events.count("message_start") == 1 and events[-1] == "message_stop"
    _assert_loop_ran(upstream, "anthropic")
    assert proxy.state.metrics.retrieval_calls == 1


def test_chat_create(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = retriever()
    completion = _chat(proxy).chat.completions.create(**openai_request(HDFS_LOG))
    message = completion.choices[0].message
    assert message.content == _answer_line()
    assert not message.tool_calls and completion.choices[0].finish_reason == "stop"
    _assert_loop_ran(upstream, "openai")


def test_chat_stream(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = retriever(preamble="Looking. ")
    stream = _chat(proxy).chat.completions.create(
        **openai_request(HDFS_LOG), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Looking. " + _answer_line()
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None  # the final round's usage chunk reaches the client
    _assert_loop_ran(upstream, "openai")


def test_responses_create(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = retriever(preamble="Let me check.")
    response = _chat(proxy).responses.create(**responses_request(HDFS_LOG))
    assert [item.type for item in response.output] == ["message", "message"]
    assert response.output_text == "Let me check." + _answer_line()
    _assert_loop_ran(upstream, "responses")


def test_responses_stream(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = retriever(preamble="Let me check.")
    with _chat(proxy).responses.stream(**responses_request(HDFS_LOG)) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert final.output_text == "Let me check." + _answer_line()
    assert [item.type for item in final.output] == ["message", "message"]
    assert not any(getattr(e, "item", None) and e.item.type == "function_call" for e in events)
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(numbers)))  # renumbered across rounds
    _assert_loop_ran(upstream, "responses")


@pytest.mark.parametrize("api", ["anthropic", "openai", "responses"])
@pytest.mark.parametrize("stream", [False, True])
def test_mixed_calls_return_only_client_tools(
    proxy: ProxyServer, upstream: FakeUpstream, api: str, stream: bool
) -> None:
    upstream.brain = retriever(client_tool=True)
    request = REQUESTS[api](HDFS_LOG)
    names: list[str] = []
    if api == "anthropic":
        if stream:
            with _claude(proxy).messages.stream(**request) as s:
                message = s.get_final_message()
        else:
            message = _claude(proxy).messages.create(**request)
        names = [b.name for b in message.content if b.type == "tool_use"]
        assert message.stop_reason == "tool_use"
    elif api == "openai":
        if stream:
            chunks = list(_chat(proxy).chat.completions.create(**request, stream=True))
            names = [tc.function.name for c in chunks for tc in c.choices[0].delta.tool_calls or () if tc.function.name]
            indices = {tc.index for c in chunks for tc in c.choices[0].delta.tool_calls or ()}
            assert indices == {0}
        else:
            message = _chat(proxy).chat.completions.create(**request).choices[0].message
            names = [tc.function.name for tc in message.tool_calls or ()]
    else:
        if stream:
            with _chat(proxy).responses.stream(**request) as s:
                response = s.get_final_response()
        else:
            response = _chat(proxy).responses.create(**request)
        names = [item.name for item in response.output if item.type == "function_call"]
    assert names == ["list_customers"]
    assert len(upstream.received) == 1  # the client's turn ends: it must run its own tool


@pytest.mark.parametrize("stream", [False, True])
def test_rounds_are_bounded(upstream: FakeUpstream, stream: bool) -> None:
    upstream.brain = retriever(always=True)
    with start_proxy(upstream.url, max_retrieval_rounds=1) as proxy:  # type: ignore[attr-defined]
        client = _claude(proxy)
        if stream:
            with client.messages.stream(**anthropic_request(HDFS_LOG)) as s:
                message = s.get_final_message()
        else:
            message = client.messages.create(**anthropic_request(HDFS_LOG))
    assert len(upstream.received) == 2
    assert not [b for b in message.content if b.type == "tool_use"]
    assert message.stop_reason == "end_turn"


def test_no_retrieval_option(upstream: FakeUpstream) -> None:
    with start_proxy(upstream.url, retrieval=False) as proxy:  # type: ignore[attr-defined]
        _claude(proxy).messages.create(**anthropic_request(HDFS_LOG))
    sent = upstream.received[-1].json()
    assert find_refs(orjson.dumps(sent).decode()) and "tools" not in sent


def test_clients_own_retrieve_tool_is_left_alone(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    """An agent that has headroom's MCP server answers headroom_retrieve itself."""
    upstream.brain = retriever()
    request = anthropic_request(HDFS_LOG)
    request["tools"] = [{"name": "headroom_retrieve", "description": "MCP", "input_schema": {"type": "object"}}]
    message = _claude(proxy).messages.create(**request)
    assert [b.name for b in message.content if b.type == "tool_use"] == ["headroom_retrieve"]
    assert upstream.received[-1].json()["tools"] == request["tools"]


def test_failed_continuation_reaches_the_stream_as_an_error(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    calls = 0

    def brain(api: str, body: dict[str, Any]) -> Reply:
        nonlocal calls
        calls += 1
        upstream.fail_next(529, anthropic_error(529, "overloaded_error", "Overloaded"))
        return retriever(preamble="Checking.")(api, body)

    upstream.brain = brain
    with (
        pytest.raises(anthropic.APIStatusError, match="during retrieval"),
        _claude(proxy).messages.stream(**anthropic_request(HDFS_LOG)) as stream,
    ):
        for _ in stream:
            pass
    assert calls == 1 and len(upstream.received) == 2


def test_responses_id_seen_by_the_client_chains_to_the_final_round(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = retriever()
    client = _chat(proxy)
    with client.responses.stream(**responses_request(HDFS_LOG)) as stream:
        final = stream.get_final_response()
    round_two = upstream.sent[-1]
    final_id = orjson.loads(round_two.split(b"event: response.completed\ndata: ")[1].split(b"\n")[0])["response"]["id"]
    assert final.id != final_id  # the client knows the response by round 1's id
    upstream.brain = lambda api, body: Reply(text="ok")
    client.responses.create(model="gpt-4.1", input="and then?", previous_response_id=final.id)
    assert upstream.received[-1].json()["previous_response_id"] == final_id


@pytest.mark.parametrize("stream", [False, True])
def test_thinking_blocks_are_replayed_with_their_signature(
    proxy: ProxyServer, upstream: FakeUpstream, stream: bool
) -> None:
    """Extended thinking: the continuation must carry round 1's thinking block unchanged."""
    base = retriever()

    def brain(api: str, body: dict[str, Any]) -> Reply:
        reply = base(api, body)
        return Reply(text=reply.text, tool_calls=reply.tool_calls, thinking="I should read the omitted lines.")

    upstream.brain = brain
    request = {**anthropic_request(HDFS_LOG), "thinking": {"type": "enabled", "budget_tokens": 2048}}
    if stream:
        with _claude(proxy).messages.stream(**request) as s:
            message = s.get_final_message()
    else:
        message = _claude(proxy).messages.create(**request)
    assert [b.type for b in message.content] == ["thinking", "thinking", "text"]
    replayed = upstream.received[1].json()["messages"][-2]
    assert replayed["role"] == "assistant"
    thinking, call = replayed["content"]
    assert thinking["thinking"] == "I should read the omitted lines."
    assert thinking["signature"].startswith("EqQBCkgIARABGAIiQL")
    assert call["type"] == "tool_use" and call["name"] == "headroom_retrieve" and call["input"]["query"] == "exception"


def test_stream_is_byte_identical_when_the_model_does_not_retrieve(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    upstream.brain = lambda api, body: Reply(text="Running it.", tool_calls=(ToolCall("list_customers", {"n": 1}),))
    request = {**anthropic_request(HDFS_LOG), "tools": [{"name": "list_customers", "input_schema": {"type": "object"}}]}
    with _claude(proxy).messages.with_streaming_response.create(**request, stream=True) as response:
        received = b"".join(response.iter_bytes())
    assert upstream.received[-1].json()["tools"][-1]["name"] == "headroom_retrieve"  # offered
    assert received == upstream.sent[-1]  # not called: every event relayed as sent


def test_codex_code_mode_gets_the_tool_from_the_first_turn(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    """Codex code mode declares its tools in an `additional_tools` input item, not `tools`: the
    retrieval tool is offered from turn 1, so the tool list never changes between turns."""
    exec_tool = {"type": "custom", "name": "exec", "description": "Run JavaScript"}
    request = {
        "model": "gpt-5-codex",
        "input": [
            {
                "type": "additional_tools",
                "role": "developer",
                "tools": [{"type": "namespace", "name": "functions", "description": "", "tools": [exec_tool]}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        ],
        "store": False,
    }
    _chat(proxy).responses.create(**request)
    sent = upstream.received[-1].json()
    assert [t["name"] for t in sent["tools"]] == ["headroom_retrieve"]
    assert sent["input"] == request["input"]
