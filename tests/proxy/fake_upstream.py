"""A local upstream that plays Anthropic and OpenAI: the real wire formats, recorded.

It answers `POST /v1/messages`, `/v1/messages/count_tokens`, `/v1/chat/completions` and
`/v1/responses` as the providers do — JSON bodies or SSE event sequences of the recorded
shapes (message_start ... message_stop; chat.completion.chunk ... [DONE]; response.created ...
response.completed), usage blocks with a simulated prefix cache, and the providers' error bodies
and headers. A `brain(api, request) -> Reply` decides what the "model" says: text and/or tool
calls, so an agent loop can be played. Every request received and every byte sent is recorded.

Reusable outside the tests (benchmarks, end-to-end runs with real agents):

    upstream = FakeUpstream(brain=my_brain)
    with BackgroundServer(upstream.app) as server: ...   # headroom.proxy.server
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.proxy._fake_wire import anthropic_events, chat_events, responses_events

__all__ = [
    "FakeUpstream",
    "Recorded",
    "Reply",
    "ToolCall",
    "UpstreamCut",
    "anthropic_error",
    "default_brain",
    "last_tool_output",
    "openai_error",
]


class UpstreamCut(Exception):
    """Raised inside a streamed body: the server drops the connection mid-body."""


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    call_id: str | None = None


@dataclass(frozen=True)
class Reply:
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    # Streaming only: an `error` event after this many content events (Anthropic/Responses) or
    # an error chunk (chat), as providers send when overloaded mid-stream.
    error_after: int | None = None
    chunk_delay: float = 0.0  # seconds between SSE events (slow streams)
    thinking: str = ""  # Anthropic: an extended-thinking block (with a signature) before the text
    # Streaming only: after this many events, the first half of the next one, then the
    # connection drops (the chunked body is never terminated), as a reset mid-event does.
    cut_after: int | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    raw_path: bytes = b""  # the path as it arrived, percent-escapes as sent

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class _Failure:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def anthropic_error(status: int, kind: str, message: str) -> bytes:
    return orjson.dumps(
        {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CVfakeupstream"}
    )


def openai_error(message: str, kind: str, code: str | None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})


def default_brain(api: str, request: dict[str, Any]) -> Reply:
    return Reply(text="Hello from the fake upstream.")


def last_tool_output(api: str, request: dict[str, Any]) -> str | None:
    """The text of the tool result the request ends with (what a model reacts to), if any."""
    if api == "responses":
        items = request.get("input")
        last = items[-1] if isinstance(items, list) and items else None
        if isinstance(last, dict) and last.get("type", "").endswith("_call_output"):
            output = last.get("output")
            return output if isinstance(output, str) else orjson.dumps(output).decode()
        return None
    messages = request.get("messages") or [{}]
    last = messages[-1]
    if api == "openai":
        return last.get("content") if last.get("role") == "tool" else None
    content = last.get("content")
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict) and block.get("type") == "tool_result":
            inner = block.get("content")
            return inner if isinstance(inner, str) else orjson.dumps(inner).decode()
    return None


class FakeUpstream:
    def __init__(self, brain: Callable[[str, dict[str, Any]], Reply] = default_brain) -> None:
        self.brain = brain
        self.received: list[Recorded] = []
        self.sent: list[bytes] = []  # each response body exactly as sent (SSE: all events)
        self.streams_completed = 0
        self.streams_aborted = 0
        self.aborted = threading.Event()
        self._failures: list[_Failure] = []
        self._prefixes: set[bytes] = set()
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    # -- scripting --------------------------------------------------------------------------

    def fail_next(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """The next request gets this response instead of the brain's."""
        self._failures.append(_Failure(status, body, headers or {}))

    def reset(self) -> None:
        self.received.clear()
        self.sent.clear()
        self._failures.clear()
        self._prefixes.clear()
        self.streams_completed = self.streams_aborted = 0
        self.aborted.clear()

    def bodies(self, path_suffix: str = "") -> list[dict[str, Any]]:
        return [r.json() for r in self.received if r.path.endswith(path_suffix) and r.method == "POST"]

    # -- plumbing ---------------------------------------------------------------------------

    async def _record(self, request: Request) -> Recorded:
        record = Recorded(
            request.method,
            request.url.path,
            request.url.query,
            dict(request.headers),
            await request.body(),
            request.scope.get("raw_path") or b"",
        )
        self.received.append(record)
        return record

    def _failure(self, api: str | None = None) -> Response | None:
        if api is not None:  # the providers' answer to a body that is not JSON
            try:
                orjson.loads(self.received[-1].body)
            except orjson.JSONDecodeError:
                if api == "anthropic":
                    body = anthropic_error(400, "invalid_request_error", "There was an error parsing the body")
                else:
                    body = openai_error(
                        "We could not parse the JSON body of your request.", "invalid_request_error", None
                    )
                self.sent.append(body)
                return Response(body, 400, headers={"content-type": "application/json"})
        if not self._failures:
            return None
        failure = self._failures.pop(0)
        self.sent.append(failure.body)
        headers = {"content-type": "application/json", **failure.headers}
        return Response(failure.body, failure.status, headers=headers)

    def _json(self, data: Any, headers: dict[str, str]) -> Response:
        body = orjson.dumps(data)
        self.sent.append(body)
        return Response(body, 200, headers={"content-type": "application/json", **headers})

    def _stream(self, events: list[bytes], reply: Reply, headers: dict[str, str]) -> StreamingResponse:
        sent = bytearray()
        self.sent.append(b"")
        slot = len(self.sent) - 1

        async def body() -> AsyncIterator[bytes]:
            try:
                for n, event in enumerate(events):
                    if n == reply.cut_after:
                        half = event[: len(event) // 2]
                        sent.extend(half)
                        self.sent[slot] = bytes(sent)
                        yield half
                        raise UpstreamCut(f"cut after {n} events")
                    sent.extend(event)
                    self.sent[slot] = bytes(sent)
                    yield event
                    await asyncio.sleep(reply.chunk_delay)
                self.streams_completed += 1
            except BaseException:
                self.streams_aborted += 1
                self.aborted.set()
                raise

        return StreamingResponse(
            body(), headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", **headers}
        )

    def _usage(self, request: dict[str, Any], key: str) -> tuple[int, int]:
        """(total input tokens, cached tokens): a prefix cache keyed by the exact bytes of
        tools + system + each message, as the providers' prompt caches are."""
        parts = [orjson.dumps(request.get("tools")), orjson.dumps(request.get("system", request.get("instructions")))]
        items = request.get(key)
        parts += [orjson.dumps(m, option=orjson.OPT_SORT_KEYS) for m in (items if isinstance(items, list) else [items])]
        digest, cached, total = hashlib.sha256(), 0, 0
        hit = True
        for part in parts:
            digest.update(part)
            snapshot = digest.digest()
            tokens = max(1, len(part) // 4)
            total += tokens
            if hit and snapshot in self._prefixes:
                cached += tokens
            else:
                hit = False
            self._prefixes.add(snapshot)
        return total, cached

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):024d}"

    # -- the three APIs -----------------------------------------------------------------------

    async def _answer(self, request: Request, api: str) -> tuple[dict[str, Any], Reply] | Response:
        await self._record(request)
        failure = self._failure(api)
        if failure is not None:
            return failure
        data = orjson.loads(self.received[-1].body)
        return data, self.brain(api, data)

    @staticmethod
    def _output_tokens(reply: Reply) -> int:
        return max(1, (len(reply.text) + len(reply.thinking)) // 4 + 20 * len(reply.tool_calls))

    async def _messages(self, request: Request) -> Response:
        answer = await self._answer(request, "anthropic")
        if isinstance(answer, Response):
            return answer
        data, reply = answer
        total, cached = self._usage(data, "messages")
        content: list[dict[str, Any]] = []
        if reply.thinking:
            content.append(
                {"type": "thinking", "thinking": reply.thinking, "signature": "EqQBCkgIARABGAIiQL" + "A" * 40}
            )
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        content += [
            {"type": "tool_use", "id": c.call_id or self._id("toolu_01"), "name": c.name, "input": c.arguments}
            for c in reply.tool_calls
        ]
        message = {
            "id": self._id("msg_01"),
            "type": "message",
            "role": "assistant",
            "model": data.get("model", "claude-sonnet-4-5"),
            "content": content,
            "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": total - cached,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": cached,
                "output_tokens": self._output_tokens(reply),
            },
        }
        headers = {"request-id": self._id("req_01"), "anthropic-organization-id": "org-fake"}
        if not data.get("stream"):
            return self._json(message, headers)
        return self._stream(anthropic_events(message, reply.error_after), reply, headers)

    async def _count_tokens(self, request: Request) -> Response:
        record = await self._record(request)
        failure = self._failure()
        if failure is not None:
            return failure
        return self._json({"input_tokens": max(1, len(record.body) // 4)}, {"request-id": self._id("req_01")})

    async def _chat(self, request: Request) -> Response:
        answer = await self._answer(request, "openai")
        if isinstance(answer, Response):
            return answer
        data, reply = answer
        total, cached = self._usage(data, "messages")
        output_tokens = self._output_tokens(reply)
        calls = [
            {
                "id": c.call_id or self._id("call_"),
                "type": "function",
                "function": {"name": c.name, "arguments": orjson.dumps(c.arguments).decode()},
            }
            for c in reply.tool_calls
        ]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text or None,
            "refusal": None,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = calls
        completion = {
            "id": self._id("chatcmpl-"),
            "object": "chat.completion",
            "created": 1_764_000_000,
            "model": data.get("model", "gpt-4o"),
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if calls else "stop"}
            ],
            "usage": {
                "prompt_tokens": total,
                "completion_tokens": output_tokens,
                "total_tokens": total + output_tokens,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fake0001",
        }
        headers = {"x-request-id": self._id("req_"), "openai-processing-ms": "42"}
        if not data.get("stream"):
            return self._json(completion, headers)
        include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
        return self._stream(chat_events(completion, include_usage, reply.error_after), reply, headers)

    async def _responses(self, request: Request) -> Response:
        answer = await self._answer(request, "responses")
        if isinstance(answer, Response):
            return answer
        data, reply = answer
        total, cached = self._usage(data, "input")
        output_tokens = self._output_tokens(reply)
        output: list[dict[str, Any]] = []
        if reply.text:
            text = {"type": "output_text", "annotations": [], "logprobs": [], "text": reply.text}
            output.append(
                {
                    "id": self._id("msg_"),
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [text],
                }
            )
        output += [
            {
                "id": self._id("fc_"),
                "type": "function_call",
                "status": "completed",
                "arguments": orjson.dumps(c.arguments).decode(),
                "call_id": c.call_id or self._id("call_"),
                "name": c.name,
            }
            for c in reply.tool_calls
        ]
        response = {
            "id": self._id("resp_"),
            "object": "response",
            "created_at": 1_764_000_000,
            "status": "completed",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": data.get("instructions"),
            "max_output_tokens": None,
            "model": data.get("model", "gpt-4.1"),
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": data.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "store": data.get("store", True),
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": data.get("tools") or [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": {
                "input_tokens": total,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": total + output_tokens,
            },
            "user": None,
            "metadata": {},
        }
        headers = {"x-request-id": self._id("req_")}
        if not data.get("stream"):
            return self._json(response, headers)
        return self._stream(responses_events(response, reply.error_after), reply, headers)

    # -- everything else ----------------------------------------------------------------------

    async def _other(self, request: Request) -> Response:
        record = await self._record(request)
        failure = self._failure()
        if failure is not None:
            return failure
        if record.path == "/v1/models":
            if "anthropic-version" in record.headers:
                models = {
                    "data": [
                        {
                            "type": "model",
                            "id": "claude-sonnet-4-5",
                            "display_name": "Claude Sonnet 4.5",
                            "created_at": "2025-09-29T00:00:00Z",
                        }
                    ],
                    "has_more": False,
                    "first_id": "claude-sonnet-4-5",
                    "last_id": "claude-sonnet-4-5",
                }
            else:
                models = {
                    "object": "list",
                    "data": [{"id": "gpt-4o", "object": "model", "created": 1_715_367_049, "owned_by": "system"}],
                }
            return self._json(models, {})
        if record.path == "/v1/embeddings":
            body = {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}],
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            }
            return self._json(body, {})
        # Echo: what arrived, so pass-through tests can compare bytes and headers.
        echo = {
            "method": record.method,
            "path": record.path,
            "query": record.query,
            "body_sha256": hashlib.sha256(record.body).hexdigest(),
            "body_length": len(record.body),
        }
        return self._json(echo, {"x-echo": "1"})
