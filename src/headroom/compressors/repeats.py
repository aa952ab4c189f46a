"""Text whose lines come back in a cycle: each long run of the same few lines again folds.

A traceback of mutual recursion (Python folds one function calling itself, "[Previous line
repeated 996 more times]", not `visit` -> `visit_dict` -> `visit` over 600 lines), a script
printing the same block each iteration, a retry loop's output, a zero-filled table: after the
first time round, a run of lines is the cycle of lines just above it, again and again. A run of
at least `_MIN_RUN` lines that repeats the cycle before it exactly folds into one marker saying
which lines it repeats and how many times, so the text reads the same with nothing to fetch
(the lines are one `headroom_retrieve` away all the same). Lines that merely occurred before,
in another order (a column of PASS and FAIL), are no cycle and stay.
"""

from __future__ import annotations

from typing import ClassVar

from headroom.ccr.markers import marker
from headroom.compressors._log_templates import HEADER
from headroom.compressors.base import Compressed, register
from headroom.segments import ContentKind, Segment

__all__ = ["RepeatsCompressor", "looks_like_repeats"]

_MIN_RUN = 24  # lines of a run repeating the cycle above it, before the run folds
_MAX_CYCLE = 64  # lines in a cycle (a recursion of a few functions, three lines a frame)
# Earlier copies of a line tried as a cycle's start: the nearest is one cycle up unless the line
# comes back within a cycle (a blank line, a `^^^^` under each frame); this bounds the work.
_CANDIDATES = 8


def looks_like_repeats(head: str) -> bool:
    """Runs of lines repeating the cycle above them make at least half the first lines (the last
    may be cut). Asked before the log sniffer: a recursion's traceback is all `File "..."` lines
    (Python 3.10 writes no `^^^^` under them), a log to it, whose templates fold nothing."""
    lines = head.split("\n")[:-1]
    if len(lines) - len(set(lines)) < len(lines) // 2 or len(lines) < _MIN_RUN:
        return False  # not half the lines seen before: no half of them in cycles (a cheap first test)
    if sum(1 for line in lines if HEADER.match(line)) * 2 >= len(lines):
        return False  # time-stamped events: the log compressor's, which counts them by template
    return sum(end - start for start, end, _ in _cycle_runs(lines)) * 2 >= len(lines) > 0


@register(sniffer=looks_like_repeats, sniff_rank=55)
class RepeatsCompressor:
    name: ClassVar[str] = "repeats"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.REPEATS})
    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        lines = segment.text.split("\n")
        runs = _cycle_runs(lines)
        if not runs:
            return Compressed(segment.text)
        out: list[str] = []
        at = 0
        for start, end, cycle in runs:
            out.extend(lines[at:start])
            first, last = segment.first_line + start, segment.first_line + end - 1
            times, rest = divmod(end - start, cycle)
            again = "the line above" if cycle == 1 else f"the {cycle} lines above (lines {first - cycle}-{first - 1})"
            said = f"{end - start} lines omitted (lines {first}-{last}): {again} again, {times} more times"
            if rest:
                said += f", then the first {rest} of them" if rest > 1 else ", then the first of them"
            ending = "\r" if lines[start].endswith("\r") else ""  # a CRLF text keeps its line ends
            out.append(marker(said, segment.ref) + ending)
            at = end
        out.extend(lines[at:])
        folded = sum(end - start for start, end, _ in runs)
        return Compressed("\n".join(out), lossy=True, notes={"lines_folded": folded, "runs_folded": len(runs)})


def _cycle_runs(lines: list[str]) -> list[tuple[int, int, int]]:
    """(start, end, cycle) of each run to fold: lines[start:end] each equal to the line `cycle`
    lines above, `end - start >= _MIN_RUN`, the cycle holding a written line. At each line the
    shortest cycle of the longest run wins. Lines are compared as numbers (one per distinct
    line), and only cycles ending at one of the nearest earlier copies of the line are tried: text
    without repeats costs one pass."""
    ids: dict[str, int] = {}
    keys = [ids.setdefault(line, len(ids)) for line in lines]  # exact: a marker says "again"
    blank = {key for line, key in ids.items() if not line.strip()}
    seen_at: dict[int, list[int]] = {}  # line id -> its latest positions, within _MAX_CYCLE
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < len(keys):
        best_length, best_cycle = 0, 0
        for earlier in reversed(seen_at.get(keys[i], ())[-_CANDIDATES:]):
            cycle = i - earlier
            if cycle > _MAX_CYCLE:
                break
            length = 0
            while i + length < len(keys) and keys[i + length] == keys[i + length - cycle]:
                length += 1
            if length > best_length:
                best_length, best_cycle = length, cycle
        written = any(key not in blank for key in keys[i - best_cycle : i]) if best_cycle else False
        if best_length >= _MIN_RUN and written:
            runs.append((i, i + best_length, best_cycle))
            step = best_length
        else:
            step = 1
        for k in range(i, i + step):
            positions = seen_at.setdefault(keys[k], [])
            positions.append(k)
            if len(positions) > _MAX_CYCLE:
                del positions[0]
        i += step
    return runs
