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

__all__ = ["Provenance", "SharedUnit", "provenance", "share"]


@dataclass(frozen=True, slots=True)
class Provenance:
    ref: str
    agent_id: str | None
    session_id: str | None
    parent_ref: str | None
    tool: str | None
    kind: str | None
    created_at: float  # when the original was first stored (epoch seconds)


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

    The original is always stored (even when compression was lossless), so the ref resolves."""
    if pipeline.store is None:
        raise StoreError("sharing needs a CCR store")
    meta = {"agent_id": agent_id, "session_id": session_id or "", "parent_ref": parent_ref or "", "tool": tool or ""}
    text, report = pipeline.compress_text(content, SegmentContext(tool_name=tool, user_query=query), provenance=meta)
    ref = report.ref or content_ref(content)
    if report.ref is None:
        ref = put_original(pipeline.store, ref, content, {**meta, "kind": report.kind})
    found = provenance(pipeline.store, ref)
    if found is None:  # evicted between put and get: describe what was just written
        found = Provenance(ref, agent_id, session_id, parent_ref, tool, report.kind, time.time())
    return SharedUnit(ref, text, report.tokens_before, report.tokens_after, found)


def provenance(store: OriginalStore, ref: str) -> Provenance | None:
    """Who produced the unit stored under `ref`, or None if the ref is unknown or expired."""
    stored = get_verified(store, ref)
    if stored is None:
        return None
    meta = stored.meta

    def field(name: str) -> str | None:
        return meta.get(name) or None

    return Provenance(
        ref=ref,
        agent_id=field("agent_id"),
        session_id=field("session_id"),
        parent_ref=field("parent_ref"),
        tool=field("tool"),
        kind=field("kind"),
        created_at=stored.created_at,
    )
