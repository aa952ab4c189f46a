"""Multi-agent shared context: hand a compressed unit to another agent, with its provenance.

Agent A calls `share(...)`: the content is compressed, its original is stored with who produced
it (agent, session, tool, parent ref, time), and A passes the `SharedUnit` — or just its ref —
to agent B. B reads the compressed text, asks `provenance(ref)` who produced it, and
`retrieve(ref)` for the original, from the same store (SQLite file or Redis).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from headroom.ccr.base import OriginalStore, get_verified, put_original
from headroom.errors import StoreError
from headroom.pipeline import Pipeline
from headroom.segments import SegmentContext, content_ref

__all__ = ["Producer", "Provenance", "SharedUnit", "provenance", "share"]


@dataclass(frozen=True, slots=True)
class Producer:
    """One agent that produced (shared) an original."""

    agent_id: str | None
    session_id: str | None
    tool: str | None
    parent_ref: str | None
    at: float  # when it was shared (epoch seconds)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who produced the original under `ref`. The top-level fields are the newest producer's;
    `producers` lists every one, newest first (identical content shared by several agents)."""

    ref: str
    agent_id: str | None
    session_id: str | None
    parent_ref: str | None
    tool: str | None
    kind: str | None
    created_at: float  # when the original was first stored (epoch seconds)
    producers: tuple[Producer, ...] = ()


@dataclass(frozen=True, slots=True)
class SharedUnit:
    ref: str  # retrieves the original
    text: str  # the compressed form to hand to the other agent
    tokens_before: int
    tokens_after: int
    provenance: Provenance


def share(
    pipeline: Pipeline,
    content: str,
    *,
    agent_id: str,
    session_id: str | None = None,
    parent_ref: str | None = None,
    tool: str | None = None,
    query: str = "",
) -> SharedUnit:
    """Compress `content` for another agent and record who produced it.

    The original is always stored (even when compression was lossless), so the ref resolves;
    every call records its producer, also when the same content was stored before."""
    store = pipeline.store
    if store is None:
        raise StoreError("sharing needs a CCR store")
    meta = {"agent_id": agent_id, "session_id": session_id or "", "parent_ref": parent_ref or "", "tool": tool or ""}
    text, report = pipeline.compress_text(content, SegmentContext(tool_name=tool, user_query=query), provenance=meta)
    ref = report.ref or content_ref(content)
    if report.ref is None:
        ref = put_original(store, ref, content, {**meta, "kind": report.kind})
    store.add_producer(ref, {**meta, "kind": report.kind})
    found = provenance(store, ref)
    if found is None:  # evicted between put and get: describe what was just written
        now = time.time()
        producer = Producer(agent_id, session_id, tool, parent_ref, now)
        found = Provenance(ref, agent_id, session_id, parent_ref, tool, report.kind, now, (producer,))
    return SharedUnit(ref, text, report.tokens_before, report.tokens_after, found)


def _field(meta: dict[str, str], name: str) -> str | None:
    return meta.get(name) or None


def _producer(meta: dict[str, str], default_at: float) -> Producer:
    try:
        at = float(meta.get("at", default_at))
    except ValueError:
        at = default_at
    return Producer(
        _field(meta, "agent_id"), _field(meta, "session_id"), _field(meta, "tool"), _field(meta, "parent_ref"), at
    )


def provenance(store: OriginalStore, ref: str) -> Provenance | None:
    """Who produced the unit stored under `ref` (newest first), or None if the ref is unknown,
    expired, or does not hold the content it addresses."""
    stored = get_verified(store, ref)
    if stored is None:
        return None
    records = store.producers(ref)
    if not records and stored.meta.get("agent_id"):  # stored with provenance before producers were kept
        records = [{**stored.meta, "at": str(stored.created_at)}]
    producers = tuple(_producer(r, stored.created_at) for r in records)
    newest = records[0] if records else stored.meta
    return Provenance(
        ref=ref,
        agent_id=_field(newest, "agent_id"),
        session_id=_field(newest, "session_id"),
        parent_ref=_field(newest, "parent_ref"),
        tool=_field(newest, "tool"),
        kind=_field(newest, "kind") or _field(stored.meta, "kind"),
        created_at=stored.created_at,
        producers=producers,
    )
