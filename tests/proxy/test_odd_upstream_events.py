"""Events of odd shape from the upstream (a list where an object was expected, an unhashable
index, a non-string name) pass through the retrieval loop's stream filters untouched: the
filters read what they understand and relay the rest, never break the client's stream."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.factories import anthropic_request, openai_request, responses_request
from tests.proxy.conftest import HDFS_LOG
from tests.proxy.test_robustness import call


def _sse(data: Any, event: str | None = None) -> bytes:
    return (f"event: {event}\n".encode() if event else b"") + b"data: " + orjson.dumps(data) + b"\n\n"


def _upstream(events: list[bytes]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"".join(events))

    return handler


ODD = {
    "anthropic": [
        _sse({"type": "content_block_start", "index": 0, "content_block": [1, 2]}, "content_block_start"),
        _sse({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "name": {"a": 1}}}),
        _sse({"type": "content_block_delta", "index": 0, "delta": "text"}, "content_block_delta"),
        _sse({"type": "content_block_delta", "index": 0, "delta": {"type": ["x"]}}, "content_block_delta"),
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse({"type": "message_delta", "delta": [1]}, "message_delta"),
        _sse({"type": ["message_stop"]}, "message_stop"),
    ],
    "openai": [
        _sse({"id": "c", "choices": {"a": 1}}),
        _sse({"id": "c", "choices": [{"index": 0, "delta": [1]}]}),
        _sse({"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": {"a": 1}}]}}]}),
        _sse({"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 2, "function": ["f"]}]}}]}),
        _sse({"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 3, "function": {"name": 5}}]}}]}),
        _sse({"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": {"index": 0}}, "finish_reason": "stop"}]}),
        b"data: [DONE]\n\n",
    ],
    "responses": [
        _sse({"type": "response.created", "sequence_number": 0, "response": [1]}),
        _sse({"type": "response.output_item.added", "sequence_number": 1, "output_index": [0], "item": {}}),
        _sse({"type": "response.output_item.added", "sequence_number": 2, "output_index": 1, "item": [1]}),
        _sse({"type": ["x"], "sequence_number": 3, "output_index": {"a": 1}}),
        _sse({"type": "response.completed", "sequence_number": 4, "response": {"output": {"a": 1}}}),
    ],
}
REQUESTS = {
    "anthropic": ("/v1/messages", anthropic_request),
    "openai": ("/v1/chat/completions", openai_request),
    "responses": ("/v1/responses", responses_request),
}


@pytest.mark.parametrize("api", ODD)
def test_odd_events_are_relayed_not_fatal(api: str) -> None:
    path, build = REQUESTS[api]
    # HDFS_LOG compresses with markers: the retrieval loop (and its filters) reads the stream.
    response = call(_upstream(ODD[api]), path, {**build(HDFS_LOG), "stream": True})
    assert response.status_code == 200
    assert b"upstream stream broke" not in response.content
    # What the filters could not make sense of went out as it came, up to the stream's end.
    assert ODD[api][0] in response.content and ODD[api][-1] in response.content
