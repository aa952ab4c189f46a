"""The library's front door: `compress(messages)` and `compress_request(request)`."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from headroom.ccr import retrieval, sharing
from headroom.ccr.base import MemoryStore, OriginalStore
from headroom.ccr.ledger import ledger_for
from headroom.ccr.retrieval import RetrievalResult
from headroom.ccr.sharing import Provenance, SharedUnit
from headroom.compressors.prose import ProseOptions
from headroom.errors import StoreError
from headroom.formats import Unit, detect_format, find_format
from headroom.pipeline import CompressConfig, Pipeline
from headroom.results import CompressedRequest, CompressResult
from headroom.savings import request_record
from headroom.segments import SegmentContext
from headroom.tokens import encoding_for_model

__all__ = [
    "compress",
    "compress_request",
    "config_from_env",
    "default_pipeline",
    "default_store",
    "prose_model_enabled",
    "provenance",
    "retrieve",
    "share",
]


log = logging.getLogger(__name__)


@cache
def default_store() -> OriginalStore:
    """The store named by HEADROOM_STORE, else the shared SQLite file under the user's data dir.

    This is the library's edge, so it is the one place the environment is read."""
    try:
        from headroom.ccr.open import open_store
    except ImportError:  # store backends not available: keep originals in this process
        return MemoryStore()
    return open_store(os.environ.get("HEADROOM_STORE"), environ=os.environ)


def prose_model_enabled(environ: Mapping[str, str]) -> bool:
    """HEADROOM_PROSE_LEARNED=0 (or false/no/off) turns the learned prose model off."""
    return environ.get("HEADROOM_PROSE_LEARNED", "1").strip().lower() not in {"0", "false", "no", "off"}


def config_from_env(environ: Mapping[str, str], **settings: Any) -> CompressConfig:
    """A `CompressConfig` with what the environment asks for, and `settings` (the edges build
    theirs with it: the CLI, the proxy, the MCP server, the library's default pipeline)."""
    options: dict[str, object] = {} if prose_model_enabled(environ) else {"prose": ProseOptions(learned=False)}
    return CompressConfig(compressor_options=options, **settings)


@cache
def default_pipeline(encoding: str = "o200k_base") -> Pipeline:
    return Pipeline(config_from_env(os.environ, encoding=encoding), default_store())


def _plain(message: Any) -> Any:
    """SDK response objects (pydantic models) appended to history become plain dicts."""
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True, mode="json")
    return message


def compress(
    messages: Sequence[Any],
    *,
    format: str = "auto",
    model: str | None = None,
    pipeline: Pipeline | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    ledger_source: str | None = "library",
    provider: str | None = None,
) -> CompressResult:
    """Compress a conversation; pass the result as `messages=` to the OpenAI or Anthropic SDK.

    `format` is the wire format: "openai", "anthropic", "responses" (Responses API `input`
    items) or "auto" (`provider=` is its older name, still accepted). The result is a list of
    messages of the same shape, with `.stats`. `agent_id`/`session_id` are recorded as the
    provenance of every original stored for later retrieval. The savings go to the ledger
    beside the pipeline's store as `ledger_source` (None: not recorded).
    """
    format_name = provider if provider is not None else format
    pipeline = pipeline or default_pipeline(encoding_for_model(model))
    plain = [_plain(m) for m in messages]
    if format_name == "auto":
        format_name = detect_format({"messages": plain})
    wire_format = find_format(format_name)
    key = wire_format.request_key if wire_format is not None else "messages"
    provenance_meta = {k: v for k, v in (("agent_id", agent_id), ("session_id", session_id)) if v}
    compressed = pipeline.compress_request({key: plain}, format_name, provenance=provenance_meta)
    _record(pipeline, ledger_source, compressed, model)
    return CompressResult(compressed.request[key], compressed.stats)


def _record(pipeline: Pipeline, source: str | None, compressed: CompressedRequest, model: str | None) -> None:
    """One ledger row, when the pipeline has a store (best effort: never raises)."""
    if source is None or pipeline.store is None:
        return
    try:
        ledger = ledger_for(pipeline.store)
        ledger.record_request(request_record(source, compressed.stats, compressed.request, model=model))
    except Exception as exc:  # bookkeeping must never cost a compression
        log.warning("savings ledger: could not record (%s)", type(exc).__name__)


def compress_request(
    request: Mapping[str, Any],
    format: str = "auto",
    *,
    pipeline: Pipeline | None = None,
    protect: Callable[[Unit], bool] | None = None,
    ledger_source: str | None = "library",
    provider: str | None = None,
) -> CompressedRequest:
    """Compress a whole request body (system, tools, messages / input) of wire format `format`
    ("auto": read from its shape; `provider=` is its older name, still accepted). System
    prompts, tool definitions and the latest user turn are never altered; `protect(unit)` keeps
    units whole. The savings go to the ledger beside the pipeline's store as `ledger_source`
    (None: not recorded; the proxy records its own rows, with the provider's usage)."""
    format_name = provider if provider is not None else format
    model = request.get("model")
    pipeline = pipeline or default_pipeline(encoding_for_model(model))
    compressed = pipeline.compress_request(request, format_name, protect=protect)
    _record(pipeline, ledger_source, compressed, model if isinstance(model, str) else None)
    return compressed


def retrieve(
    ref: str, query: str | None = None, lines: str | None = None, *, store: OriginalStore | None = None
) -> RetrievalResult:
    """The original behind a `ref=h_...` marker, or the slice matching `query` / `lines`.
    Never raises: an unknown or expired ref gives `found=False` and a message."""
    return retrieval.retrieve(store or default_store(), ref, query=query, lines=lines)


def share(
    content: str,
    *,
    agent_id: str,
    session_id: str | None = None,
    parent_ref: str | None = None,
    tool: str | None = None,
    query: str = "",
    pipeline: Pipeline | None = None,
) -> SharedUnit:
    """Compress `content` to hand to another agent; the store records who produced it.

    The original is always stored (even when compression was lossless), so the ref resolves;
    every call records its producer, also when the same content was stored before."""
    pipeline = pipeline or default_pipeline()
    if pipeline.store is None:
        raise StoreError("sharing needs a CCR store")
    producer = {
        "agent_id": agent_id,
        "session_id": session_id or "",
        "parent_ref": parent_ref or "",
        "tool": tool or "",
    }
    context = SegmentContext(tool_name=tool, user_query=query)
    text, report = pipeline.compress_text(content, context, provenance=producer)
    found = sharing.record_producer(pipeline.store, content, report.ref, report.kind, producer)
    return SharedUnit(found.ref, text, report.tokens_before, report.tokens_after, found)


def provenance(ref: str, *, store: OriginalStore | None = None) -> Provenance | None:
    """Who produced the unit behind `ref` (agent, session, tool, parent ref, time)."""
    return sharing.provenance(store or default_store(), ref)
