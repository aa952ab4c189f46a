"""A local upstream that plays the model for real coding agents, and a recording tap.

`AgentUpstream` answers what Claude Code 2.1 and Codex 0.169 ask for, in the providers' wire
formats: Anthropic `POST /v1/messages` as an SSE stream (message_start, content_block_start /
delta / stop for text and tool_use with input_json_delta, message_delta with usage,
message_stop) and `/v1/messages/count_tokens` (Claude Code counts a file's tokens before its
`Read` returns the whole file: answered with exact o200k counts); OpenAI `POST /v1/responses`
as the Responses event stream (response.created, response.output_item.added, function-call or
custom-tool-call input deltas and done, output_text deltas, response.output_item.done,
response.completed with usage). What the model says is a `script(api, request) -> Turn`.
Any other path gets the providers' 404 body. Every request is recorded.

`Tap` sits between an agent and the proxy and records what the agent sent, so a test can
compare it with what the upstream received.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from headroom.tokens import count_tokens

__all__ = ["AgentUpstream", "Call", "Recorded", "Tap", "Turn"]


@dataclass(frozen=True)
class Call:
    """A tool call. `custom=True` is a Responses custom tool call (free-form `input`, e.g.
    Codex's code-mode `exec`), else a function call with JSON arguments."""

    name: str
    arguments: dict[str, Any] | None = None
    input: str = ""
    custom: bool = False


@dataclass(frozen=True)
class Turn:
    text: str = ""
    calls: tuple[Call, ...] = ()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


Script = Callable[[str, dict[str, Any]], Turn]


def _sse(data: dict[str, Any], event: str) -> bytes:
    return f"event: {event}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _all_text(value: Any) -> str:
    """Every string inside a JSON value (what count_tokens counts)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_all_text(v) for k, v in value.items() if k not in ("type", "role", "model"))
    if isinstance(value, list):
        return "\n".join(_all_text(v) for v in value)
    return ""


def _stream(events: list[bytes], headers: dict[str, str]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for event in events:
            yield event

    return StreamingResponse(
        body(), headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", **headers}
    )


class AgentUpstream:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[Recorded] = []
        self.errors: list[str] = []  # script failures, reported by the test
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
            ]
        )

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r.json() for r in self.received if r.path == path and r.method == "POST"]

    def _id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids):024d}"

    async def _record(self, request: Request) -> Recorded:
        record = Recorded(request.method, request.url.path, dict(request.headers), await request.body())
        self.received.append(record)
        return record

    def _turn(self, api: str, data: dict[str, Any]) -> Turn:
        try:
            return self.script(api, data)
        except Exception as exc:  # surface script bugs in the test, not as a hung agent
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return Turn(text=f"script error: {exc}")

    # -- Anthropic Messages ---------------------------------------------------------------------

    async def _count_tokens(self, request: Request) -> Response:
        data = (await self._record(request)).json()
        tokens = count_tokens(_all_text({k: data.get(k) for k in ("system", "messages", "tools")}))
        return Response(orjson.dumps({"input_tokens": max(1, tokens)}), media_type="application/json")

    async def _messages(self, request: Request) -> Response:
        data = (await self._record(request)).json()
        turn = self._turn("anthropic", data)
        model = data.get("model", "claude-sonnet-4-5")
        usage = {
            "input_tokens": count_tokens(_all_text(data.get("messages"))),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        }
        blocks: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
        blocks += [
            {"type": "tool_use", "id": self._id("toolu_01"), "name": c.name, "input": c.arguments or {}}
            for c in turn.calls
        ]
        stop = "tool_use" if turn.calls else "end_turn"
        output_tokens = max(1, count_tokens(turn.text) + 30 * len(turn.calls))
        headers = {"request-id": self._id("req_01")}
        if not data.get("stream"):
            message = {
                "id": self._id("msg_01"),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": blocks,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {**usage, "output_tokens": output_tokens},
            }
            return Response(orjson.dumps(message), media_type="application/json", headers=headers)
        start = {
            "id": self._id("msg_01"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        events = [_sse({"type": "message_start", "message": start}, "message_start"), _sse({"type": "ping"}, "ping")]
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                first = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"], 16)]
            else:
                first = {**block, "input": {}}
                deltas = [
                    {"type": "input_json_delta", "partial_json": piece}
                    for piece in _pieces(orjson.dumps(block["input"]).decode(), 11)
                ]
            events.append(
                _sse({"type": "content_block_start", "index": index, "content_block": first}, "content_block_start")
            )
            events += [
                _sse({"type": "content_block_delta", "index": index, "delta": d}, "content_block_delta") for d in deltas
            ]
            events.append(_sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
        events += [_sse(delta, "message_delta"), _sse({"type": "message_stop"}, "message_stop")]
        return _stream(events, headers)

    # -- OpenAI Responses -----------------------------------------------------------------------

    async def _responses(self, request: Request) -> Response:
        data = (await self._record(request)).json()
        turn = self._turn("responses", data)
        output: list[dict[str, Any]] = []
        if turn.text:
            text_part = {"type": "output_text", "annotations": [], "logprobs": [], "text": turn.text}
            output.append(
                {
                    "id": self._id("msg_"),
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [text_part],
                }
            )
        for call in turn.calls:
            if call.custom:
                item = {"type": "custom_tool_call", "status": "completed", "input": call.input}
            else:
                arguments = orjson.dumps(call.arguments or {}).decode()
                item = {"type": "function_call", "status": "completed", "arguments": arguments}
            output.append({"id": self._id("fc_"), **item, "call_id": self._id("call_"), "name": call.name})
        input_tokens = count_tokens(_all_text(data.get("input")))
        output_tokens = max(1, count_tokens(turn.text) + 30 * len(turn.calls))
        response = {
            "id": self._id("resp_"),
            "object": "response",
            "created_at": 1_764_000_000,
            "status": "completed",
            "error": None,
            "incomplete_details": None,
            "instructions": data.get("instructions"),
            "model": data.get("model", "gpt-5.4"),
            "output": output,
            "parallel_tool_calls": False,
            "previous_response_id": None,
            "store": data.get("store", False),
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
        }
        headers = {"x-request-id": self._id("req_")}
        if not data.get("stream"):
            return Response(orjson.dumps(response), media_type="application/json", headers=headers)
        return _stream(self._response_events(response, output), headers)

    def _response_events(self, response: dict[str, Any], output: list[dict[str, Any]]) -> list[bytes]:
        seq = itertools.count()

        def event(kind: str, **fields: Any) -> bytes:
            return _sse({"type": kind, "sequence_number": next(seq), **fields}, kind)

        pending = {**response, "status": "in_progress", "output": [], "usage": None}
        events = [event("response.created", response=pending), event("response.in_progress", response=pending)]
        for index, item in enumerate(output):
            where = {"item_id": item["id"], "output_index": index}
            if item["type"] == "message":
                text = item["content"][0]["text"]
                part = {**item["content"][0], "text": ""}
                started = {**item, "content": [], "status": "in_progress"}
                events.append(event("response.output_item.added", output_index=index, item=started))
                events.append(event("response.content_part.added", **where, content_index=0, part=part))
                events += [
                    event("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[])
                    for piece in _pieces(text, 16)
                ]
                events.append(event("response.output_text.done", **where, content_index=0, text=text, logprobs=[]))
                events.append(
                    event("response.content_part.done", **where, content_index=0, part={**part, "text": text})
                )
            else:
                key, kind = (
                    ("input", "response.custom_tool_call_input")
                    if item["type"] == "custom_tool_call"
                    else ("arguments", "response.function_call_arguments")
                )
                started = {**item, key: "", "status": "in_progress"}
                events.append(event("response.output_item.added", output_index=index, item=started))
                events += [event(f"{kind}.delta", **where, delta=piece) for piece in _pieces(item[key], 11)]
                events.append(event(f"{kind}.done", **where, **{key: item[key]}))
            events.append(event("response.output_item.done", output_index=index, item=item))
        events.append(event("response.completed", response=response))
        return events

    # -- anything else --------------------------------------------------------------------------

    async def _other(self, request: Request) -> Response:
        record = await self._record(request)
        if "anthropic-version" in record.headers:
            body = {"type": "error", "error": {"type": "not_found_error", "message": f"Not found: {record.path}"}}
        else:
            body = {"error": {"message": f"Unknown path {record.path}", "type": "invalid_request_error", "code": None}}
        return Response(orjson.dumps(body), 404, media_type="application/json")


@dataclass
class Tap:
    """An ASGI app that records each request and relays it to `target`, streaming the answer."""

    target: str
    received: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(base_url=self.target, timeout=120.0, trust_env=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # startup
            await send({"type": "lifespan.startup.complete"})
            await receive()  # shutdown
            await self.client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        request = Request(scope, receive)
        body = await request.body()
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
        self.received.append(Recorded(request.method, request.url.path, dict(request.headers), body))
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        upstream = await self.client.send(
            self.client.build_request(request.method, path, headers=headers, content=body), stream=True
        )
        drop = {"content-length", "transfer-encoding", "connection"}
        out = [(k.encode(), v.encode()) for k, v in upstream.headers.items() if k.lower() not in drop]
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out})
        try:
            async for chunk in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await upstream.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
