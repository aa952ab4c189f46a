"""Split prose into droppable units (sentences, code blocks, list items, headings) as spans.

Units are `(start, end)` spans over the original text, so whatever the prose compressor keeps
is byte-identical to the input (no re-joining, no normalization): dropping can never corrupt
the text that stays, whatever the script or line endings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from headroom.compressors._fences import FENCE_CLOSE, FENCE_OPEN, fenced_blocks

__all__ = ["Unit", "UnitKind", "columned_line", "split_units"]


class UnitKind(str, Enum):
    SENTENCE = "sentence"
    CODE = "code"  # a fenced/indented/prompt code block or a table: kept or dropped whole
    HEADING = "heading"
    ITEM = "item"  # one list item


@dataclass(frozen=True, slots=True)
class Unit:
    start: int
    end: int
    kind: UnitKind
    block: int  # index of the paragraph/block it belongs to (for "first sentence of a paragraph")
    lead: bool  # first unit of its block
    # The first sentence of a long list item split into sentences: it carries the bullet and
    # what the item is about, so it stays whenever any of the item does (prose keeps it).
    head: bool = False


# A blank line (any line ending) separates blocks; fences are found first so blank lines
# inside a fenced code block do not split it.
# Written to start with "\n" (the regex engine scans for a literal fast); a "\r" before the
# first "\n" belongs to the separator too (`_blank_spans`).
_BLANK = re.compile(r"\n[ \t]*(?:\r?\n[ \t]*)+")
_LINE = re.compile(r"[^\n]*(?:\n|$)")
_HEADING_LINE = re.compile(r"^[ \t]*#{1,6}[ \t]+\S")
_UNDERLINE = re.compile(r"^[ \t]*([=*\-~^#])\1{2,}[ \t]*\r?$")
_ITEM_MARKER = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)]|\(?[a-z]\))[ \t]+")  # a list item's bullet or number
_ITEM = re.compile(rf"^{_ITEM_MARKER.pattern}\S")
_PROMPT = re.compile(r"^[ \t]*(?:>>>|\.\.\.|\$ |In \[\d+\]:)")
_TABLE = re.compile(r"^[ \t]*\|.*\|[ \t]*\r?$")
_CODE_CHARS = re.compile(r"[{}();=<>\[\]]|::|->|//|&&|\|\|")
# Sentence end: terminal punctuation (+ closing quotes/brackets) then whitespace, and the next
# sentence starts like a sentence (or bold text: `... bytes. **token_hex**(n) Return ...`). CJK
# full stops end a sentence with no space after them.
# The sentence ends right after the punctuation mark (match start + 1; the closing quotes and
# the whitespace lie between units). Matching the mark itself, instead of a lookbehind for it,
# lets the engine scan for the few marks instead of trying the pattern at every character.
_SENT_END = re.compile(
    r"""[.!?]["'”’)\]]*\s+(?=\*\*[\w`]|["'“‘(\[]?[A-Z0-9À-ÖØ-ÞĀ-ſͰ-ϿЀ-ӿ\u0590-\u06ff\u0900-\u097f])"""
    r"|[。！？]\s*(?=\S)"
)
# A line that is not plain prose: a heading, an underline, a list item, a prompt, a table row
# (the line patterns below, after a "\n"). A block with none is one run of sentences: no
# line-by-line walk.
_SPECIAL_LINE = re.compile(
    r"\n[ \t]*(?:#{1,6}[ \t]+\S|([=*\-~^#])\1{2,}[ \t]*\r?(?:\n|$)|(?:[-*+•]|\d{1,3}[.)]|\(?[a-z]\))[ \t]+\S"
    r"|>>>|\.\.\.|\$ |In \[\d+\]:|\|.*\|[ \t]*\r?(?:\n|$))"
)
_LONG_ITEM_CHARS = 600  # a list item longer than this is split into its sentences
# A hard-wrapped sentence of 100 words runs over 8 or 9 lines (over 14 wrapped at 45 columns,
# but it is under 1000 characters); a "sentence" over more lines and characters is lines that
# never end one.
_MAX_SENTENCE_LINES = 12
_MAX_SENTENCE_CHARS = 1_500
# A tab, or three spaces or more (justified text pads with two), between two words.
_COLUMN_GAP = re.compile(r"\S(?:\t| {3,})(?=[ \t]*\S)")
_MAX_TERM_CHARS = 80  # a described term: `-T, --files-from=FILE`, `exception ValueError`
# Words ending in a period that do not end a sentence.
_ABBREV = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|cf|al|approx|Mr|Mrs|Ms|Dr|Prof|St|No|Fig|Sec|Vol|Inc|Ltd|Jr|Sr)|\b[A-Z])\.$"
)


def _is_code_block(lines: list[str]) -> bool:
    """An indented or prompt block that reads like code rather than indented prose (a Note:)."""
    if any(_PROMPT.match(line) for line in lines):
        return True
    if all(_TABLE.match(line) for line in lines if line.strip()):
        return True
    if not all(line.startswith(("  ", "\t")) or not line.strip() for line in lines):
        return False
    text = "\n".join(lines)
    letters = sum(c.isalpha() or c.isspace() for c in text)
    prose_like = letters > 0.85 * len(text) and text.rstrip().endswith((".", ":", "?", "!"))
    return not prose_like or (bool(_CODE_CHARS.search(text)) and letters < 0.8 * len(text))


def _plain_prose(text: str, start: int, end: int) -> bool:
    """No line of the (stripped) block text[start:end] is special: the line walk of
    `_block_units` would make it one run of sentences. (Its first line starts with a visible
    character, so the block is never indented throughout, which could make it code.)"""
    # The first line has no "\n" before it: test it with one in front.
    first = text.find("\n", start, end)
    head = "\n" + text[start : end if first < 0 else first]
    if _SPECIAL_LINE.match(head):
        return False
    return first < 0 or _SPECIAL_LINE.search(text, first, end) is None


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for match in _SENT_END.finditer(text, start, end):
        stop = match.start() + 1
        if _ABBREV.search(text, max(pos, stop - 8), stop):
            continue
        if stop > pos:
            _add_sentence(text, pos, stop, spans)
        pos = match.end()
    if pos < end:
        _add_sentence(text, pos, end, spans)
    return spans


def columned_line(line: str) -> bool:
    """A line of columns: from the margin, with a tab or three spaces or more between words."""
    return line[:1] not in " \t" and _COLUMN_GAP.search(line) is not None


def _columned(span: str) -> bool:
    """Most lines of a span start at the margin and hold columns (a tab, or three spaces or
    more, between words): records (`/etc/services`, a tab-separated config) that never end a
    sentence, not wrapped prose (a man page's text is indented, its justification padded)."""
    if "\t" not in span and "   " not in span:
        return False  # the common case, prose: no gap to look for
    lines = span.split("\n")
    return sum(1 for line in lines if columned_line(line)) * 2 > len(lines)


def _add_sentence(
    text: str, start: int, end: int, spans: list[tuple[int, int]], max_lines: int = _MAX_SENTENCE_LINES
) -> None:
    """Append text[start:end] as one sentence, or line by line when it runs over more lines
    than a wrapped sentence does, or its lines hold columns: lines with no sentence end between them (a linter's report,
    a listing that came in as prose) are each their own, so dropping one never drops its
    neighbours with it or glues the line before to the line after."""
    breaks = text.count("\n", start, end)
    wrapped = breaks < max_lines or (max_lines > 1 and end - start < _MAX_SENTENCE_CHARS)
    if wrapped and not (breaks >= 2 and _columned(text[start:end])):
        spans.append((start, end))
        return
    pos = start
    while pos < end:
        newline = text.find("\n", pos, end)
        stop = end if newline < 0 else newline
        if stop > pos:
            spans.append((pos, stop))
        pos = stop + 1


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _indent(text: str, pos: int) -> int:
    """How many spaces or tabs start the line that `pos` is at the start of (after them)."""
    at = pos
    while at > 0 and text[at - 1] in " \t":
        at -= 1
    return pos - at


def _term_end(text: str, start: int, end: int) -> int | None:
    """Where the first line of the block text[start:end] ends when it is a term its next line
    describes, indented under it: a man page's or a `--help`'s option (`-0, --null`, `-atime n`),
    a definition list's term, an API reference's `exception ValueError`. None otherwise."""
    newline = text.find("\n", start, end)
    if newline < 0:
        return None
    term = text[start:newline].rstrip()
    if not term or len(term) > _MAX_TERM_CHARS or term.endswith((".", ",", ";")) or term.count(" ") >= 8:
        return None
    if _ITEM.match(term) or _HEADING_LINE.match(term) or _PROMPT.match(term) or _TABLE.match(term):
        return None  # a list item's continuation, a heading, code, a table: their own units
    below = newline + 1
    while below < end and text[below] in " \t":
        below += 1
    if below >= end or text[below] in "\r\n" or below - newline - 1 <= _indent(text, start):
        return None
    return start + len(term)


def _block_units(text: str, start: int, end: int, block: int, units: list[Unit]) -> None:
    start, end = _strip(text, start, end)
    if start >= end:
        return
    term_end = _term_end(text, start, end)
    while term_end is not None:  # the term stays with any part of what describes it
        units.append(Unit(start, term_end, UnitKind.HEADING, block, True))
        start, end = _strip(text, term_end, end)
        term_end = _term_end(text, start, end)  # a section's title, then its first option
    lines = text[start:end].split("\n")
    first = len(units)

    def add(s: int, e: int, kind: UnitKind) -> None:
        s, e = _strip(text, s, e)
        if s < e:
            units.append(Unit(s, e, kind, block, len(units) == first))

    if _plain_prose(text, start, end):
        for s, e in _sentences(text, start, end):
            add(s, e, UnitKind.SENTENCE)
        return
    if _is_code_block(lines):
        add(start, end, UnitKind.CODE)
        return
    # Walk lines: headings and list items become their own units; runs of other lines are prose.
    pos = start
    prose_start: int | None = None
    item_start: int | None = None

    def flush_prose(upto: int) -> None:
        nonlocal prose_start
        if prose_start is not None:
            for s, e in _sentences(text, prose_start, upto):
                add(s, e, UnitKind.SENTENCE)
            prose_start = None

    def flush_item(upto: int) -> None:
        nonlocal item_start
        if item_start is not None:
            # A long item is a paragraph behind a bullet (a generated reference lists a module's
            # functions, docstrings and all, in one): its first sentence is the item, the others
            # are weighed one by one.
            pieces: list[tuple[int, int]] = []
            if upto - item_start > _LONG_ITEM_CHARS:
                marker = _ITEM_MARKER.match(text, item_start)  # anchored at item_start
                # Sentences start after the bullet: "1. Install" must not end a sentence at "1."
                content = marker.end() if marker else item_start
                pieces = _sentences(text, content, upto)
            if len(pieces) > 1:
                s, e = _strip(text, item_start, pieces[0][1])
                units.append(Unit(s, e, UnitKind.ITEM, block, len(units) == first, head=True))
                for s, e in pieces[1:]:
                    add(s, e, UnitKind.SENTENCE)
            else:
                add(item_start, upto, UnitKind.ITEM)
            item_start = None

    for i, line in enumerate(lines):
        line_end = pos + len(line)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _HEADING_LINE.match(line) or (_UNDERLINE.match(nxt) and line.strip() and not _UNDERLINE.match(line)):
            flush_prose(pos)
            flush_item(pos)
            add(pos, line_end, UnitKind.HEADING)
        elif _UNDERLINE.match(line) and units and units[-1].kind is UnitKind.HEADING:
            # Extend the heading over its underline so the pair is kept or dropped together.
            last = units.pop()
            units.append(Unit(last.start, _strip(text, pos, line_end)[1], last.kind, last.block, last.lead))
        elif _ITEM.match(line):
            flush_prose(pos)
            flush_item(pos)
            item_start = pos
        elif item_start is not None and line.startswith((" ", "\t")):
            pass  # continuation of a list item
        else:
            flush_item(pos)
            if prose_start is None:
                prose_start = pos
        pos = line_end + 1
    flush_prose(end)
    flush_item(end)


def _blank_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The blank-line separators in text[start:end]: `\r?\n[ \t]*(?:\r?\n[ \t]*)+`."""
    spans: list[tuple[int, int]] = []
    for blank in _BLANK.finditer(text, start, end):
        at = blank.start()
        if at > start and text[at - 1] == "\r" and (not spans or spans[-1][1] < at):
            at -= 1
        spans.append((at, blank.end()))
    return spans


def split_units(text: str, *, whole_lines: bool = False) -> list[Unit]:
    """The units of `text` in order; the text between units is whitespace (or separators).

    With `whole_lines` no unit starts or ends inside a line: sentences are cut at line ends and
    the pieces on one line make one unit. For numbered text (a Read): a kept line is then a line
    of the file, numbered as the agent saw it, and a dropped one leaves no half line behind to
    glue to its neighbour (an Edit copied from such a line matches nothing)."""
    units = _split_units(text)
    return _line_units(text, units) if whole_lines else units


def _line_units(text: str, units: list[Unit]) -> list[Unit]:
    lines: list[Unit] = []
    for unit in units:
        pieces: list[tuple[int, int]] = []
        if unit.kind is UnitKind.SENTENCE:
            _add_sentence(text, unit.start, unit.end, pieces, max_lines=1)
        else:
            pieces.append((unit.start, unit.end))
        for start, end in pieces:
            s, e = _strip(text, start, end)
            if s >= e:
                continue
            last = lines[-1] if lines else None
            if last is not None and text.find("\n", last.end, s) < 0:
                # on the line the previous unit ends on: one unit with it
                lines[-1] = Unit(last.start, e, last.kind, last.block, last.lead, last.head)
            else:
                lines.append(Unit(s, e, unit.kind, unit.block, last is None or last.block != unit.block, unit.head))
    return lines


def _split_units(text: str) -> list[Unit]:
    units: list[Unit] = []
    block = 0
    pos = 0
    regions: list[tuple[int, int, bool]] = []  # (start, end, fenced)
    fences = fenced_blocks(text, FENCE_OPEN, FENCE_CLOSE) if "```" in text or "~~~" in text else []
    for opener, closer in fences:
        regions.append((pos, opener.start(), False))
        regions.append((opener.start(), closer.end(), True))
        pos = closer.end()
    regions.append((pos, len(text), False))
    for start, end, fenced in regions:
        if fenced:
            s, e = _strip(text, start, end)
            units.append(Unit(s, e, UnitKind.CODE, block, True))
            block += 1
            continue
        pos = start
        for blank_start, blank_end in _blank_spans(text, start, end):
            _block_units(text, pos, blank_start, block, units)
            block += 1
            pos = blank_end
        _block_units(text, pos, end, block, units)
        block += 1
    return units
