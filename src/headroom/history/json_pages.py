"""The JSON units that came before a unit in a request: what its JSON compression may cite.

Agents read API listings page by page (GitHub issues pages 2, 3, 4 through Read or `cat`,
`gh api --paginate`), one tool result each: every page compressed on its own would repeat the
same `_headroom` key notes and often the same factored meta ('constant', 'derived', 'lookup'
...). The request's `UnitHistory` hands each JSON unit the earlier JSON units
(`SegmentContext.earlier_json`), each summarized from its text as sent
(`headroom.compressors.json_data.json_tables`), and the unit cites them instead.
"""

from __future__ import annotations

from dataclasses import replace

from headroom.compressors.json_data import json_tables
from headroom.envelopes import open_envelope
from headroom.segments import ContentKind, EarlierJson, EarlierUnits, JsonTables, SegmentContext

__all__ = ["JsonPages"]


class JsonPages:
    """The history of JSON units: the ref, key notes and meta entries each one sent."""

    kind = ContentKind.JSON

    def empty(self) -> EarlierJson:
        return EarlierJson()

    def might_be(self, body: str) -> bool:
        return body.lstrip()[:1] in ("{", "[")

    def summarize(self, text: str, sent: str) -> JsonTables | None:
        envelope = open_envelope(text)
        # JSON is re-laid out whole: its output lines carry no numbers, whatever the envelope.
        return json_tables(text, envelope.sent_body(sent, renumbered=False))

    def with_earlier(self, context: SegmentContext, earlier: EarlierUnits[JsonTables]) -> SegmentContext:
        assert isinstance(earlier, EarlierJson)
        return replace(context, earlier_json=earlier)
