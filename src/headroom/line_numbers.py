"""Line-number prefixes that read tools put on every line (`cat -n`, `nl`, Claude Code's Read).

A neutral text helper: the code compressor reads code behind them, the sniffer looks past them,
and retrieval addresses lines by the numbers the agent saw. (Claude Code's and Codex's whole
tool envelopes are `headroom.envelopes`; this parser also takes numbered text inside a short
unnumbered frame.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NumberedLines", "compact_prefix", "split_line_numbers"]

# `cat -n` ("     1\t"), Claude Code's Read ("    12→"), and "12 | " / "12: " styles.
_NUMBER_PREFIX = re.compile(r"^( *)(\d{1,7})(\t|→| ?\| ?|: ?)")


@dataclass(frozen=True, slots=True)
class NumberedLines:
    """Text split into per-line number prefixes and the code behind them.

    `prefixes[i] + code_lines[i]` is exactly line i of the original; `first_number` is the file
    line number of row 0 (a read may start at any offset).
    """

    prefixes: tuple[str, ...]
    code_lines: tuple[str, ...]
    first_number: int


_MAX_FRAME_LINES = 3  # unnumbered header/footer lines a read tool may add ("... truncated")


def split_line_numbers(lines: list[str]) -> NumberedLines | None:
    """Detect line-number prefixes on every line; None when the text is not numbered.

    Numbers must run consecutively with one separator style. Up to three unnumbered lines
    before and after the numbered block (a tool's header or footer, the final newline) are
    kept as "prefix" with empty code, so the parser sees them as blank lines.
    """
    lead = next((i for i, line in enumerate(lines[: _MAX_FRAME_LINES + 1]) if _NUMBER_PREFIX.match(line)), None)
    if lead is None:
        return None
    first = _NUMBER_PREFIX.match(lines[lead])
    assert first is not None
    sep, start = first.group(3), int(first.group(2))
    prefixes = list(lines[:lead])
    codes = [""] * lead
    expected = start
    for line in lines[lead:]:
        match = _NUMBER_PREFIX.match(line)
        if match is None or int(match.group(2)) != expected or match.group(3) != sep:
            break
        prefixes.append(match.group(0))
        codes.append(line[match.end() :])
        expected += 1
    tail = lines[len(prefixes) :]
    if expected - start < 2 or len(tail) > _MAX_FRAME_LINES or any(_NUMBER_PREFIX.match(t) for t in tail):
        return None
    prefixes.extend(tail)
    codes.extend([""] * len(tail))
    return NumberedLines(tuple(prefixes), tuple(codes), start - lead)


def compact_prefix(prefix: str) -> str:
    """A line-number prefix without the padding that right-aligns its number (`   363\t` ->
    `363\t`): in a shortened read the padding is a token on every kept line and tells the model
    nothing the number does not. Anything else (a read tool's header line) comes back as it is."""
    stripped = prefix.lstrip(" ")
    return stripped if stripped[:1].isdigit() else prefix
