"""Runs of alike records in a structured document (XML elements, YAML list items and entries),
cut to their edges with an index of what was cut: shared by the XML and YAML compressors.

A document's parser gives its records as `Record`s (byte spans of the document, their child
records in sibling groups, the values that could name them). A run of at least `MIN_RUN`
siblings of one key keeps its first members, its last, those unlike most (a failed test case
among passed ones) and those the task names; each stretch cut becomes one marker saying how many
members went and the identity of each (learned from the values: the first candidate every member
has, with a value of its own in nine of ten), so the document still reads as an index of what
was there. Kept members are read the same way. Members on lines of their own go as whole lines
(the marker a line at their indentation naming the lines); others (a one-line document) are cut
inside the line, except in a numbered Read, which loses whole lines only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from headroom.ccr.markers import SparseRefs
from headroom.compressors._task_match import task_matches
from headroom.compressors.base import Compressed
from headroom.segments import Segment, SegmentContext

__all__ = ["Record", "RecordsCompressor"]

MIN_RUN = 12  # fewer siblings are a document's own structure (a pom's dependencies), left whole
KEEP_HEAD, KEEP_TAIL = 3, 1  # members kept at the edges of a run
MAX_MATCHED = 8  # members the task names, kept in full per run
MAX_RARE = 16  # members unlike the others (a failed test among passed ones), kept in full per run
# The identities listed for a stretch cut cost at most this share of the stretch's characters,
# else only the first and the last are named.
IDENTITY_SHARE = 0.3
MIN_CHARS = 4_000  # a smaller document is left whole: the markers would cost what they spare
_MAX_IDENTITY_CHARS = 64  # on average: longer values describe rather than name
_FIRST_WORD = re.compile(r"[\w.:/@-]+")


@dataclass(slots=True)
class Record:
    key: str  # siblings of one key form runs (an element's tag; "item" for a YAML list's items)
    label: str  # what members are called in a marker, plural: "<comment> elements", "list items"
    start: int  # byte span in the document
    end: int
    signature: tuple[object, ...] = ()  # its shape: members unlike most of their run stay
    identity: list[tuple[str, str]] = field(default_factory=list)  # (name, value) that could name it
    groups: list[list[Record]] = field(default_factory=list)  # its child records, by sibling group
    whole: bool = True  # it starts and ends in the document (not cut short, not opened before a page)


@dataclass(frozen=True, slots=True)
class Cut:
    start: int  # byte span cut
    end: int
    summary: str
    whole_lines: bool  # the span is whole lines: the marker is a line of its own


def _runs(siblings: list[Record], data: bytes, gap_ok: Callable[[bytes], bool]) -> Iterator[list[Record]]:
    """Consecutive whole siblings of one key with nothing between them that `gap_ok` refuses."""
    run: list[Record] = []
    for record in siblings:
        follows = run and record.start >= run[-1].end  # in document order (a parse misread is no run)
        if record.whole and follows and record.key == run[0].key and gap_ok(data[run[-1].end : record.start]):
            run.append(record)
            continue
        if run:
            yield run
        run = [record] if record.whole else []
        if not record.whole:
            yield [record]
    if run:
        yield run


def _identities(members: list[Record]) -> tuple[str, list[str]] | None:
    """The name and values of the first candidate every member has, with a value of its own in
    nine members of ten and short enough on average to name something (a MIME type, not a
    description). A candidate too long to list (a function's signature) names its members by
    its first word (`add.Tensor` of `add.Tensor(Tensor self, …) -> Tensor`) when those are
    their own too; its name then says so (`func (first word)`)."""
    candidates = [dict(member.identity) for member in members]
    for name in dict.fromkeys(name for c in candidates for name in c):
        values = [c.get(name) for c in candidates]
        present = [v for v in values if v is not None]
        if len(present) < len(values):
            continue
        if sum(map(len, present)) > _MAX_IDENTITY_CHARS * len(present):
            words = [found.group(0) if (found := _FIRST_WORD.match(v)) else "" for v in present]
            if all(words) and sum(map(len, words)) <= _MAX_IDENTITY_CHARS * len(words) and _own(words):
                return f"{name} (first word)", words
            continue
        if _own(present):
            return name, present
    return None


def _own(values: list[str]) -> bool:
    return len(set(values)) >= 0.9 * len(values)


class _Cutter:
    def __init__(
        self, data: bytes, context: SegmentContext, *, numbered: bool, gap_ok: Callable[[bytes], bool]
    ) -> None:
        self.data = data
        self.context = context
        self.numbered = numbered
        self.gap_ok = gap_ok
        self.cuts: list[Cut] = []
        self.members_dropped = 0

    def walk(self, siblings: list[Record]) -> None:
        for run in _runs(siblings, self.data, self.gap_ok):
            if len(run) < MIN_RUN:
                for record in run:
                    self._walk_groups(record)
                continue
            kept = self._kept(run)
            stretch: list[Record] = []
            for i, member in enumerate(run):
                if i in kept:
                    self._cut(stretch)
                    stretch = []
                    self._walk_groups(member)
                else:
                    stretch.append(member)
            self._cut(stretch)

    def _walk_groups(self, record: Record) -> None:
        for group in record.groups:
            self.walk(group)

    def _kept(self, run: list[Record]) -> set[int]:
        """The edges, the members unlike most (a failed test case among passed ones: another
        shape, a quarter of the run or less, where half the run or more is alike), and those
        the task names."""
        kept = set(range(KEEP_HEAD)) | set(range(len(run) - KEEP_TAIL, len(run)))
        signatures = Counter(member.signature for member in run)
        if signatures.most_common(1)[0][1] * 2 >= len(run):  # a norm to differ from (not a MIME database's variety)
            rare = [i for i, m in enumerate(run) if signatures[m.signature] * 4 <= len(run) and i not in kept]
            kept.update(rare[:MAX_RARE])
        bodies = [self.data[member.start : member.end].decode("utf-8") for member in run]
        named = [i for i, hit in enumerate(task_matches(bodies, self.context)) if hit and i not in kept]
        kept.update(named[:MAX_MATCHED])
        return kept

    def _cut(self, stretch: list[Record]) -> None:
        if not stretch:
            return
        start, end = stretch[0].start, stretch[-1].end
        line_start = self.data.rfind(b"\n", 0, start) + 1
        line_end = self.data.find(b"\n", end)
        line_end = len(self.data) if line_end < 0 else line_end
        whole_lines = not self.data[line_start:start].strip() and not self.data[end:line_end].strip()
        if not whole_lines and self.numbered:
            return  # a numbered Read keeps or drops whole lines (each kept under its number)
        summary = f"{len(stretch)} {stretch[0].label}"
        identities = _identities(stretch)  # of the members cut: an English comment kept has no xml:lang
        if identities is not None:
            name, values = identities
            listed = ", ".join(values)
            if len(listed) <= IDENTITY_SHARE * (end - start):
                summary += f" ({name}: {listed})"
            else:
                summary += f" ({name} {values[0]} … {values[-1]})"
        if whole_lines:
            start, end = line_start, min(line_end + 1, len(self.data))
        self.cuts.append(Cut(start, end, summary, whole_lines))
        self.members_dropped += len(stretch)


def document_bytes(text: str) -> bytes | None:
    """The UTF-8 bytes the records' spans index, or None for a document to leave whole: a small
    one, one with a lone CR (parsers count it as a line break, the markers' line numbers would
    not), or one holding lone surrogates (no bytes to index)."""
    if len(text) < MIN_CHARS or "\r" in text.replace("\r\n", ""):
        return None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def cut_runs(
    top: list[Record], data: bytes, context: SegmentContext, *, numbered: bool, gap_ok: Callable[[bytes], bool]
) -> tuple[list[Cut], int]:
    """The cuts in `data` (in document order) and how many members they hold."""
    cutter = _Cutter(data, context, numbered=numbered, gap_ok=gap_ok)
    cutter.walk(top)
    return cutter.cuts, cutter.members_dropped


def render(data: bytes, cuts: list[Cut], segment: Segment) -> str:
    """`data` with each cut replaced by its marker. Raises ValueError on overlapping cuts (a
    parse the caller misread: the pipeline keeps the original)."""
    refs = SparseRefs(segment.ref, cite_first=True)
    out: list[str] = []
    position = line = 0  # `line`: the 0-based line `position` is on
    for cut in cuts:  # in document order: a run's stretches around its kept members' own
        if cut.start < position:
            raise ValueError("overlapping cuts")
        kept = data[position : cut.start]
        out.append(kept.decode("utf-8"))
        refs.wrote(out[-1])
        line += kept.count(b"\n")
        body = data[cut.start : cut.end]
        if cut.whole_lines:
            first_row = body.split(b"\n", 1)[0]
            indent = first_row[: len(first_row) - len(first_row.lstrip())].decode("utf-8")
            last = line + body.count(b"\n") - body.endswith(b"\n")
            where = f"lines {segment.first_line + line}-{segment.first_line + last}"
            out.append(indent + refs.marker(f"{cut.summary}, {where}") + ("\n" if body.endswith(b"\n") else ""))
        else:
            out.append(refs.marker(cut.summary))
        line += body.count(b"\n")
        position = cut.end
    out.append(data[position:].decode("utf-8"))
    return "".join(out)


class RecordsCompressor:
    """What a compressor reading its documents as records (XML, YAML) shares: the document's
    bytes, its runs cut, the text as it is when there is nothing to cut. A subclass gives the
    records (`records`) and says what may stand between two members of a run (`gap_ok`)."""

    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        text = segment.text
        data = document_bytes(text)
        if data is None:
            return Compressed(text)
        cuts, dropped = cut_runs(
            self.records(data, text), data, segment.context, numbered=segment.numbered, gap_ok=self.gap_ok
        )
        if not cuts:
            return Compressed(text)
        return Compressed(
            render(data, cuts, segment), lossy=True, notes={"members_dropped": dropped, "runs_cut": len(cuts)}
        )

    def records(self, data: bytes, text: str) -> list[Record]:
        raise NotImplementedError

    @staticmethod
    def gap_ok(gap: bytes) -> bool:
        """Blanks only (an XML element's siblings)."""
        return not gap.strip()
