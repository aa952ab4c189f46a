"""The code units that came before a unit in a request: the calls their task-kept bodies make.

Agents follow calls across files: they read `_keep_alive` in h11/_connection.py, see it call
`get_comma_header`, and open h11/_headers.py. The request's `UnitHistory` hands each code unit
the earlier code units (`SegmentContext.earlier_code`), each summarized from its text as sent
(`headroom.compressors.source_code.code_read`: the names called by the bodies it showed whole
for the task), and the later file keeps the bodies of those it defines.
"""

from __future__ import annotations

import re
from dataclasses import replace

from headroom.compressors.source_code import FOLDED_BODY, code_read
from headroom.envelopes import open_envelope
from headroom.segments import CodeRead, ContentKind, EarlierCode, EarlierUnits, SegmentContext

__all__ = ["CodeReads"]

_HEAD_CHARS = 64_000
# A declaration keyword of the languages the outline reads (Python, JS/TS, Go, Rust, Java, C/C++).
_DECLARATION = re.compile(r"\b(?:def|class|function|func|fn|struct|interface|impl|enum|void|int|const)\s+[A-Za-z_$]")


class CodeReads:
    """The history of code units: what the bodies each one kept for the task call."""

    kind = ContentKind.CODE

    def empty(self) -> EarlierCode:
        return EarlierCode()

    def might_be(self, body: str) -> bool:
        # Only a unit the outline folded can say which bodies the task led to; the kind is
        # settled by detection (cached), this test only spares the rest a look.
        return _DECLARATION.search(body, 0, _HEAD_CHARS) is not None

    def summarize(self, text: str, sent: str) -> CodeRead | None:
        if FOLDED_BODY not in sent:
            return None  # no body folded: nothing was kept *for the task*
        envelope = open_envelope(text)
        return code_read(envelope.body, envelope.sent_body(sent))

    def with_earlier(self, context: SegmentContext, earlier: EarlierUnits[CodeRead]) -> SegmentContext:
        assert isinstance(earlier, EarlierCode)
        return replace(context, earlier_code=earlier)
