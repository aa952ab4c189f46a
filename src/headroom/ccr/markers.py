"""Omission markers: the in-place note telling the model what was dropped and where to get it.

Format: ``[headroom: 180 rows omitted (id 12-340) · ref=h_3f9a1c2b0d4e]``. Short, stable
(the ref is a hash of the original), and easy to find with `find_refs`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

__all__ = ["MARKER_PREFIX", "REF_EVERY_CHARS", "SparseRefs", "find_refs", "has_marker", "marker"]

MARKER_PREFIX = "[headroom:"
# Output characters between markers that carry the unit's ref (` · ref=h_...` is ~10 tokens,
# and a unit can have dozens of markers): the first marker always does, so `find_refs`, the
# proxy and a model reading any stretch of the output find it; the others cite that ref.
REF_EVERY_CHARS = 6_000
# Short refs (12 hex digits), or the long ones (32) an original gets when its short ref is taken.
_REF = re.compile(r"ref=(h_[0-9a-f]{12}(?:[0-9a-f]{20})?)\]")


def marker(summary: str, ref: str | None) -> str:
    """One omission marker. `summary` says what was dropped, e.g. "288 rows omitted". Without a
    ref it cites the ref of a marker near it in the same unit (each ref costs ~8 tokens; a unit
    with dozens of markers need not repeat it on each)."""
    return f"{MARKER_PREFIX} {summary} · ref={ref}]" if ref is not None else f"{MARKER_PREFIX} {summary}]"


class SparseRefs:
    """A unit's markers: the ref on one every `REF_EVERY_CHARS` of output, the others without
    it. With `cite_first`, the first marker asked for has it; else the unit already wrote one
    (a top marker). Feed it the output lines as they are written (`wrote`), and ask it for each
    marker (`marker`)."""

    def __init__(self, ref: str, *, cite_first: bool = False) -> None:
        self.ref = ref
        self.since = REF_EVERY_CHARS if cite_first else 0  # output characters since the last ref

    def wrote(self, line: str) -> None:
        self.since += len(line) + 1

    def marker(self, summary: str) -> str:
        if self.since < REF_EVERY_CHARS:
            return marker(summary, None)
        self.since = 0
        return marker(summary, self.ref)

    def weave(
        self, lines: Sequence[str], dropped: Collection[int], markers_at: Mapping[int, str], start: int = 0
    ) -> list[str]:
        """`lines[start:]` as a compressor keeps them: the `dropped` ones left out, the marker of
        `markers_at` (line -> summary) put before its line."""
        out: list[str] = []
        for k in range(start, len(lines)):
            if k in markers_at:
                out.append(self.marker(markers_at[k]))
            if k not in dropped:
                out.append(lines[k])
                self.wrote(lines[k])
        return out


def find_refs(text: str) -> list[str]:
    """Every distinct ref in `text`, in order of first appearance."""
    return list(dict.fromkeys(_REF.findall(text)))


def has_marker(text: str) -> bool:
    return MARKER_PREFIX in text and _REF.search(text) is not None
