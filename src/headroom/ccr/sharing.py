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
from headroom.segments import content_ref

__all__ = ["Producer", "Provenance", "SharedUnit", "provenance", "record_producer"]


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


def record_producer(
    store: OriginalStore, content: str, ref: str | None, kind: str, producer: dict[str, str]
) -> Provenance:
    """Record that `producer` (agent, session, parent ref, tool) shared `content`, which the
    pipeline stored under `ref` (None when it compressed losslessly: then it is stored here, so
    the ref always resolves). Every call adds a producer, also for content stored before."""
    if ref is None:
        ref = put_original(store, content_ref(content), content, {**producer, "kind": kind})
    store.add_producer(ref, {**producer, "kind": kind})
    found = provenance(store, ref)
    if found is None:  # evicted between put and get: describe what was just written
        now = time.time()
        fields = ("agent_id", "session_id", "parent_ref", "tool")
        agent, session, parent, tool = (producer.get(name) or None for name in fields)
        first = Producer(agent, session, tool, parent, now)
        found = Provenance(ref, agent, session, parent, tool, kind, now, (first,))
    return found


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
