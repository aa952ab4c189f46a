"""`build_app(config)`: the proxy as an ASGI app (Starlette). Routes only; the work is in
`handlers` (proxied calls), `compression`, `forward` and `retrieval_loop`.

Proxied (compressed): Anthropic `POST /v1/messages` and `/v1/messages/count_tokens` (also under
`/v1/v1/...`), OpenAI `POST /v1/chat/completions` and `/v1/responses` (and any POST path ending
in `/chat/completions` or `/responses`, e.g. Azure deployments); the paths come from each wire
format in `headroom.formats`. Local: `POST /v1/compress`, `POST /v1/retrieve`, `GET /health`,
`GET /stats`, `GET /stats/requests`, `GET /stats/unit/{ref}`, `GET /dashboard`, `GET /metrics`.
Everything else passes through.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from headroom import __version__
from headroom.api import config_from_env, prose_model_enabled
from headroom.ccr.base import OriginalStore
from headroom.ccr.ledger import ledger_for
from headroom.ccr.open import open_store
from headroom.ccr.retrieval import retrieve
from headroom.compressors._embedding import get_encoder
from headroom.compressors.base import all_compressors
from headroom.formats import FORMATS, WireFormat, detect_format, find_format
from headroom.proxy._json import parse
from headroom.proxy._net import LoopbackHostGuard, is_loopback
from headroom.proxy.compression import RequestCompressor
from headroom.proxy.config import Mode, ProxyConfig
from headroom.proxy.dashboard import dashboard_routes, ledger_report
from headroom.proxy.forward import Exchange, Upstream
from headroom.proxy.handlers import BodyTooLarge, ProxyState, json_error, llm_call, passthrough, read_body
from headroom.proxy.metrics import ProxyMetrics
from headroom.tokens import count_tokens, encoding_for_model

__all__ = ["build_app"]

log = logging.getLogger(__name__)

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# The proxy's own endpoints (/v1/compress, /v1/retrieve) answer errors in OpenAI's shape.
_LOCAL_ERRORS = FORMATS["openai"]


def _open_store(config: ProxyConfig) -> OriginalStore:
    # The proxy's edge: store limits (HEADROOM_STORE_TTL / _MAX_SIZE, XDG_DATA_HOME) come from here.
    return open_store(config.store, environ=os.environ)


def _warm_up(mode: Mode) -> None:
    count_tokens("warm up", encoding_for_model(None))  # the tokenizer takes ~0.5 s to load
    if mode is Mode.OFF:
        return
    all_compressors()
    if prose_model_enabled(os.environ):
        get_encoder()  # None without the `ml` extra: the prose compressor then works lexically


def build_app(
    config: ProxyConfig | None = None,
    *,
    store: OriginalStore | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The proxy app. `store` overrides `config.store`; `transport` replaces the network (tests)."""
    config = config or ProxyConfig()
    owns_store = store is None  # opened here: closed here, at shutdown
    store = store if store is not None else _open_store(config)
    metrics = ProxyMetrics()

    def compressor(audit: bool) -> RequestCompressor:
        return RequestCompressor(
            store,
            edit_safety=config.edit_safety,
            compress_documents=config.compress_user_documents,
            timeout_ms=config.compress_timeout_ms,
            inline_bytes=config.inline_compress_bytes,
            workers=config.compress_workers,
            audit=audit,
            pipeline_config=config_from_env(os.environ),  # the proxy's edge: HEADROOM_PROSE_LEARNED
        )

    audit = config.mode is Mode.AUDIT
    state = ProxyState(
        config,
        Upstream(config, transport),
        compressor(audit),
        store,
        metrics,
        ledger=ledger_for(store),
        # /v1/compress hands out refs: in audit mode too they must resolve, so its compressor
        # keeps originals in the real store (audit's own discards them).
        local=compressor(False) if audit else None,
    )

    def proxied(wire_format: WireFormat, route: str, loop: bool = True) -> Any:
        async def endpoint(request: Request) -> Response | Exchange:
            metrics.request(route)
            return await llm_call(state, request, wire_format, loop=loop)

        return endpoint

    # Formats served under any POST path with their suffix (OpenAI-compatible servers mount the
    # API under other prefixes). Anthropic has none: OpenAI's Assistants API has
    # `/v1/threads/{id}/messages`.
    by_suffix = [(f.path_suffix, f) for f in FORMATS.values() if f.path_suffix is not None]

    async def other(request: Request) -> Response | Exchange:
        if request.method == "POST":
            for suffix, wire_format in by_suffix:
                if request.url.path.endswith(suffix):
                    metrics.request(f"{wire_format.name}_other")
                    return await llm_call(state, request, wire_format)
        return await passthrough(state, request)

    async def compress_endpoint(request: Request) -> Response:
        metrics.request("compress")
        return await _compress(state, request)

    async def retrieve_endpoint(request: Request) -> Response:
        metrics.request("retrieve")
        return await _retrieve(state, request)

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "service": "headroom-proxy",
                "version": __version__,
                "mode": config.mode.value,
                "retrieval": config.retrieval,
            }
        )

    async def stats(request: Request) -> Response:
        snapshot = metrics.snapshot()
        snapshot["mode"] = config.mode.value
        try:
            store_stats = await anyio.to_thread.run_sync(store.stats)
            snapshot["store"] = {
                "backend": store_stats.backend,
                "items": store_stats.items,
                "stored_bytes": store_stats.stored_bytes,
            }
        except Exception as exc:  # a store outage must not break the stats page
            snapshot["store"] = {"error": type(exc).__name__}
        # Every source sharing the store (this proxy, others, the MCP server, library, CLI):
        # the report `headroom stats --json` prints.
        snapshot["ledger"] = await ledger_report(state)
        return JSONResponse(snapshot)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.prometheus(), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Load the tokenizer, compressors and prose model now, not on the event loop of the
        # first request (small bodies are compressed inline).
        await anyio.to_thread.run_sync(_warm_up, config.mode)
        try:
            yield
        finally:
            await state.upstream.aclose()
            state.close()
            if owns_store:
                if state.ledger is not None:
                    await anyio.to_thread.run_sync(state.ledger.close)
                await anyio.to_thread.run_sync(store.close)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/v1/compress", compress_endpoint, methods=["POST"]),
        Route("/v1/retrieve", retrieve_endpoint, methods=["POST"]),
        *dashboard_routes(state),
    ]
    for wire_format in FORMATS.values():
        routes += [
            Route(e.path, proxied(wire_format, e.route, loop=e.loop), methods=["POST"]) for e in wire_format.endpoints
        ]
    routes.append(Route("/{path:path}", other, methods=_ALL_METHODS))
    # Bound to loopback: only requests addressed to a loopback name (DNS rebinding, see _net).
    middleware = [Middleware(LoopbackHostGuard)] if is_loopback(config.host) else []
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.proxy = state
    return app


async def _compress(state: ProxyState, request: Request) -> Response:
    """`POST /v1/compress`: compress without forwarding (for the Node package, other languages).

    Body: a request (`{"messages": [...]}` / `{"input": [...]}`), or `{"request": {...} | [...],
    "format": "auto|openai|anthropic|responses", "model"?: ...}` (a bare list: messages or
    Responses input items, as `format` says or their shape shows; `provider` is the field's
    older name, also read on a bare request), or `{"text": "...", "tool_name": ...,
    "tool_arguments": ..., "query": ...}`. Answer: `{"request" | "text": ..., "stats": {...}}`.
    """
    try:
        body = await read_body(request, state.config.max_body_bytes)
        payload = orjson.loads(body)
    except BodyTooLarge:
        return json_error(_LOCAL_ERRORS, 413, "request body too large", "request_too_large")
    except orjson.JSONDecodeError as exc:
        return json_error(_LOCAL_ERRORS, 400, f"body is not valid JSON: {exc}", "invalid_request_error")
    if not isinstance(payload, dict):
        return json_error(_LOCAL_ERRORS, 400, "body must be a JSON object", "invalid_request_error")
    if parse(body, "")[1] == "wide_int":  # they would come back as floats: refuse, never corrupt
        return json_error(_LOCAL_ERRORS, 400, "integers wider than 64 bits are not supported", "invalid_request_error")
    # `format` only beside `request`: a body that is the request itself may carry a field of
    # that name for the upstream (`provider` is the field's older name, read in both places).
    named = payload.get("format") if "request" in payload else None
    format_name = str(named or payload.get("provider") or "auto")
    text = payload.get("text")
    if isinstance(text, str):
        target = _text_request(text, payload)
        format_name = "openai"
    else:
        target = payload.get("request", payload)
        if isinstance(target, list):  # bare messages / input items: which key depends on the format
            if format_name == "auto":
                format_name = detect_format({"messages": target})
            model = payload.get("model")
            wire_format = find_format(format_name)
            target = {wire_format.request_key if wire_format is not None else "messages": target}
            if isinstance(model, str):  # the tokenizer to count with
                target["model"] = model
        if not isinstance(target, dict) or not ({f.request_key for f in FORMATS.values()} & target.keys()):
            return json_error(
                _LOCAL_ERRORS, 400, "send a request with messages/input, or text", "invalid_request_error"
            )
        target = {k: v for k, v in target.items() if k != "provider"} if "request" not in payload else target
    if format_name == "auto":
        format_name = detect_format(target)
    try:
        compress_sync = (state.local or state.compressor).compress_sync
        outcome = await anyio.to_thread.run_sync(compress_sync, target, format_name)
    except ValueError as exc:
        return json_error(_LOCAL_ERRORS, 400, str(exc), "invalid_request_error")
    except Exception as exc:  # a shape the compressor trips over: fail open, as on the proxied path
        log.warning("compression failed (%s): /v1/compress returns the input unchanged", type(exc).__name__)
        unchanged = {"diagnostics": [f"compression failed ({type(exc).__name__}): returned unchanged"]}
        if isinstance(text, str):
            return JSONResponse({"text": text, "stats": unchanged})
        return JSONResponse({"request": target, "stats": unchanged, "format": format_name})
    stats = outcome.stats.as_dict() if outcome.stats is not None else {}
    if isinstance(text, str):
        return JSONResponse({"text": outcome.request["messages"][-1]["content"], "stats": stats})
    return JSONResponse({"request": outcome.request, "stats": stats, "format": format_name})


async def _retrieve(state: ProxyState, request: Request) -> Response:
    """`POST /v1/retrieve` `{"ref": "h_...", "query"?: "...", "lines"?: "120-164"}`: the original
    behind a ref, or its slice, from the proxy's store (what `headroom.retrieve()` and the MCP tool
    give). Answer: `{"found", "ref", "text", "message"}`; a ref that does not resolve (unknown,
    expired, unreadable) is a 404 with the same fields and an `error` saying why."""
    try:
        payload = orjson.loads(await read_body(request, state.config.max_body_bytes))
    except BodyTooLarge:
        return json_error(_LOCAL_ERRORS, 413, "request body too large", "request_too_large")
    except orjson.JSONDecodeError as exc:
        return json_error(_LOCAL_ERRORS, 400, f"body is not valid JSON: {exc}", "invalid_request_error")
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if not isinstance(ref, str) or not ref.strip():
        return json_error(
            _LOCAL_ERRORS, 400, 'send {"ref": "h_...", "query"?: ..., "lines"?: ...}', "invalid_request_error"
        )
    # `query` / `lines` go through as sent: retrieve() reads numbers and lists too (lines=[120, 164]).
    result = await anyio.to_thread.run_sync(retrieve, state.store, ref, payload.get("query"), payload.get("lines"))
    body: dict[str, Any] = {"found": result.found, "ref": result.ref, "text": result.text, "message": result.message}
    if result.found:
        return JSONResponse(body)
    return JSONResponse({**body, "error": {"type": "not_found_error", "message": result.message}}, 404)


def _text_request(text: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One text as a tool result, with the context the caller gave (tool, arguments, query)."""
    arguments = payload.get("tool_arguments")
    if not isinstance(arguments, str):
        arguments = orjson.dumps(arguments or {}).decode()
    call = {
        "id": "call_0",
        "type": "function",
        "function": {"name": str(payload.get("tool_name") or "tool"), "arguments": arguments},
    }
    messages: list[dict[str, Any]] = []
    if isinstance(payload.get("query"), str):
        messages.append({"role": "user", "content": payload["query"]})
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_0", "content": text},
    ]
    return {"messages": messages}
