"""Transparent retrieval: the proxy answers `headroom_retrieve` itself and continues upstream.

When a compressed request carries markers, the proxy offers the `headroom_retrieve` tool. If the
model's turn calls only that tool, the proxy fetches the originals from the CCR store, appends
the call and its results to the request and asks the upstream again, up to `max_rounds` times.
The client sees one response: its own tools only, the model's text of every round in order
(streamed as it arrives), and the final round's stop reason and usage.

If the model calls our tool together with client tools, our calls are dropped from what the
client sees (the client cannot answer them) and the turn ends there, as it would have.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import orjson
from starlette.types import Send

from headroom.ccr.base import OriginalStore
from headroom.ccr.retrieval import execute_retrieve_call
from headroom.formats import WireFormat
from headroom.formats.sse import SSEParser
from headroom.formats.streaming import RetrieveCall, StreamSession
from headroom.formats.usage import Usage, usage_from_body
from headroom.proxy.forward import (
    Upstream,
    UpstreamUnavailable,
    close_quietly,
    relay_headers,
    send_body,
    send_start,
    unavailable,
)

__all__ = ["LoopContext", "LoopResult", "complete", "stream"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LoopContext:
    wire_format: WireFormat
    upstream: Upstream
    store: OriginalStore
    url: str
    headers: list[tuple[bytes, bytes]]
    max_rounds: int
    # Called with each round's usage (every round is billed, so every round is counted).
    on_usage: Callable[[Usage], None] = lambda usage: None
    aliases: dict[str, str] | None = None  # Responses ids renamed for the client
    rounds: int = 0
    calls: int = 0


@dataclass(slots=True)
class LoopResult:
    status: int
    headers: httpx.Headers
    body: bytes


async def _answer(store: OriginalStore, calls: list[RetrieveCall]) -> list[tuple[RetrieveCall, str]]:
    # Store reads are blocking I/O (SQLite, Redis): keep them off the event loop.
    answers = []
    for call in calls:
        text = await anyio.to_thread.run_sync(execute_retrieve_call, store, call.arguments)
        answers.append((call, text))
    return answers


async def _continue(ctx: LoopContext, request: dict[str, Any]) -> httpx.Response:
    ctx.rounds += 1
    return await ctx.upstream.send("POST", ctx.url, ctx.headers, orjson.dumps(request))


async def complete(ctx: LoopContext, request: dict[str, Any], first: httpx.Response, body: bytes) -> LoopResult:
    """Non-streaming: run the loop from the first (already read, 200) response."""
    wire_format = ctx.wire_format
    response = first
    earlier: list[Any] = []
    usage = usage_from_body(body, wire_format.usage_in)
    if usage is not None:
        ctx.on_usage(usage)
    for round_no in range(ctx.max_rounds + 1):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return LoopResult(response.status_code, response.headers, body)
        calls, client_calls = wire_format.retrieve_calls(data) if isinstance(data, dict) else ([], 0)
        if not calls:
            if not earlier:  # the loop never ran: the upstream's bytes, untouched
                return LoopResult(response.status_code, response.headers, body)
            break
        if client_calls or round_no == ctx.max_rounds or not wire_format.stopped_for_tools(data):
            break
        ctx.calls += len(calls)
        answers = await _answer(ctx.store, calls)
        earlier.append(wire_format.visible(data))
        request = wire_format.continuation(request, wire_format.output_of(data), answers)
        try:
            response = await _continue(ctx, request)
            try:
                body = await response.aread()
            except httpx.HTTPError as exc:
                raise unavailable(exc, response.request.url.host) from exc
            finally:
                await close_quietly(response)
        except UpstreamUnavailable as exc:  # as if the client's own request had failed so
            log.warning("upstream %s during retrieval: %s", exc.reason, exc.detail)
            body = wire_format.error_body(exc.status, exc.message)
            return LoopResult(exc.status, httpx.Headers({"content-type": "application/json"}), body)
        usage = usage_from_body(body, wire_format.usage_in)
        if usage is not None:
            ctx.on_usage(usage)
        if response.status_code != 200:  # a failed continuation is the client's error now
            return LoopResult(response.status_code, response.headers, body)
    final = wire_format.finish(earlier, data)
    return LoopResult(response.status_code, response.headers, orjson.dumps(final))


async def stream(ctx: LoopContext, request: dict[str, Any], first: httpx.Response, send: Send) -> None:
    """Streaming: relay the first (200, SSE) response event by event, running the loop inside."""
    wire_format = ctx.wire_format
    session = StreamSession(ctx.aliases)
    response = first
    await send_start(send, first.status_code, relay_headers(first.headers, decoded=True))
    while True:
        flt = wire_format.round_filter(session, session.round < ctx.max_rounds)
        parser = SSEParser()
        try:
            async for chunk in response.aiter_bytes():  # decoded: the events are read and rewritten
                for event in parser.feed(chunk):
                    for out in flt.feed(event):
                        await send_body(send, out)
            for event in parser.flush():
                for out in flt.feed(event):
                    await send_body(send, out)
        except httpx.HTTPError as exc:  # the client is told, rather than seeing the stream just stop
            log.warning("upstream stream broke: %s", type(exc).__name__)
            message = f"headroom proxy: upstream stream broke ({type(exc).__name__})"
            await send_body(send, wire_format.stream_error(message, session.seq))
            break
        finally:
            await close_quietly(response)
            if flt.usage.usage is not None:
                ctx.on_usage(flt.usage.usage)
        if not flt.continues:
            break
        ctx.calls += len(flt.calls)
        answers = await _answer(ctx.store, flt.calls)
        request = wire_format.continuation(request, flt.output(), answers)
        session.round += 1
        try:
            response = await _continue(ctx, request)
        except UpstreamUnavailable as exc:
            await send_body(
                send, wire_format.stream_error(f"headroom: upstream {exc.reason} ({exc.detail})", session.seq)
            )
            break
        if response.status_code != 200 or "event-stream" not in response.headers.get("content-type", ""):
            try:  # closed even when the client leaves meanwhile (cancellation), or it would leak
                detail = (await response.aread())[:2000].decode("utf-8", "replace")
            except httpx.HTTPError as exc:
                detail = f"({type(exc).__name__} reading the body)"
            finally:
                await close_quietly(response)
            message = f"upstream returned {response.status_code} during retrieval: {detail}"
            await send_body(send, wire_format.stream_error(message, session.seq))
            break
    await send_body(send, b"", more=False)
