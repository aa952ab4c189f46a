"""`git blame` output: a commit, author and date before every line, most of them the line above's.

An agent blames a file to learn who changed which lines, when and in what commit. The default
format writes all of it on every line (`2909e04b (Ada Lovelace 2026-11-25 20:59:38 +0000 12) x`),
though a commit usually owns runs of lines: of a 600-line file's 25k tokens, two thirds are
those repeats. Here each run's first line stays as git wrote it, and the lines after it in the
same commit keep only their line number and text (`  13) y`); a marker at the top says how to
read it. Every line's text and number stay, so nothing needs fetching to see who wrote a line:
it is the nearest full line above. `-s` (no author and date), `-e` (emails), `--date`, a file
name column (`-C`), boundary (`^`) and uncommitted (`00000000`) lines all read the same way.
"""

from __future__ import annotations

import itertools
import re

from headroom.ccr.markers import marker
from headroom.compressors.base import Compressed
from headroom.segments import Segment

__all__ = ["compress_blame", "looks_like_blame"]

# sha [file] (author date time zone  line) text  --  or, with -s, sha [file]  line) text
_BLAME = re.compile(
    r"(?P<owner>\^?[0-9a-f]{7,40}(?: [^\s(]+)?)(?: +\((?P<who>[^()\n]*?)|) +(?P<line>\d+)\) ?(?P<text>.*)"
)
_SNIFF_LINES = 40
_MIN_LINES = 5
_MIN_SHARE = 0.9


def looks_like_blame(head: str) -> bool:
    """Nearly every line (the last, maybe cut, aside) a blame line, numbered one after another."""
    lines = [line for line in head.split("\n")[:-1] if line.strip()][:_SNIFF_LINES]
    found = [match for match in map(_BLAME.fullmatch, lines) if match is not None]
    if len(found) < _MIN_LINES or len(found) < _MIN_SHARE * len(lines):
        return False
    numbers = [int(match["line"]) for match in found]
    return sum(1 for a, b in itertools.pairwise(numbers) if b == a + 1) >= _MIN_SHARE * (len(numbers) - 1)


def compress_blame(segment: Segment) -> Compressed:
    if segment.numbered:  # a Read's page: a shortened line could not keep the number it is read by
        return Compressed(segment.text)
    lines = segment.text.split("\n")
    width = max((len(m["line"]) for m in map(_BLAME.fullmatch, lines) if m is not None), default=1)
    out: list[str] = []
    owner: tuple[str, str | None] | None = None
    shortened = 0
    for line in lines:
        match = _BLAME.fullmatch(line)
        if match is None:
            out.append(line)
            owner = None
            continue
        this = (match["owner"], match["who"])
        if this == owner:
            out.append(f"{match['line']:>{width}}) {match['text']}")
            shortened += 1
        else:
            out.append(line)
            owner = this
    if not shortened:
        return Compressed(segment.text)
    note = marker(
        f"git blame: {shortened} lines from the same commit as the line above show only their line number "
        "and text; their commit, author and date are those of the nearest full line above",
        segment.ref,
    )
    return Compressed(note + "\n" + "\n".join(out), lossy=True, notes={"blame_lines_shortened": shortened})
