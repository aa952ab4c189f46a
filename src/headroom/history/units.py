"""The units that came before a unit in a request: what its compression may take as seen.

Agents read big outputs in pages, one tool result each: a log with Read's offset/limit or
`sed -n`, an API listing page by page (`gh api --paginate`, issues page 2, 3, 4). Every page
compressed on its own would repeat what the pages before it already put before the model.
`compress_request` walks a request's units in order; for each unit of a kind that has a history
(`KindHistory`: logs, JSON), it hands the unit the summaries of the earlier units of that kind
(`SegmentContext.earlier_logs`, `earlier_json`), and the unit's compression may leave out what
they showed. A summary is a pure function of a unit's text and of its text as it was sent, so a
request re-sent with one more turn gives every earlier unit the same history, hence the same
bytes (prompt-cache safe). A unit's kind and its summaries are kept by content hash in bounded
LRUs: a 30-turn session reads each page once, not on every request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cachetools import LRUCache

from headroom.compressors.base import Registry
from headroom.envelopes import open_envelope
from headroom.routing.detect import detect
from headroom.segments import ContentKind, EarlierUnits, SegmentContext, text_digest

__all__ = ["Histories", "KindHistory", "UnitHistory", "UnitOfKind"]

log = logging.getLogger(__name__)


class KindHistory(Protocol):
    """What one kind of unit keeps of the units before it, and how a unit of it is handed that."""

    @property
    def kind(self) -> ContentKind: ...

    def empty(self) -> EarlierUnits[Any]:
        """The history before the first unit of this kind."""

    def might_be(self, body: str) -> bool:
        """A cheap first test on an envelope's body: False means surely not of this kind."""

    def summarize(self, text: str, sent: str) -> object | None:
        """What a unit showed, from its text and its text as sent; None when it cannot be read
        as such (the same answer every time). May raise: the history then takes it as None."""

    def with_earlier(self, context: SegmentContext, earlier: EarlierUnits[Any]) -> SegmentContext:
        """`context` holding `earlier` (non-empty) where this kind's compressor reads it."""


# The history of each kind before a unit of a request (kinds with no unit yet are absent).
Histories = Mapping[ContentKind, EarlierUnits[Any]]


@dataclass(frozen=True, slots=True)
class UnitOfKind:
    """A unit whose kind has a history: that kind and the digest of the unit's text."""

    kind: ContentKind
    digest: bytes


class UnitHistory:
    """The kinds of the units seen and the summaries of those units, by content; thread-safe."""

    def __init__(
        self, registry: Registry, maxsize: int, kinds: Sequence[KindHistory], max_chars: int | None = None
    ) -> None:
        self._registry = registry
        # Units the pipeline leaves untouched for their size are no page: summarizing them would
        # cost as much as compressing them (and on the fail-open path too).
        self._max_chars = max_chars
        self._kinds = {history.kind: history for history in kinds}
        self._members: LRUCache[tuple[bytes, str | None], ContentKind | None] = LRUCache(maxsize=maxsize)
        self._summaries: LRUCache[tuple[ContentKind, bytes, bytes], object | None] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    def member(self, text: str, file_path: str | None, unit_digest: bytes) -> UnitOfKind | None:
        """The unit's kind and digest (`text_digest(text)`, which the caller has) when that kind
        has a history (detected as the pipeline detects it); None for any other unit, whose
        compression no history concerns."""
        if self._max_chars is not None and len(text) > self._max_chars:
            return None
        key = (unit_digest, file_path)
        with self._lock:
            known = key in self._members
            kind = self._members.get(key)  # a hit makes it the most recently used
        if not known:
            kind = self._detect(text, file_path)
            with self._lock:
                self._members[key] = kind
        return UnitOfKind(kind, unit_digest) if kind is not None else None

    def context(self, context: SegmentContext, earlier: Histories, unit: UnitOfKind | None) -> SegmentContext:
        """The context a unit is compressed with: its own, with the earlier units of its kind
        when there are some (else unchanged, so its cache key is that of the unit alone)."""
        if unit is None:
            return context
        history = earlier.get(unit.kind)
        if history is None or not history.summaries:
            return context
        return self._kinds[unit.kind].with_earlier(context, history)

    def after(self, earlier: Histories, unit: UnitOfKind | None, text: str, sent: str) -> Histories:
        """`earlier` followed by this unit (`text`, sent as `sent`); `earlier` itself if the
        unit's kind has no history or the unit cannot be summarized."""
        if unit is None:
            return earlier
        sent_digest = unit.digest if sent == text else text_digest(sent)
        key = (unit.kind, unit.digest, sent_digest)
        with self._lock:
            known = key in self._summaries
            summary = self._summaries.get(key)  # a hit makes it the most recently used
        kind = self._kinds[unit.kind]
        if not known:
            try:
                summary = kind.summarize(text, sent)
            except Exception as exc:
                log.warning("%s summary failed (%s): unit not taken as seen", unit.kind.value, type(exc).__name__)
                summary = None
            with self._lock:
                self._summaries[key] = summary
        if summary is None:
            return earlier
        history = earlier.get(unit.kind) or kind.empty()
        return {**earlier, unit.kind: history.then(summary, unit.digest + sent_digest)}

    def _detect(self, text: str, file_path: str | None) -> ContentKind | None:
        """Never raises: a unit that cannot be read has no history (the same answer every time)."""
        try:
            body = open_envelope(text).body
            # The cheap tests first: most units are of no kind with a history.
            if not any(kind.might_be(body) for kind in self._kinds.values()):
                return None
            found = detect(body, file_path, self._registry).kind
        except Exception as exc:
            log.warning("kind detection failed (%s): unit has no history", type(exc).__name__)
            return None
        return found if found in self._kinds else None
