"""The providers' response shapes, rendered for the fake upstream: JSON bodies and the SSE event
sequences each API streams (recorded shapes: field names, event names and their order)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["anthropic_events", "chat_events", "responses_events", "split", "sse"]


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def split(text: str, size: int = 12) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


# -- Anthropic Messages ----------------------------------------------------------------------


def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    def delta(payload: dict[str, Any]) -> bytes:
        return sse({"type": "content_block_delta", "index": index, "delta": payload}, "content_block_delta")

    kind = block["type"]
    empty = {"text": {"type": "text", "text": ""}, "thinking": {"type": "thinking", "thinking": "", "signature": ""}}
    start = empty.get(kind, {**block, "input": {}} if kind == "tool_use" else block)
    events = [sse({"type": "content_block_start", "index": index, "content_block": start}, "content_block_start")]
    if kind == "text":
        events += [delta({"type": "text_delta", "text": piece}) for piece in split(block["text"])]
    elif kind == "thinking":
        events += [delta({"type": "thinking_delta", "thinking": piece}) for piece in split(block["thinking"])]
        events.append(delta({"type": "signature_delta", "signature": block["signature"]}))
    elif kind == "tool_use":
        events.append(delta({"type": "input_json_delta", "partial_json": ""}))
        pieces = split(orjson.dumps(block["input"]).decode(), 9)
        events += [delta({"type": "input_json_delta", "partial_json": piece}) for piece in pieces]
    events.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    return events


def anthropic_events(message: dict[str, Any], error_after: int | None) -> list[bytes]:
    start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
    events = [sse({"type": "message_start", "message": start}, "message_start"), sse({"type": "ping"}, "ping")]
    for index, block in enumerate(message["content"]):
        events += _block_events(index, block)
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": message["usage"]["output_tokens"]}
    events.append(sse({"type": "message_delta", "delta": delta, "usage": usage}, "message_delta"))
    events.append(sse({"type": "message_stop"}, "message_stop"))
    if error_after is not None:
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        events = [*events[:error_after], sse(error, "error")]
    return events


# -- OpenAI Chat Completions -----------------------------------------------------------------


def chat_events(completion: dict[str, Any], include_usage: bool, error_after: int | None) -> list[bytes]:
    base = {k: v for k, v in completion.items() if k not in ("choices", "usage")}
    base["object"] = "chat.completion.chunk"
    message = completion["choices"][0]["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        extra = {"usage": None} if include_usage else {}
        return sse(
            {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}
        )

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": piece}) for piece in split(message["content"])] if message["content"] else []
    for index, call in enumerate(message.get("tool_calls") or ()):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        for piece in split(call["function"]["arguments"], 9):
            events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    events.append(chunk({}, completion["choices"][0]["finish_reason"]))
    if include_usage:
        events.append(sse({**base, "choices": [], "usage": completion["usage"]}))
    events.append(b"data: [DONE]\n\n")
    if error_after is not None:
        error = {
            "error": {
                "message": "The server had an error processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
        events = [*events[:error_after], sse(error)]
    return events


# -- OpenAI Responses ------------------------------------------------------------------------


def _item_events(index: int, item: dict[str, Any], event: Callable[..., bytes]) -> list[bytes]:
    if item["type"] == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        events = [
            event(
                "response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []}
            ),
            event("response.content_part.added", **where, part=part),
        ]
        events += [event("response.output_text.delta", **where, delta=p, logprobs=[]) for p in split(text)]
        events += [
            event("response.output_text.done", **where, text=text, logprobs=[]),
            event("response.content_part.done", **where, part={**part, "text": text}),
        ]
    else:
        where = {"item_id": item["id"], "output_index": index}
        events = [
            event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
        ]
        events += [
            event("response.function_call_arguments.delta", **where, delta=piece)
            for piece in split(item["arguments"], 9)
        ]
        events.append(event("response.function_call_arguments.done", **where, arguments=item["arguments"]))
    events.append(event("response.output_item.done", output_index=index, item=item))
    return events


def responses_events(response: dict[str, Any], error_after: int | None) -> list[bytes]:
    numbers = itertools.count()

    def event(kind: str, **fields: Any) -> bytes:
        return sse({"type": kind, "sequence_number": next(numbers), **fields}, kind)

    pending = {**response, "status": "in_progress", "output": [], "usage": None}
    events = [event("response.created", response=pending), event("response.in_progress", response=pending)]
    for index, item in enumerate(response["output"]):
        events += _item_events(index, item, event)
    events.append(event("response.completed", response=response))
    if error_after is not None:
        events = events[:error_after]
        events.append(event("error", code="server_error", message="The server had an error", param=None))
    return events
