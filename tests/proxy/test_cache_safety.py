"""Cache safety: an agent session of 10 turns through the proxy. On every turn, everything the
upstream received on the previous turn (tools, system, messages) is sent again byte for byte,
so the provider's prompt cache keeps hitting; the fake upstream's prefix cache confirms it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import anthropic
import openai
import orjson
import pytest

from headroom.proxy import ProxyServer
from tests.factories import customer_rows
from tests.proxy.conftest import ANTHROPIC_KEY, FIXTURES, OPENAI_KEY, start_proxy
from tests.proxy.fake_upstream import FakeUpstream, Reply, ToolCall

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# (tool, arguments, output): what the agent does on each turn.
STEPS: list[tuple[str, dict[str, Any], str]] = [
    ("Read", {"file_path": "/var/log/hdfs.log"}, (FIXTURES / "logs" / "hdfs.log").read_text()),
    ("Bash", {"command": "grep -rn -C 3 timeout src"}, (FIXTURES / "search" / "grep_context.txt").read_text()),
    ("Read", {"file_path": "/repo/src/ratelimit_client.py"}, (FIXTURES / "code" / "ratelimit_client.py").read_text()),
    ("list_customers", {"limit": 300}, orjson.dumps(customer_rows(300)).decode()),
    ("Bash", {"command": "echo ok"}, "ok"),
    ("Read", {"file_path": "/var/log/java_app.log"}, (FIXTURES / "logs" / "java_app.log").read_text()),
    ("Read", {"file_path": "/var/log/hdfs.log"}, (FIXTURES / "logs" / "hdfs.log").read_text()),  # a re-read
    ("Edit", {"file_path": "/repo/src/ratelimit_client.py", "old_string": "a", "new_string": "b"}, "updated"),
    ("Read", {"file_path": "/repo/src/ratelimit_client.py"}, (FIXTURES / "code" / "ratelimit_client.py").read_text()),
    ("Bash", {"command": "kubectl get events"}, (FIXTURES / "logs" / "k8s_events.txt").read_text()),
]
TOOLS = sorted({name for name, _, _ in STEPS})


def agent_brain(api: str, body: dict[str, Any]) -> Reply:
    """Calls the next tool of STEPS (counted from the results so far), then answers."""
    history = orjson.dumps(body.get("messages") or body.get("input")).decode()
    done = history.count('"tool_result"') + history.count('"role":"tool"') + history.count('"function_call_output"')
    if done >= len(STEPS):
        return Reply(text="Done: the DataNode at 10.251.30.6 failed.")
    name, args, _ = STEPS[done]
    return Reply(text=f"Step {done + 1}.", tool_calls=(ToolCall(name, args),))


def _anthropic_session(proxy: ProxyServer, stream: bool) -> None:
    client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url + "/v1", max_retries=0)
    tools = [{"name": n, "description": f"{n} tool", "input_schema": {"type": "object"}} for n in TOOLS]
    system = [{"type": "text", "text": "You are an SRE agent.", "cache_control": {"type": "ephemeral"}}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Why did the HDFS job fail?"}]
    for _ in range(len(STEPS) + 1):
        kwargs = {"model": "claude-sonnet-4-5", "max_tokens": 2048, "system": system, "tools": tools}
        if stream:
            with client.messages.stream(**kwargs, messages=messages) as s:
                message = s.get_final_message()
        else:
            message = client.messages.create(**kwargs, messages=messages)
        messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]})
        uses = [b for b in message.content if b.type == "tool_use"]
        if not uses:
            return
        output = next(out for name, args, out in STEPS if name == uses[0].name and args == uses[0].input)
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": output}]}
        )


def _chat_session(proxy: ProxyServer, stream: bool) -> None:
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in TOOLS]
    messages: list[Any] = [
        {"role": "system", "content": "You are an SRE agent."},
        {"role": "user", "content": "Why did the HDFS job fail?"},
    ]
    for _ in range(len(STEPS) + 1):
        if stream:
            # Chat streams carry usage only when asked (the proxy never adds it: clients may not expect it).
            options = {"include_usage": True}
            with client.chat.completions.stream(
                model="gpt-4.1", messages=messages, tools=tools, stream_options=options
            ) as s:
                message = s.get_final_completion().choices[0].message
        else:
            message = client.chat.completions.create(model="gpt-4.1", messages=messages, tools=tools).choices[0].message
        messages.append(message.model_dump(exclude_none=True, include={"role", "content", "tool_calls"}))
        if not message.tool_calls:
            return
        call = message.tool_calls[0]
        args = orjson.loads(call.function.arguments)
        output = next(out for name, a, out in STEPS if name == call.function.name and a == args)
        messages.append({"role": "tool", "tool_call_id": call.id, "content": output})


def _responses_session(proxy: ProxyServer, stream: bool) -> None:
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
    tools = [{"type": "function", "name": n, "parameters": {"type": "object"}, "strict": False} for n in TOOLS]
    items: list[Any] = [{"role": "user", "content": "Why did the HDFS job fail?"}]
    for _ in range(len(STEPS) + 1):
        kwargs = {"model": "gpt-5-codex", "instructions": "You are an SRE agent.", "tools": tools, "store": False}
        if stream:
            with client.responses.stream(**kwargs, input=items) as s:
                response = s.get_final_response()
        else:
            response = client.responses.create(**kwargs, input=items)
        output = [
            item.model_dump(exclude_none=True, exclude={"id", "status", "parsed_arguments"}) for item in response.output
        ]
        items.extend(output)
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            return
        args = orjson.loads(calls[0].arguments)
        result = next(out for name, a, out in STEPS if name == calls[0].name and a == args)
        items.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": result})


SESSIONS: dict[str, tuple[Callable[[ProxyServer, bool], None], str]] = {
    "anthropic": (_anthropic_session, "messages"),
    "openai": (_chat_session, "messages"),
    "responses": (_responses_session, "input"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("api", list(SESSIONS))
def test_ten_turns_keep_every_prefix_byte_identical(upstream: FakeUpstream, api: str, stream: bool) -> None:
    upstream.brain = agent_brain
    run, key = SESSIONS[api]
    with start_proxy(upstream.url) as proxy:  # type: ignore[attr-defined]
        run(proxy, stream)
        stats = proxy.state.metrics.snapshot()
    turns = [r.json() for r in upstream.received]
    assert len(turns) == len(STEPS) + 1
    for previous, current in itertools.pairwise(turns):
        for field in ("tools", "system", "instructions"):
            assert orjson.dumps(current.get(field)) == orjson.dumps(previous.get(field))
        items = previous[key]
        assert [orjson.dumps(m) for m in current[key][: len(items)]] == [orjson.dumps(m) for m in items]
    # The session was compressed a lot, and the prompt cache kept hitting.
    assert stats["savings_percent"] > 50
    assert stats["cache"]["hit_rate"] > 0.6
    assert stats["protected_units"] > 0  # the re-read and the read after the edit went whole


def test_a_pasted_document_keeps_its_bytes_from_turn_one_on(upstream: FakeUpstream) -> None:
    """The pipeline never alters the latest user turn, so a pasted log is whole in turn 1; the
    proxy leaves it whole on later turns too (else turn 2 would change the prefix)."""
    log = STEPS[0][2]
    upstream.brain = agent_brain
    with start_proxy(upstream.url) as proxy:  # type: ignore[attr-defined]
        client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
        tools = [{"name": n, "description": n, "input_schema": {"type": "object"}} for n in TOOLS]
        messages: list[dict[str, Any]] = [{"role": "user", "content": f"Compare with this morning's log:\n{log}"}]
        for _ in range(3):
            message = client.messages.create(model="claude-sonnet-4-5", max_tokens=256, tools=tools, messages=messages)
            use = next(b for b in message.content if b.type == "tool_use")
            output = next(out for name, args, out in STEPS if name == use.name and args == use.input)
            messages.append(
                {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]}
            )
            messages.append(
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": output}]}
            )
    turns = [r.json()["messages"] for r in upstream.received]
    assert all(turn[0] == messages[0] for turn in turns)  # the human's message: identical every turn
    assert len(turns[2][2]["content"][0]["content"]) < len(log)  # tool results are still compressed


def _chat_turn(messages: list[dict[str, Any]], call_id: str, output: str) -> list[dict[str, Any]]:
    call = {"id": call_id, "type": "function", "function": {"name": "read", "arguments": "{}"}}
    return [
        *messages,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": output},
        {"role": "user", "content": "Go on."},
    ]


def test_a_whitespace_only_rewrite_is_sent_from_turn_one_on(upstream: FakeUpstream) -> None:
    """Turn 1's only change is whitespace (reported as "passthrough"); turn 2 adds a unit that
    compresses. Turn 1's messages must reach the upstream identically in turn 2."""
    note = "".join(f"line {i} of a plain note \t \t \t\n\n\n\n\n\n" for i in range(60))
    turn1 = _chat_turn([{"role": "user", "content": "Read the note."}], "c1", note)
    turn2 = _chat_turn(turn1, "c2", (FIXTURES / "logs" / "hdfs.log").read_text())
    with start_proxy(upstream.url, retrieval=False) as proxy:  # type: ignore[attr-defined]
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
        for messages in (turn1, turn2):
            client.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
    first, second = (r.json()["messages"] for r in upstream.received)
    assert first[2]["content"] != note  # whitespace normalized from turn 1 on
    assert len(second[5]["content"]) < len(turn2[5]["content"])  # the log compressed in turn 2
    assert [orjson.dumps(m) for m in second[: len(first)]] == [orjson.dumps(m) for m in first]


def test_compress_user_documents_reaches_the_pipeline(upstream: FakeUpstream) -> None:
    """With --compress-user-documents, a log pasted into an earlier user turn is compressed from
    the turn after it on (the documented trade: one cache miss)."""
    log = (FIXTURES / "logs" / "hdfs.log").read_text()
    pasted = [{"role": "user", "content": f"Compare with this morning's log:\n{log}"}]
    turn2 = [*pasted, {"role": "assistant", "content": "Which part?"}, {"role": "user", "content": "The errors."}]
    with start_proxy(upstream.url, retrieval=False, compress_user_documents=True) as proxy:  # type: ignore[attr-defined]
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=turn2)  # type: ignore[arg-type]
    sent = upstream.received[-1].json()["messages"]
    assert len(sent[0]["content"]) < len(pasted[0]["content"]) / 2
