"""Fenced blocks (```lang ... ```) in markdown-like text: the sniffer's and the mixed compressor's
shared view of them."""

from __future__ import annotations

import re

from headroom.compressors._fences import PIPE_TABLE, fenced_blocks

__all__ = ["looks_mixed", "split_fenced", "split_tables"]

_FENCE_OPEN = re.compile(r"^(?P<fence>```|~~~)(?P<info>[^\n`]*)\n", re.MULTILINE)
_FENCE_CLOSE = re.compile(r"^(?P<fence>```|~~~)[ \t]*$", re.MULTILINE)


def split_fenced(text: str) -> list[tuple[str, str | None]]:
    """The text as consecutive parts: (part, fence info) for fenced bodies (an empty one too),
    (part, None) otherwise. Concatenating the parts gives back `text` exactly."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for opener, closer in fenced_blocks(text, _FENCE_OPEN, _FENCE_CLOSE):
        start, end = opener.end(), closer.start()
        parts.append((text[position:start], None))
        parts.append((text[start:end], opener.group("info").strip().lower()))
        position = end
    parts.append((text[position:], None))
    # An empty block (```` ```\n``` ````) stays a part: the text around it must know a block is there.
    return [p for p in parts if p[0] or p[1] is not None]


def looks_mixed(text: str) -> bool:
    """At least one complete fenced block."""
    if text.count("```") + text.count("~~~") < 2:
        return False
    return bool(fenced_blocks(text, _FENCE_OPEN, _FENCE_CLOSE))


def split_tables(text: str, min_chars: int) -> list[tuple[str, bool]]:
    """Markdown text as consecutive parts: (part, True) for each pipe table of at least
    `min_chars`, (part, False) for the text around them. Concatenating the parts gives back
    `text` exactly."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for table in PIPE_TABLE.finditer(text):
        if table.end() - table.start() < min_chars:
            continue
        parts.append((text[position : table.start()], False))
        parts.append((table.group(0), True))
        position = table.end()
    parts.append((text[position:], False))
    return [p for p in parts if p[0]]
