"""Talking to the upstream: one pooled httpx client, header hygiene, verbatim relay, fail open.

Upstream responses reach the client as sent: status, headers (minus hop-by-hop ones) and body
bytes, streamed chunk by chunk as they arrive. If the upstream cannot be reached the client gets
a 502 (504 on timeout) with a JSON error in its wire format's own error shape.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import anyio
import httpx
from starlette.types import Receive, Scope, Send

from headroom.formats import WireFormat
from headroom.formats.sse import SSEEvent, SSEParser
from headroom.proxy.config import ProxyConfig

__all__ = [
    "Exchange",
    "Upstream",
    "UpstreamUnavailable",
    "close_quietly",
    "relay_events",
    "relay_headers",
    "relay_raw",
    "send_body",
    "send_error",
    "send_start",
    "unavailable",
]

log = logging.getLogger(__name__)

# RFC 9110 §7.6.1 connection-specific headers, plus those the proxy recomputes.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)

_HOP_BY_HOP_BYTES = frozenset(name.encode() for name in _HOP_BY_HOP)


class UpstreamUnavailable(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason  # "unreachable" or "timeout"
        self.detail = detail

    @property
    def status(self) -> int:
        return 504 if self.reason == "timeout" else 502

    @property
    def message(self) -> str:
        return f"headroom proxy: upstream {self.reason} ({self.detail})"


def unavailable(exc: BaseException, host: str) -> UpstreamUnavailable:
    """An httpx failure talking to the upstream (sending, or reading a body) as a 502/504."""
    reason = "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    return UpstreamUnavailable(reason, f"{type(exc).__name__} talking to {host}")


def relay_headers(
    headers: httpx.Headers, *, keep_length: bool = False, length: int | None = None, decoded: bool = False
) -> list[tuple[bytes, bytes]]:
    """Upstream response headers for the client, minus hop-by-hop ones (raw, order kept).
    `keep_length` keeps the upstream's content-length (the body goes out unchanged); `length`
    sets a new one (the body was rewritten). `decoded`: the body goes out as httpx decoded it
    (`aread`, `aiter_bytes`), so its content-encoding no longer applies."""
    out = []
    for key, value in headers.raw:
        name = key.decode("latin-1").lower()
        if decoded and name == "content-encoding":
            continue
        if (name == "content-length" and keep_length and length is None) or name not in _HOP_BY_HOP:
            out.append((key, value))
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    return out


async def send_start(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def send_body(send: Send, chunk: bytes, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": more})


async def send_error(send: Send, wire_format: WireFormat, exc: UpstreamUnavailable) -> None:
    """The whole response for an upstream that could not be reached: a 502/504 JSON error in
    the wire format's shape."""
    log.warning("upstream %s: %s", exc.reason, exc.detail)
    await send_start(send, exc.status, [(b"content-type", b"application/json")])
    await send_body(send, wire_format.error_body(exc.status, exc.message), more=False)


# httpcore's pool does O(connections^2) bookkeeping on every request start and end; with a few
# hundred concurrent streams that dominated the proxy's CPU. Several small pools keep it cheap.
_POOL_SHARDS = 16
_KEEPALIVE_PER_SHARD = 32


class Upstream:
    """The pooled upstream connections, shared by every request of one proxy.

    Requests go straight to httpx transports, not through an `httpx.AsyncClient`: the client's
    layers (URL and header merging, auth and redirect loops, event hooks, cookie extraction)
    cost ~10% of the proxy's CPU on a small request, and two of them are wrong for a proxy. Its
    cookie jar would keep the cookies one client's upstream response set and send them with
    every other client's requests; its default headers would add `accept-encoding: gzip, ...`
    to a pass-through request whose client asked for no compression (the body is relayed raw)
    and a `python-httpx` user agent to requests that had none."""

    def __init__(self, config: ProxyConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        per_shard = max(1, -(-config.max_connections // _POOL_SHARDS))
        timeout = httpx.Timeout(
            connect=config.connect_timeout_s, read=config.read_timeout_s, write=config.read_timeout_s, pool=30.0
        )
        self._timeout = timeout.as_dict()
        if transport is not None:
            self.transports: list[httpx.AsyncBaseTransport] = [transport]
        else:
            # One TLS context for all shards (loading the CA bundle costs ~15 ms each). A
            # transport never reads HTTP(S)_PROXY: the upstream is what the user configured.
            verify = httpx.create_ssl_context()
            limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=_KEEPALIVE_PER_SHARD)
            self.transports = [httpx.AsyncHTTPTransport(verify=verify, limits=limits) for _ in range(_POOL_SHARDS)]
        self._next = itertools.cycle(self.transports)

    def url(self, provider: str, path: str, query: str) -> str:
        base = self.config.anthropic_upstream if provider == "anthropic" else self.config.openai_upstream
        return base + path + (f"?{query}" if query else "")

    @staticmethod
    def request_headers(
        raw: Iterable[tuple[bytes, bytes]], *, identity: bool, keep_length: bool = False
    ) -> list[tuple[bytes, bytes]]:
        """The client's headers as sent (auth included), minus hop-by-hop ones. `identity` asks
        for an uncompressed body when the proxy needs to read the response; `keep_length` keeps
        content-length for a body streamed through unchanged (else httpx would chunk it).

        Kept as bytes: httpx encodes str values as ASCII, so a value such as `X-Title: Café`
        (UTF-8 on the wire, legal obs-text) would fail the request instead of going out as sent."""
        out = []
        for key, value in raw:
            name = key.lower()
            if name == b"content-length" and keep_length:
                pass
            elif name in _HOP_BY_HOP_BYTES or (identity and name == b"accept-encoding"):
                continue
            out.append((key, value))
        if identity:
            out.append((b"accept-encoding", b"identity"))
        return out

    async def send(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], content: bytes | AsyncIterator[bytes]
    ) -> httpx.Response:
        """Send and return once the response headers arrived; the body is read by the caller
        (`aiter_raw`, `aread`, ...) and the response closed by it (`close_quietly`)."""
        request = httpx.Request(method, url, headers=headers, content=content, extensions={"timeout": self._timeout})
        try:
            response = await next(self._next).handle_async_request(request)
        except (httpx.TransportError, OSError) as exc:
            raise unavailable(exc, request.url.host) from exc
        response.request = request
        return response

    async def aclose(self) -> None:
        for transport in self.transports:
            await transport.aclose()


async def close_quietly(response: httpx.Response) -> None:
    """Close an upstream response even while being cancelled (the client left): closing is
    what tells the upstream to stop generating."""
    with anyio.CancelScope(shield=True):
        try:
            await response.aclose()
        except Exception as exc:
            log.debug("closing upstream response: %s", type(exc).__name__)


async def relay_raw(send: Send, response: httpx.Response) -> None:
    """Stream an upstream response to the client exactly as it arrives. If the upstream breaks
    mid-body, the client's body ends there too (its length or chunking tells it so)."""
    await send_start(send, response.status_code, relay_headers(response.headers, keep_length=True))
    try:
        async for chunk in response.aiter_raw():
            await send_body(send, chunk)
    except httpx.HTTPError as exc:  # upstream broke mid-body: end the client's body too
        log.warning("upstream stream broke: %s", type(exc).__name__)
    finally:
        await close_quietly(response)
    await send_body(send, b"", more=False)


async def relay_events(
    send: Send,
    response: httpx.Response,
    on_event: Callable[[SSEEvent], None],
    on_break: Callable[[str], bytes],
) -> None:
    """Relay an SSE stream event by event, each event's bytes as the upstream sent them. If the
    upstream breaks mid-body, `on_break(message)` gives the last bytes for the client (an SSE
    error event), so a stream does not just stop as if it had ended.

    Only whole events go out: the half event a broken upstream leaves behind is dropped. Closed
    with a blank line it would reach the SDKs as an event whose JSON is cut off, and they would
    fail on it (JSONDecodeError) before reading the error event that says what happened."""
    # Decoded (content-encoding undone): event boundaries are found in the plain text.
    await send_start(send, response.status_code, relay_headers(response.headers, decoded=True))
    parser = SSEParser()
    try:
        async for chunk in response.aiter_bytes():
            events = parser.feed(chunk)
            for event in events:
                on_event(event)
            if events:
                await send_body(send, b"".join(event.raw for event in events))
        rest = parser.rest()  # a last event without its blank line: the stream did end, send it
        if rest:
            await send_body(send, rest)
    except httpx.HTTPError as exc:
        log.warning("upstream stream broke: %s", type(exc).__name__)
        await send_body(send, on_break(f"headroom proxy: upstream stream broke ({type(exc).__name__})"))
    finally:
        await close_quietly(response)
    await send_body(send, b"", more=False)


class Exchange:
    """An ASGI response driven by `run(send)`, cancelled as soon as the client disconnects, so
    an abandoned request or stream closes its upstream connection at once.

    `body_done` (optional) is awaited before listening: the request body may still be flowing
    to the upstream through `receive`."""

    def __init__(self, run: Callable[[Send], Awaitable[None]], body_done: anyio.Event | None = None) -> None:
        self.run = run
        self.body_done = body_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A plain asyncio task watches, not an anyio task group: the group's set-up and its
        # `cancel()` (which formats the current task's repr, source lookups included) cost ~5%
        # of a small request's CPU. The scope is cancelled only when the client really left.
        exchange = anyio.CancelScope()

        async def watch() -> None:
            try:
                if self.body_done is not None:
                    await self.body_done.wait()
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        exchange.cancel()
                        return
            except Exception as exc:  # the server cannot tell us any more: stop, as on a disconnect
                log.debug("watching the client failed: %s", type(exc).__name__)
                exchange.cancel()

        watcher = asyncio.get_running_loop().create_task(watch())
        try:
            with exchange:
                await self.run(send)
        finally:
            watcher.cancel()
