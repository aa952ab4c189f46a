"""XML documents (a generated data file, a catalogue, a schema, a report): long runs of alike
sibling elements cut to their edges, with an index of what was cut.

XML data is mostly records: siblings of one tag with the same attribute names (a code list's
`<iso_3166_subdivision code= name=>`, a MIME database's `<mime-type type=>`, each type's
`<comment xml:lang=>` in 50 languages, a keyboard database's `<layout>`). A run of at least
`MIN_RUN` such siblings keeps its first members, its last, and those the task names; each
stretch cut becomes one marker line at the members' indentation that says how many members of
which tag went, the lines they held, and the identity of each (an attribute or a leading
child's text that tells the members apart, learned from the values: `code: AD-03, AD-04, …`),
so the document still reads as an index of everything in it. Members kept are read the same
way, so a kept `<mime-type>` keeps its English comment and loses its 49 translations. Only
whole lines go: a numbered Read keeps every kept line under its number, and the rest (the root,
the members' structure, text between runs) stays as it was.

The structure comes from the standard library's expat parser (line numbers of every element;
no DTD or external entity is ever fetched). A document cut short (a Read with a `limit`, a
`head`) parses up to the cut: elements closed before it are read as above, the rest stays.
Text that expat cannot read at all, and documents with no long run, pass whole.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar
from xml.parsers import expat

from headroom.ccr.markers import SparseRefs
from headroom.compressors._task_match import task_matches
from headroom.compressors.base import Compressed, register
from headroom.segments import ContentKind, Segment, SegmentContext

__all__ = ["XmlCompressor", "looks_like_xml"]

MIN_RUN = 12  # fewer alike siblings are a document's own structure (a pom's dependencies), left whole
KEEP_HEAD, KEEP_TAIL = 3, 1  # members kept at the edges of a run
MAX_MATCHED = 8  # members the task names, kept in full per run
MIN_CHARS = 4_000  # a smaller document is left whole: the markers would cost what they spare
# The identities listed for a stretch cut cost at most this share of the stretch's characters,
# else only the first and the last are named.
IDENTITY_SHARE = 0.3
_MAX_IDENTITY_CHARS = 48  # on average: longer values describe rather than name

_DECLARATION = re.compile(r"<\?xml[\s?]")
# A whole document: its declaration, doctype, a comment or its root opens it (after a BOM or blank lines).
_PROLOG = re.compile(r"\ufeff?\s*<(?:\?xml[\s?]|!DOCTYPE|!--)")
# What a scan for tags skips: comments, CDATA, processing instructions, a doctype's declarations.
_SKIPPED = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL)
_TAG = re.compile(r"<(/)?([A-Za-z_][\w:.-]*)(?:\s[^<>]*?)?(/)?>")
_TAG_LINE = re.compile(r"[ \t]*<[A-Za-z_!?/]")
_SNIFF_MIN_LINES = 4


def looks_like_xml(head: str) -> bool:
    """An XML document: its declaration opens the text, or its lines are tags. HTML is sniffed
    before (its own compressor renders it)."""
    text = head.lstrip("\ufeff \t\r\n")
    if _DECLARATION.match(text):
        return True
    if not text.startswith("<") or text.startswith("<<"):
        return False
    lines = [line for line in text.split("\n")[:-1] if line.strip()]  # the last may be cut
    if len(lines) < _SNIFF_MIN_LINES:
        return False
    return sum(1 for line in lines if _TAG_LINE.match(line)) >= 0.8 * len(lines)


@dataclass(slots=True)
class _Element:
    tag: str
    attributes: dict[str, str]
    start: int  # 0-based line of the start tag
    end: int = -1  # 0-based line of the end tag; -1 while open (a document cut short)
    children: list[_Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # its own character data
    opened_before: bool = False  # its start tag came before the page (`_parse`)
    alone: bool = False  # nothing else on its first line before it, nor on its last line after it

    @property
    def shape(self) -> tuple[str, tuple[str, ...]]:
        return self.tag, tuple(sorted(self.attributes))


def _dangling_closers(text: str) -> list[str]:
    """The end tags of a page that starts inside elements (a Read with an `offset`, a `sed -n`
    of the middle of a file), innermost first: those whose start tag came before the page."""
    text = _SKIPPED.sub("", text)
    open_tags: list[str] = []
    dangling: list[str] = []
    for tag in _TAG.finditer(text):
        closing, name, empty = tag.group(1), tag.group(2), tag.group(3)
        if empty:
            continue
        if not closing:
            open_tags.append(name)
        elif name in open_tags:
            while open_tags.pop() != name:
                pass
        elif not open_tags:
            dangling.append(name)
    return dangling


def _parse(text: str) -> list[_Element]:
    """The top elements of `text` as far as expat reads it (elements still open where it
    stopped keep `end` -1). A page from the middle of a document is read inside a root of its
    own and the start tags of the elements it ends in, all on its first line (so the line
    numbers stay the page's); those elements close on the page, never in a run of alike ones."""
    prefix = b""
    if not _PROLOG.match(text):
        prefix = ("<_>" + "".join(f"<{name}>" for name in reversed(_dangling_closers(text)))).encode()
    lines = text.encode("utf-8", "replace").split(b"\n")  # expat's columns count bytes

    def _shift(line: int) -> int:
        return len(prefix) if line == 0 else 0

    parser = expat.ParserCreate(encoding="UTF-8")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    roots: list[_Element] = []
    stack: list[_Element] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        element = _Element(tag, attributes, parser.CurrentLineNumber - 1)
        element.opened_before = parser.CurrentByteIndex < len(prefix)
        # The page's first line follows the prefix.
        element.alone = not lines[element.start][: parser.CurrentColumnNumber - _shift(element.start)].strip()
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        element = stack.pop()
        element.end = parser.CurrentLineNumber - 1
        # Expat reports an end tag where it starts, and an empty element's where the element does.
        rest = lines[element.end][max(0, parser.CurrentColumnNumber - _shift(element.end)) :]
        element.alone = element.alone and not rest.partition(b">")[2].strip()

    def data(chunk: str) -> None:
        if stack and not stack[-1].children:
            stack[-1].text.append(chunk)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    with contextlib.suppress(expat.ExpatError):  # cut short, or not XML past some point: what was read stands
        parser.Parse(prefix + b"\n".join(lines), True)
    return roots


def _runs(children: list[_Element]) -> Iterator[list[_Element]]:
    """Consecutive siblings of one shape, each closed and on lines of its own."""
    run: list[_Element] = []
    for child in children:
        whole = child.end >= 0 and child.alone and not child.opened_before
        own_lines = whole and (not run or child.start > run[-1].end)
        if run and own_lines and child.shape == run[0].shape:
            run.append(child)
            continue
        if run:
            yield run
        run = [child] if whole else []
        if not whole:
            yield [child]
    if run:
        yield run


def _identity(element: _Element) -> Iterator[tuple[str, str]]:
    """(name, value) candidates that could tell `element` apart from its siblings: each
    attribute, its own text if it has no children, else the text of its first child
    (`<configItem><name>us</name>`), one level down."""
    yield from element.attributes.items()
    if not element.children:  # a leaf names itself: `<iso639Id>rus</iso639Id>`
        value = "".join(element.text).strip()
        if value and "\n" not in value:
            yield element.tag, value
    node = element
    path = []
    for _ in range(2):
        if not node.children:
            break
        node = node.children[0]
        path.append(node.tag)
        if not node.children:
            value = "".join(node.text).strip()
            if value and "\n" not in value:
                yield "/".join(path), value
            break


def _identity_name(run: list[_Element]) -> str | None:
    """The first candidate every member has, with a value of its own in nine members of ten
    and short enough on average to name something (a MIME type, not a description)."""
    candidates = [dict(_identity(member)) for member in run]
    for name in candidates[0]:
        values = [c.get(name) for c in candidates]
        present = [v for v in values if v is not None]
        if len(present) < len(values) or sum(map(len, present)) > _MAX_IDENTITY_CHARS * len(present):
            continue
        if len(set(values)) >= 0.9 * len(values):
            return name
    return None


class _Cutter:
    def __init__(self, lines: list[str], context: SegmentContext) -> None:
        self.lines = lines
        self.context = context
        self.cuts: list[tuple[int, int, str]] = []  # (first line, last line, summary)
        self.members_dropped = 0

    def walk(self, elements: list[_Element]) -> None:
        for run in _runs(elements):
            if len(run) < MIN_RUN:
                for element in run:
                    self.walk(element.children)
                continue
            kept = self._kept(run)
            name = _identity_name(run)
            stretch: list[_Element] = []
            for i, member in enumerate(run):
                if i in kept:
                    self._cut(stretch, name)
                    stretch = []
                    self.walk(member.children)
                else:
                    stretch.append(member)
            self._cut(stretch, name)

    def _kept(self, run: list[_Element]) -> set[int]:
        kept = set(range(KEEP_HEAD)) | set(range(len(run) - KEEP_TAIL, len(run)))
        bodies = ["\n".join(self.lines[member.start : member.end + 1]) for member in run]
        named = [i for i, hit in enumerate(task_matches(bodies, self.context)) if hit and i not in kept]
        kept.update(named[:MAX_MATCHED])
        return kept

    def _cut(self, stretch: list[_Element], name: str | None) -> None:
        if not stretch:
            return
        first, last = stretch[0].start, stretch[-1].end
        tag = stretch[0].tag
        summary = f"{len(stretch)} <{tag}> elements"
        if name is not None:
            values = [dict(_identity(member))[name] for member in stretch]
            listed = ", ".join(values)
            chars = sum(len(line) + 1 for line in self.lines[first : last + 1])
            if len(listed) <= IDENTITY_SHARE * chars:
                summary += f" ({name}: {listed})"
            else:
                summary += f" ({name} {values[0]} … {values[-1]})"
        self.cuts.append((first, last, summary))
        self.members_dropped += len(stretch)


@register(sniffer=looks_like_xml, sniff_rank=8)
class XmlCompressor:
    name: ClassVar[str] = "xml"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.XML})
    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        text = segment.text
        if len(text) < MIN_CHARS or "\r" in text.replace("\r\n", ""):
            return Compressed(text)  # small; or a lone CR, which expat counts as a line break
        lines = text.split("\n")
        cutter = _Cutter(lines, segment.context)
        cutter.walk(_parse(text))
        if not cutter.cuts:
            return Compressed(text)
        dropped: set[int] = set()
        markers_at: dict[int, str] = {}
        for first, last, summary in cutter.cuts:
            dropped.update(range(first, last + 1))
            indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
            where = f"lines {segment.first_line + first}-{segment.first_line + last}"
            markers_at[first] = indent + "\0" + f"{summary}, {where}"
        refs = SparseRefs(segment.ref, cite_first=True)
        out: list[str] = []
        for k, line in enumerate(lines):
            if k in markers_at:
                indent, _, summary = markers_at[k].partition("\0")
                out.append(indent + refs.marker(summary))
            if k not in dropped:
                out.append(line)
                refs.wrote(line)
        return Compressed(
            "\n".join(out),
            lossy=True,
            notes={"members_dropped": cutter.members_dropped, "runs_cut": len(cutter.cuts)},
        )
