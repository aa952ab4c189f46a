"""Compressed requests go through the real OpenAI and Anthropic SDK clients unchanged in shape.

The SDKs serialize the compressed messages and send them over HTTP to a local server that
plays the provider (real response bodies), which records what arrived. The request types are
also validated against the SDKs' own TypedDict schemas with pydantic.
"""

from __future__ import annotations

import json

import anthropic
import openai
import pydantic
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam
from openai.types.responses import ResponseInputParam

from headroom import CompressConfig, Pipeline, compress
from headroom.ccr.base import MemoryStore
from tests.factories import anthropic_request, customer_rows, openai_request, responses_request
from tests.fake_provider import FakeProvider, serve

ROWS = json.dumps(customer_rows(300))


def _pipeline() -> Pipeline:
    return Pipeline(CompressConfig(), MemoryStore())


CHAT_COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "user0137 is suspended."}}
    ],
    "usage": {"prompt_tokens": 900, "completion_tokens": 8, "total_tokens": 908},
}
ANTHROPIC_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "user0137 is suspended."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 900, "output_tokens": 8},
}
RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1_700_000_000,
    "model": "gpt-4.1",
    "status": "completed",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "user0137 is suspended.", "annotations": []}],
        }
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "usage": {
        "input_tokens": 900,
        "output_tokens": 8,
        "total_tokens": 908,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    },
}


def test_openai_chat_roundtrip() -> None:
    messages = openai_request(ROWS)["messages"]
    compressed = compress(messages, pipeline=_pipeline())
    pydantic.TypeAdapter(list[ChatCompletionMessageParam]).validate_python(list(compressed))
    recorder = FakeProvider({"/chat/completions": CHAT_COMPLETION})
    with serve(recorder) as url:
        client = openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1")
        reply = client.chat.completions.create(model="gpt-4o", messages=compressed)
    assert recorder.requests[0][0] == "/v1/chat/completions"
    assert reply.choices[0].message.content == "user0137 is suspended."
    sent = recorder.bodies[0]["messages"]
    assert sent == json.loads(json.dumps(list(compressed)))
    assert len(sent[3]["content"]) < len(ROWS) / 4
    assert "user0137" in sent[3]["content"]


def test_openai_history_with_sdk_response_objects() -> None:
    """Agents append `response.choices[0].message` (a pydantic model) to their history."""
    recorder = FakeProvider({"/chat/completions": CHAT_COMPLETION})
    with serve(recorder) as url:
        client = openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1")
        reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        history = openai_request(ROWS)["messages"][:-1]
        messages = [*history, reply.choices[0].message, {"role": "user", "content": "ok?"}]
        compressed = compress(messages, pipeline=_pipeline())
        assert compressed[-2] == {"role": "assistant", "content": "user0137 is suspended."}
        client.chat.completions.create(model="gpt-4o", messages=compressed)
    assert recorder.bodies[-1]["messages"][-2]["content"] == "user0137 is suspended."


def test_anthropic_roundtrip() -> None:
    request = anthropic_request(ROWS)
    compressed = compress(request["messages"], pipeline=_pipeline())
    assert compressed.stats.format == "anthropic"
    pydantic.TypeAdapter(list[MessageParam]).validate_python(list(compressed))
    recorder = FakeProvider({"/messages": ANTHROPIC_MESSAGE})
    with serve(recorder) as url:
        client = anthropic.Anthropic(api_key="sk-ant-test", base_url=url)
        reply = client.messages.create(
            model="claude-sonnet-4-5", max_tokens=1024, system=request["system"], messages=compressed
        )
    assert recorder.requests[0][0] == "/v1/messages"
    assert reply.content[0].text == "user0137 is suspended."
    sent = recorder.bodies[0]
    assert sent["system"] == request["system"]
    result = sent["messages"][2]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_1"
    assert len(result["content"]) < len(ROWS) / 4


def test_anthropic_block_content_and_images_left_alone() -> None:
    request = anthropic_request(ROWS)
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo=" * 200}}
    request["messages"][2]["content"][0]["content"] = [{"type": "text", "text": ROWS}, image]
    compressed = compress(request["messages"], pipeline=_pipeline())
    pydantic.TypeAdapter(list[MessageParam]).validate_python(list(compressed))
    blocks = compressed[2]["content"][0]["content"]
    assert blocks[1] == image
    assert len(blocks[0]["text"]) < len(ROWS) / 4


def test_responses_roundtrip() -> None:
    request = responses_request(ROWS)
    compressed = compress(request["input"], provider="responses", pipeline=_pipeline())
    pydantic.TypeAdapter(ResponseInputParam).validate_python(list(compressed))
    recorder = FakeProvider({"/responses": RESPONSE})
    with serve(recorder) as url:
        client = openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1")
        reply = client.responses.create(model="gpt-4.1", instructions=request["instructions"], input=compressed)
    assert reply.output_text == "user0137 is suspended."
    sent = recorder.bodies[0]["input"]
    assert sent[2]["type"] == "function_call_output" and len(sent[2]["output"]) < len(ROWS) / 4
