"""Text no other compressor recognises, whose lines come back again and again: the runs of repeats fold.

A traceback of mutual recursion (Python folds one function calling itself, "[Previous line
repeated 996 more times]", not `visit` -> `visit_dict` -> `visit` over 600 lines), a script
printing the same block each iteration, a retry loop's output: after the first time round,
every line has been seen. A run of at least `_MIN_RUN` lines that each repeat a line shown
earlier folds into one marker naming its lines, but for its last `_KEEP_BEFORE_NEW` lines, which
lead into what comes next (the frames nearest the error). Everything the reader has not seen yet
stays, in place; the folded lines are one `headroom_retrieve` away. Text with no such run passes
as the passthrough compressor leaves it: whitespace normalized only.
"""

from __future__ import annotations

from typing import ClassVar

from headroom.ccr.markers import marker
from headroom.compressors.base import Compressed, register
from headroom.compressors.passthrough import normalize_whitespace
from headroom.segments import ContentKind, Segment

__all__ = ["RepeatsCompressor"]

_MIN_RUN = 24  # lines that each repeat an earlier line, in a row, before a run folds
_KEEP_BEFORE_NEW = 9  # lines of a run kept before the first new line after it (three frames)


@register
class RepeatsCompressor:
    name: ClassVar[str] = "repeats"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.TEXT})
    priority: ClassVar[int] = 5  # before the passthrough, which it falls back to

    def compress(self, segment: Segment) -> Compressed:
        lines = segment.text.split("\n")
        runs = _repeat_runs(lines)
        if not runs:
            return Compressed(normalize_whitespace(segment.text, numbered=segment.numbered), by="passthrough")
        out: list[str] = []
        at = 0
        folded = 0
        for start, end in runs:
            out.extend(lines[at:start])
            first, last = segment.first_line + start, segment.first_line + end - 1
            ending = "\r" if lines[start].endswith("\r") else ""
            out.append(
                marker(
                    f"{end - start} lines omitted (lines {first}-{last}), each a repeat of a line above", segment.ref
                )
                + ending
            )
            folded += end - start
            at = end
        out.extend(lines[at:])
        return Compressed("\n".join(out), lossy=True, notes={"lines_folded": folded, "runs_folded": len(runs)})


def _repeat_runs(lines: list[str]) -> list[tuple[int, int]]:
    """[start, end) of each run to fold: at least `_MIN_RUN` lines in a row that each repeat an
    earlier line (blank lines count as repeats, but half the run must be written lines), less the
    last `_KEEP_BEFORE_NEW` of them."""
    seen: set[str] = set()
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, line in enumerate([*lines, None]):
        key = None if line is None else line.rstrip()
        if key is not None and (key in seen or not key):
            if start is None:
                start = i
            continue
        if (
            start is not None
            and i - start >= _MIN_RUN
            and sum(1 for k in range(start, i) if lines[k].strip()) >= _MIN_RUN // 2
        ):
            runs.append((start, i - _KEEP_BEFORE_NEW))
        start = None
        if key is not None:
            seen.add(key)
    return runs
