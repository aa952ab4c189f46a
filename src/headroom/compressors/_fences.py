"""Fenced blocks (```lang ... ```, ~~~ ... ~~~) found in one pass over the text.

A regex of the form `opener .*? closer` (DOTALL, with a backreference to the opener's fence)
is quadratic when openers have no closer: each one scans to the end of the text before the
engine gives up and tries the next line. Text underlined with tildes (`~~~~~~~~` under every
heading of the vim tutor, 8,700 of them in a 68k-token read) took 0.34 s per scan, twice per
unit (the router's sniff and the prose splitter). Here every opener and closer line is found
once, and each opener is paired with the first closer of its fence after it (a bisection), which
is the match the lazy regex gives, in the same order.
"""

from __future__ import annotations

import bisect
import re

__all__ = ["FENCE_CLOSE", "FENCE_OPEN", "PIPE_TABLE", "fenced_blocks"]

# A markdown code fence's opening and closing lines, indented or not (a block inside a list
# item): the pair `fenced_blocks` takes for markdown read as prose.
FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>```|~~~)[^\n]*\n", re.MULTILINE)
FENCE_CLOSE = re.compile(r"^[ \t]*(?P<fence>```|~~~)[ \t]*$", re.MULTILINE)

# A pipe table (GFM): a row, its `| --- |` separator, the other rows; each line starts and ends with `|`.
# The separator's first dash is found without backtracking (`[ :|]*-`): a long run of dashes
# that ends in no `|` would otherwise be split every way before failing.
PIPE_TABLE = re.compile(
    r"^[ \t]*\|[^\n]*\|[ \t]*\n[ \t]*\|[ :|]*-[ :|-]*\|[ \t]*\n(?:[ \t]*\|[^\n]*\|[ \t]*(?:\n|$))*", re.MULTILINE
)


Block = tuple[re.Match[str], re.Match[str]]  # the opener line's match, the closer line's


def fenced_blocks(text: str, opener: re.Pattern[str], closer: re.Pattern[str]) -> list[Block]:
    """(opener match, closer match) of each fenced block, in order, as `re.finditer` of
    `opener.*?closer` would find them (`opener` ends with its line's newline; both patterns
    name the fence in a group `fence`, which the closer must repeat)."""
    closers: dict[str, list[re.Match[str]]] = {}
    for found in closer.finditer(text):
        closers.setdefault(found.group("fence"), []).append(found)
    starts = {fence: [found.start() for found in lines] for fence, lines in closers.items()}
    blocks: list[Block] = []
    position = 0
    for start in opener.finditer(text):
        fence = start.group("fence")
        if start.start() < position or fence not in closers:
            continue  # inside the block before, or a fence nothing closes
        k = bisect.bisect_left(starts[fence], start.end())
        if k == len(starts[fence]):
            continue
        end = closers[fence][k]
        blocks.append((start, end))
        position = end.end()
    return blocks
