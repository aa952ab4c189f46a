"""Fenced blocks are found in one pass, exactly where the lazy `opener .*? closer` regex finds them."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.compressors._fences import FENCE_CLOSE, FENCE_OPEN, fenced_blocks
from headroom.routing import fences

# The regexes the scanner replaced: quadratic on openers nothing closes, but the reference.
_LAZY_SENTENCES = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
_LAZY_MARKDOWN = re.compile(
    r"^(?P<fence>```|~~~)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL
)
_PIECES = st.sampled_from(
    ["```", "~~~", "``` python", "~~~~~~~~", "  ```", " ~~~ ", "text", "a ``` b", "```\t", "~~~x`"]
)
_LINES = st.lists(st.tuples(_PIECES, st.sampled_from(["\n", "", "\r\n", "\n\n"])), max_size=14)


@settings(max_examples=400, deadline=None)
@given(_LINES)
def test_the_scanner_pairs_fences_as_the_lazy_regex_does(parts: list[tuple[str, str]]) -> None:
    text = "".join(piece + end for piece, end in parts)
    found = fenced_blocks(text, FENCE_OPEN, FENCE_CLOSE)
    assert [(o.start(), c.end()) for o, c in found] == [m.span() for m in _LAZY_SENTENCES.finditer(text)]
    found = fenced_blocks(text, fences._FENCE_OPEN, fences._FENCE_CLOSE)
    expected = [(m.start("body"), m.end("body"), m["info"]) for m in _LAZY_MARKDOWN.finditer(text)]
    assert [(o.end(), c.start(), o["info"]) for o, c in found] == expected


def test_tilde_underlines_open_no_block() -> None:
    """reStructuredText and the vim tutor underline headings with tildes: no block, no closer."""
    text = "".join(f"Section {n}\n{'~' * 12}\n\nSome prose about section {n}.\n\n" for n in range(2_000))
    assert not fences.looks_mixed(text)
    assert fences.split_fenced(text) == [(text, None)]
    assert fenced_blocks(text, FENCE_OPEN, FENCE_CLOSE) == []
    # One bare `~~~` line after them closes the first underline, as the regex had it.
    closed = text + "~~~\n"
    ((opener, closer),) = fenced_blocks(closed, fences._FENCE_OPEN, fences._FENCE_CLOSE)
    assert (opener.end(), closer.start()) == _LAZY_MARKDOWN.search(closed).span("body")  # type: ignore[union-attr]
