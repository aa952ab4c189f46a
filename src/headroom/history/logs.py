"""The log pages that came before a unit in a request: what its log compression may take as seen.

Agents read a big log in pages (Claude Code's Read with offset/limit, `sed -n`, `tail`), one tool
result each. The request's `UnitHistory` hands each log unit the pages before it
(`SegmentContext.earlier_logs`), so page 2 does not show again the templates page 1 showed. A
page's summary (`headroom.compressors.logs.log_page`) is a pure function of the unit's text and
of its text as it was sent.
"""

from __future__ import annotations

from dataclasses import replace

from headroom.compressors.base import Registry
from headroom.compressors.logs import log_page
from headroom.envelopes import open_envelope
from headroom.routing.detect import sniffed_as
from headroom.segments import ContentKind, EarlierLogs, EarlierUnits, LogPage, SegmentContext

__all__ = ["LogPages"]


class LogPages:
    """The history of log units: the templates and values each page showed."""

    kind = ContentKind.LOGS

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def empty(self) -> EarlierLogs:
        return EarlierLogs()

    def might_be(self, body: str) -> bool:
        return sniffed_as(ContentKind.LOGS, body, self._registry)

    def summarize(self, text: str, sent: str) -> LogPage:
        envelope = open_envelope(text)
        return log_page(envelope.body, envelope.sent_body(sent))

    def with_earlier(self, context: SegmentContext, earlier: EarlierUnits[LogPage]) -> SegmentContext:
        assert isinstance(earlier, EarlierLogs)
        return replace(context, earlier_logs=earlier)
