"""Fenced blocks (```lang ... ```) in markdown-like text: the sniffer's and the mixed compressor's
shared view of them."""

from __future__ import annotations

import re

__all__ = ["looks_mixed", "split_fenced"]

_FENCE = re.compile(r"^(?P<fence>```|~~~)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)


def split_fenced(text: str) -> list[tuple[str, str | None]]:
    """The text as consecutive parts: (part, fence info) for fenced bodies, (part, None) otherwise.
    Concatenating the parts gives back `text` exactly."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in _FENCE.finditer(text):
        start, end = match.start("body"), match.end("body")
        parts.append((text[position:start], None))
        parts.append((text[start:end], match.group("info").strip().lower()))
        position = end
    parts.append((text[position:], None))
    return [p for p in parts if p[0]]


def looks_mixed(text: str) -> bool:
    """At least one complete fenced block."""
    if text.count("```") + text.count("~~~") < 2:
        return False
    return _FENCE.search(text) is not None
