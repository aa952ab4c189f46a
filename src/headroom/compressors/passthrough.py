"""Lossless whitespace normalization: what low-redundancy content gets instead of compression."""

from __future__ import annotations

import re
from typing import ClassVar

from headroom.compressors.base import Compressed, register
from headroom.segments import ContentKind, Segment

__all__ = ["PassthroughCompressor", "normalize_whitespace"]

# Only from the start of a run: tried at every space of a run not followed by a newline (a
# 32k-space line), `[ \t]+(?=\n)` rescanned the rest of the run each time: 4 s.
_TRAILING_SPACE = re.compile(r"(?<![ \t])[ \t]+(?=\n)")
_BLANK_RUN = re.compile(r"\n{4,}")


def normalize_whitespace(text: str, *, numbered: bool = False) -> str:
    """Drop trailing spaces and squeeze runs of 3+ blank lines to 2. Changes no visible character.

    Not in `numbered` text (a Read): there each line is the file's line under its number, and an
    Edit copied from a line that lost its trailing spaces, or across blank lines squeezed away,
    matches nothing in the file."""
    if numbered:
        return text
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUN.sub("\n\n\n", text)


@register
class PassthroughCompressor:
    name: ClassVar[str] = "passthrough"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.TEXT, ContentKind.MIXED, ContentKind.PROSE})
    priority: ClassVar[int] = 0

    def compress(self, segment: Segment) -> Compressed:
        return Compressed(normalize_whitespace(segment.text, numbered=segment.numbered))
