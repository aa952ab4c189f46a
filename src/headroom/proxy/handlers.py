"""The two kinds of proxied request: LLM calls (compressed) and everything else (untouched)."""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import anyio
import httpx
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Send

from headroom.ccr.base import OriginalStore
from headroom.ccr.ledger import SavingsLedger
from headroom.formats import WireFormat, format_for_provider
from headroom.formats.sse import SSEEvent
from headroom.formats.usage import Usage, UsageTap, usage_from_body
from headroom.formats.wire import declares_tools
from headroom.pricing import TokenCounts
from headroom.proxy._json import dumps, parse
from headroom.proxy.compression import CompressionOutcome, RequestCompressor
from headroom.proxy.config import Mode, ProxyConfig
from headroom.proxy.forward import (
    Exchange,
    Upstream,
    UpstreamUnavailable,
    close_quietly,
    relay_events,
    relay_headers,
    relay_raw,
    send_body,
    send_error,
    send_start,
    unavailable,
)
from headroom.proxy.metrics import ProxyMetrics
from headroom.proxy.prefix_watch import PrefixWatch
from headroom.proxy.retrieval_loop import LoopContext, complete, stream
from headroom.results import CompressStats
from headroom.savings import request_record

__all__ = ["ProxyState", "llm_call", "passthrough"]

log = logging.getLogger(__name__)


class ResponseAliases(OrderedDict[str, str]):
    """Responses ids the client saw -> the ids upstream holds the whole exchange under (a
    streamed retrieval loop shows round 1's id); bounded, oldest dropped first."""

    def __init__(self, max_items: int = 10_000) -> None:
        super().__init__()
        self.max_items = max_items

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.max_items:
            self.popitem(last=False)


@dataclass(slots=True)
class ProxyState:
    config: ProxyConfig
    upstream: Upstream
    compressor: RequestCompressor
    store: OriginalStore
    metrics: ProxyMetrics
    aliases: ResponseAliases = field(default_factory=ResponseAliases)
    ledger: SavingsLedger | None = None  # the store's savings ledger (shared with the MCP server)
    local: RequestCompressor | None = None  # for /v1/compress when `compressor` is audit-only
    # Ledger writes are blocking I/O (SQLite, Redis): one thread, off the event loop, in order.
    _ledger_writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="headroom-ledger")
    )

    prefix_watch: PrefixWatch = field(default_factory=PrefixWatch)

    def record_request(self, row: _Row) -> None:
        """One ledger row, written (and its cache break worked out) on the ledger's thread."""
        if self.ledger is not None:
            self._ledger_writer.submit(self._write_row, self.ledger, row)

    def _write_row(self, ledger: SavingsLedger, row: _Row) -> None:
        try:
            share = self.prefix_watch.broken_share(row.original, row.sent) if row.sent is not None else 0.0
            usage = row.usage
            broken = round(share * (usage.input_tokens + usage.cache_write_tokens)) if usage is not None else 0
            counts = TokenCounts(*dataclasses.astuple(usage)) if usage is not None else None
            rec = request_record(
                "proxy",
                row.stats,
                row.sent,
                model=row.model,
                provider=row.wire_format.provider,
                client=row.client,
                path=row.path,
                latency_ms=row.latency_ms,
                fail_open=",".join(row.fail_open),
                retrieval_rounds=row.rounds,
                usage=counts,
                cache_break_tokens=broken,
            )
        except Exception as exc:  # bookkeeping: never a request's problem
            log.warning("savings ledger: could not build the row (%s)", type(exc).__name__)
            return
        ledger.record_request(rec)

    def flush_ledger(self, timeout: float | None = None) -> None:
        """Wait until every ledger write submitted so far has landed (tests, /stats readers)."""
        self._ledger_writer.submit(lambda: None).result(timeout)

    def close(self) -> None:
        self.compressor.close()
        if self.local is not None:
            self.local.close()
        self._ledger_writer.shutdown(wait=True)  # pending writes land before the store closes


@dataclass(slots=True)
class _Row:
    """What the ledger needs of one proxied request, gathered on the event loop."""

    wire_format: WireFormat
    path: str
    model: str | None
    client: str
    stats: CompressStats
    original: dict[str, Any]
    sent: dict[str, Any] | None  # None: sent as the client did (nothing to compare)
    latency_ms: float
    fail_open: list[str]
    usage: Usage | None = None
    rounds: int = 0


_VERSION_SUFFIX = re.compile(r"/v?\d[\w.\-+]*$")


def client_name(user_agent: str) -> str:
    """A user agent's first product, without its version (`claude-cli/2.0.1 (external)` ->
    `claude-cli`, `OpenAI/Python 1.99` -> `OpenAI/Python`)."""
    first = user_agent.strip().split(" ", 1)[0]
    return _VERSION_SUFFIX.sub("", first)[:64]


class BodyTooLarge(Exception):
    pass


def json_error(wire_format: WireFormat, status: int, message: str, kind: str = "api_error") -> Response:
    return Response(wire_format.error_body(status, message, kind), status, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _upstream_path(path: str) -> str:
    # The Anthropic SDK with base URL ".../v1" calls "/v1/v1/messages".
    return path[3:] if path.startswith("/v1/v1/") else path


# Bytes that cannot go into an upstream URL as they are (httpx refuses control characters):
# percent-encoded, as any client would have sent them.
_UNSAFE = re.compile(rb"[^\x21-\x7e]")
_UNSAFE_QUERY = re.compile(rb"[^\x21-\x7e]|#")
# A decoded segment with these would leave the upstream's base path (`..`, a separator) once
# the upstream or httpx normalizes it, or is cut short there (NUL).
_STEPS = (b".", b"..")
_SEPARATORS = (b"/", b"\\", b"\x00")


def _escape(raw: bytes, unsafe: re.Pattern[bytes]) -> str:
    if unsafe.search(raw) is not None:
        raw = unsafe.sub(lambda m: b"%%%02X" % m.group()[0], raw)
    return raw.decode("ascii")


def _path_and_query(request: Request) -> tuple[str, str] | None:
    """The path and query to forward, with the client's percent-escapes as it sent them (the
    decoded path would turn `%2F` into a separator and `%2e%2e` into a step up); None when a
    segment, decoded, is `.`/`..` or holds a `/`, `\\` or NUL: forwarded, it could reach
    outside the upstream's base path (`/openai/deployments/d1/v1/models/%2e%2e/...`)."""
    scope = request.scope
    raw = scope.get("raw_path")
    # httpx's ASGI transport puts the query into raw_path; servers do not. Without raw_path
    # (another ASGI server), the decoded path re-escaped is the best there is.
    raw = raw.partition(b"?")[0] if raw else quote(scope["path"], safe="/").encode()
    if b"." in raw or b"%" in raw or b"\\" in raw or b"\x00" in raw:
        for segment in raw.split(b"/"):
            decoded = unquote_to_bytes(segment) if b"%" in segment else segment
            if decoded in _STEPS or any(c in decoded for c in _SEPARATORS):
                return None
    return _escape(raw, _UNSAFE), _escape(scope.get("query_string", b""), _UNSAFE_QUERY)


def _bad_path(wire_format: WireFormat) -> Response:
    message = "headroom proxy: the request path has a '.' or '..' segment, or an encoded '/', '\\' or NUL"
    return json_error(wire_format, 400, message, "invalid_request_error")


def _rewritten(payload: dict[str, Any], body: bytes) -> tuple[dict[str, Any] | None, bytes, str | None]:
    """The payload and its new bytes; or, when it cannot be written back, no payload (the
    request goes out as the client sent it) and the fail-open reason."""
    dumped = dumps(payload)
    return (None, body, "unserializable") if dumped is None else (payload, dumped, None)


async def llm_call(
    state: ProxyState, request: Request, wire_format: WireFormat, *, loop: bool = True
) -> Response | Exchange:
    """Messages / count_tokens / chat completions / responses: compress, forward, relay."""
    started = time.perf_counter()
    format_name = wire_format.name
    try:
        body = await read_body(request, state.config.max_body_bytes)
    except BodyTooLarge:
        _log_refused(request, format_name, 413, started)
        too_large = f"request body exceeds {state.config.max_body_bytes} bytes"
        return json_error(wire_format, 413, too_large, "request_too_large")
    except ClientDisconnect:
        _log_refused(request, format_name, 499, started)
        return Response(status_code=499)
    forwarded = _path_and_query(request)
    if forwarded is None:
        _log_refused(request, format_name, 400, started)
        return _bad_path(wire_format)
    path, query = forwarded
    url = state.upstream.url(wire_format.provider, _upstream_path(path), query)
    headers = state.upstream.request_headers(request.headers.raw, identity=True)
    payload, refused = parse(body, request.headers.get("content-type", ""))
    if payload is not None and state.config.cache_align and state.config.mode is Mode.OPTIMIZE:
        aligned = wire_format.align_cache(payload)
        if aligned is not None:
            payload, body, refused = _rewritten(aligned, body)
    previous_key = wire_format.previous_response_key
    previous = payload.get(previous_key) if payload is not None and previous_key is not None else None
    if payload is not None and previous_key is not None and isinstance(previous, str) and previous in state.aliases:
        payload, body, refused = _rewritten({**payload, previous_key: state.aliases[previous]}, body)
    if refused is not None:
        state.metrics.failed_open(refused)
    model = payload.get("model") if payload is not None and isinstance(payload.get("model"), str) else None
    counting = path.endswith("/count_tokens")

    async def run(send: Send) -> None:
        outgoing, sent = body, payload
        retrieval = False
        stats: CompressStats | None = None
        fail_open = [refused] if refused is not None else []
        row: _Row | None = None
        if payload is not None and state.config.mode is Mode.OPTIMIZE:
            outcome = await state.compressor.compress(payload, format_name, len(body))
            _record(state, model, outcome)
            stats = outcome.stats
            if outcome.failed is not None:
                fail_open.append(outcome.failed)
            sent = outcome.request  # the original when compression failed open
            # Offered whenever there are markers, and on every request that declares tools at
            # all: an agent's tool list then never changes between turns (a change would void
            # the provider's cached prefix from the tools onwards).
            offered = None
            if state.config.retrieval and (outcome.refs or declares_tools(sent)):
                offered = wire_format.add_tool(sent)
            if offered is not None:
                sent, retrieval = offered, loop
            whole = False
            if outcome.changed or offered is not None:
                dumped = dumps(sent)
                if dumped is None:  # nested too deep to write back: the client's bytes, untouched
                    state.metrics.failed_open("unserializable")
                    fail_open.append("unserializable")
                    state.compressor.remember_whole(payload, format_name)
                    sent, retrieval, whole = payload, False, True
                else:
                    outgoing = dumped
            # Savings of requests the model reads (count_tokens is not a model call).
            # Also on a timeout: the units compressed before went out compressed (fail open per unit).
            if outcome.stats is not None and not counting:
                kept = (
                    outcome.stats
                    if not whole
                    else dataclasses.replace(
                        outcome.stats, tokens_after=outcome.stats.tokens_before, transforms={}, units=()
                    )
                )
                agent = client_name(request.headers.get("user-agent", ""))
                row = _Row(wire_format, path, model, agent, kept, payload, None if whole else sent, 0.0, fail_open)
        elif payload is not None and state.config.mode is Mode.AUDIT:
            state.compressor.audit(payload, format_name, lambda outcome: _record(state, model, outcome))
        overhead = (time.perf_counter() - started) * 1000
        state.metrics.overhead(overhead)
        if row is not None:
            row.latency_ms = round(overhead, 3)
        try:
            response = await state.upstream.send(request.method, url, headers, outgoing)
        except UpstreamUnavailable as exc:
            state.metrics.response(exc.status)
            _log_call(request.method, path, format_name, exc.status, stats, overhead, fail_open, model)
            if row is not None:
                state.record_request(row)
            await send_error(send, wire_format, exc)
            return
        # Logged before the client gets anything: the line never trails the response.
        _log_call(request.method, path, format_name, response.status_code, stats, overhead, fail_open, model)
        state.metrics.first_byte((time.perf_counter() - started) * 1000)
        state.metrics.response(response.status_code)
        content_type = response.headers.get("content-type", "")

        def on_usage(usage: Usage) -> None:
            state.metrics.usage_report(model, usage)
            if row is not None:
                row.usage = usage if row.usage is None else row.usage + usage

        ctx = LoopContext(
            wire_format,
            state.upstream,
            state.store,
            url,
            headers,
            state.config.max_retrieval_rounds,
            on_usage,
            state.aliases,
        )
        try:
            if response.status_code == 200 and "event-stream" in content_type:
                if retrieval and sent is not None:
                    await stream(ctx, sent, response, send)
                else:
                    tap = UsageTap(wire_format.usage_in)
                    relayed = 0  # whole events sent: the next Responses sequence number

                    def seen(event: SSEEvent) -> None:
                        nonlocal relayed
                        relayed += 1
                        tap.observe(event)

                    def broke(message: str) -> bytes:
                        return wire_format.stream_error(message, relayed)

                    await relay_events(send, response, seen, broke)
                    if tap.usage is not None:
                        ctx.on_usage(tap.usage)
            elif response.status_code == 200 and "json" in content_type:
                await _complete(ctx, send, response, sent if retrieval else None)
            else:  # errors and anything unexpected: verbatim
                await relay_raw(send, response)
        finally:
            await close_quietly(response)
            if ctx.calls:
                state.metrics.retrieval(ctx.calls, ctx.rounds)
            if row is not None:
                row.rounds = ctx.rounds
                state.record_request(row)

    return Exchange(run)


async def _complete(ctx: LoopContext, send: Send, response: Any, request: dict[str, Any] | None) -> None:
    try:
        body = await response.aread()
    except httpx.HTTPError as exc:  # the upstream broke or stalled before the body was complete
        await send_error(send, ctx.wire_format, unavailable(exc, response.request.url.host))
        return
    if request is None:
        usage = usage_from_body(body, ctx.wire_format.usage_in)
        if usage is not None:
            ctx.on_usage(usage)
        await send_start(send, response.status_code, relay_headers(response.headers, length=len(body), decoded=True))
        await send_body(send, body, more=False)
        return
    result = await complete(ctx, request, response, body)
    # `aread` undid any content-encoding: the length is the decoded body's.
    await send_start(send, result.status, relay_headers(result.headers, length=len(result.body), decoded=True))
    await send_body(send, result.body, more=False)


def _log_call(
    method: str,
    path: str,
    format_name: str,
    status: int,
    stats: CompressStats | None,
    ms: float,
    fail_open: list[str],
    model: str | None = None,
) -> None:
    """`headroom -v proxy`: one line per LLM call. Counts and names only: never message text,
    header values or the query string (where some clients put keys)."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    units = len(stats.units) if stats is not None else 0
    tokens = f"{stats.tokens_before}->{stats.tokens_after}" if stats is not None else "-"
    reason = ",".join(fail_open) or "-"
    log.debug(_CALL_LINE, method, path, format_name, status, _printable(model), units, tokens, ms, reason)


def _log_refused(request: Request, format_name: str, status: int, started: float) -> None:
    """The line of a request answered by the proxy itself, before anything was forwarded."""
    if log.isEnabledFor(logging.DEBUG):
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        path = _escape(raw.partition(b"?")[0], _UNSAFE)  # as sent: a NUL or newline is escaped
        ms = (time.perf_counter() - started) * 1000
        log.debug(_CALL_LINE, request.method, path, format_name, status, "-", 0, "-", ms, "-")


# method, path, wire format (logged as `api=`, which readers grep for), status, model, units, tokens
# before->after, the proxy's own ms, fail-open reasons
_CALL_LINE = "%s %s api=%s status=%d model=%s units=%d tokens=%s ms=%.1f fail_open=%s"


def _printable(model: str | None) -> str:
    """The model name as one log token (a client could send anything there)."""
    return "".join(ch if ch.isprintable() and not ch.isspace() else "?" for ch in model[:80]) if model else "-"


_PASSTHROUGH_LINE = "%s %s api=passthrough status=%d upstream_ms=%.1f"  # ms until the response began


def _record(state: ProxyState, model: str | None, outcome: CompressionOutcome) -> None:
    if outcome.failed is not None:
        state.metrics.failed_open(outcome.failed)
    if outcome.stats is not None:
        state.metrics.compression(model, outcome.stats, outcome.elapsed_ms, outcome.protected)


_ANTHROPIC_ONLY = ("/v1/messages", "/v1/complete", "/v1/v1/")


def _provider_for(path: str, headers: Any) -> str:
    if path.startswith(_ANTHROPIC_ONLY) or "anthropic-version" in headers or "x-api-key" in headers:
        return "anthropic"
    return "openai"


async def passthrough(state: ProxyState, request: Request) -> Response | Exchange:
    """Any other path or method: forwarded untouched, body and response streamed."""
    state.metrics.request("passthrough")
    provider = _provider_for(request.scope["path"], request.headers)
    forwarded = _path_and_query(request)
    if forwarded is None:
        _log_refused(request, "passthrough", 400, time.perf_counter())
        return _bad_path(format_for_provider(provider))
    path, query = forwarded
    url = state.upstream.url(provider, _upstream_path(path), query)
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    headers = state.upstream.request_headers(request.headers.raw, identity=False, keep_length=True)
    body_done = anyio.Event()

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in request.stream():
                yield chunk
        finally:
            body_done.set()

    if not has_body:
        body_done.set()

    async def run(send: Send) -> None:
        started = time.perf_counter()
        try:
            response = await state.upstream.send(request.method, url, headers, body() if has_body else b"")
        except UpstreamUnavailable as exc:
            body_done.set()
            state.metrics.response(exc.status)
            log.debug(_PASSTHROUGH_LINE, request.method, path, exc.status, (time.perf_counter() - started) * 1000)
            await send_error(send, format_for_provider(provider), exc)
            return
        body_done.set()
        state.metrics.response(response.status_code)
        # Logged before the client gets anything: the line never trails the response.
        log.debug(_PASSTHROUGH_LINE, request.method, path, response.status_code, (time.perf_counter() - started) * 1000)
        await relay_raw(send, response)

    return Exchange(run, body_done)
