"""XML documents (a generated data file, a catalogue, a schema, a report): long runs of alike
sibling elements cut to their edges, with an index of what was cut.

XML data is mostly records: siblings of one tag (a code list's `<iso_3166_subdivision code=
name=>`, a MIME database's `<mime-type type=>`, each type's `<comment xml:lang=>` in 50
languages, a keyboard database's `<layout>`, a JUnit report's `<testcase>`). A run of at least
12 of them (`_record_runs`) keeps its first members, its last, those unlike most (a test case with a
<failure> among passed ones) and those the task names; each stretch cut becomes one marker that
says how many members of which tag went and the identity of each (an attribute or a leading
child's text that tells the members apart, learned from the values: `code: AD-03, AD-04, …`),
so the document still reads as an index of everything in it. Members kept are read the same
way, so a kept `<mime-type>` keeps its English comment and loses its 49 translations. Members on
lines of their own go as whole lines, the marker a line naming them; in a one-line document
(pytest's `--junitxml`, an API's response) the marker stands inside the line. A numbered Read
loses whole lines only, each kept one under its number. The rest (the root, the members'
structure, text between runs) stays as it was.

The structure comes from the standard library's expat parser (byte offsets of every element;
no DTD or external entity is ever fetched). A document cut short (a Read with a `limit`, a
`head`) parses up to the cut: elements closed before it are read as above, the rest stays; a
page from its middle (a Read with an `offset`) is read too. Text that expat cannot read at all,
and documents with no long run, pass whole.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar
from xml.parsers import expat

from headroom.compressors._record_runs import Record, RecordsCompressor
from headroom.compressors.base import register
from headroom.segments import ContentKind

__all__ = ["XmlCompressor", "looks_like_xml"]


_DECLARATION = re.compile(r"<\?xml[\s?]")
# A whole document: its declaration, doctype, a comment or its root opens it (after a BOM or blank lines).
_PROLOG = re.compile(r"\ufeff?\s*<(?:\?xml[\s?]|!DOCTYPE|!--)")
# What a scan for tags skips: comments, CDATA, processing instructions, a doctype's declarations.
_SKIPPED = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL)
_TAG = re.compile(r"<(/)?([A-Za-z_][\w:.-]*)(?:\s[^<>]*?)?(/)?>")
_TAG_LINE = re.compile(r"[ \t]*<[A-Za-z_!?/]")
_TAG_REST = re.compile(rb"<(?:[^\"'>]|\"[^\"]*\"|'[^']*')*>")  # a tag, quoted values whole
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
    start: int  # byte offset of its start tag in the document
    end: int = -1  # byte offset just past its end tag; -1 while open (a document cut short)
    children: list[_Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # its own character data
    opened_before: bool = False  # its start tag came before the page (`_parse`)

    @property
    def signature(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Its attribute names and its children's tags: a test case with a <failure> differs."""
        return tuple(sorted(self.attributes)), tuple(sorted({child.tag for child in self.children}))


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


def _tag_end(data: bytes, position: int) -> int:
    """Just past the `>` closing the tag that starts at `position` (a `>` inside a quoted
    attribute value is the value's)."""
    found = _TAG_REST.match(data, position)
    return found.end() if found else len(data)


def _parse(data: bytes, page: bool) -> list[_Element]:
    """The top elements of `data` (a UTF-8 document) as far as expat reads it (elements still
    open where it stopped keep `end` -1). A `page` from the middle of a document is read inside
    a root of its own and the start tags of the elements it ends in, put before it (offsets stay
    the page's); those elements close on the page, never in a run."""
    prefix = b""
    if page:
        dangling = _dangling_closers(data.decode("utf-8"))
        prefix = ("<_>" + "".join(f"<{name}>" for name in reversed(dangling))).encode()
    shift = len(prefix)
    parser = expat.ParserCreate(encoding="UTF-8")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    roots: list[_Element] = []
    stack: list[_Element] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        element = _Element(tag, attributes, parser.CurrentByteIndex - shift)
        element.opened_before = element.start < 0
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        element = stack.pop()
        if element.start < 0:
            element.end = 0
            return
        # Expat reports an end tag where it starts, and an empty element's end just past it.
        start_tag_end = _tag_end(data, element.start)
        empty = data[start_tag_end - 2 : start_tag_end] == b"/>"
        element.end = start_tag_end if empty else _tag_end(data, parser.CurrentByteIndex - shift)

    def text(chunk: str) -> None:
        if stack and not stack[-1].children:
            stack[-1].text.append(chunk)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    with contextlib.suppress(expat.ExpatError):  # cut short, or not XML past some point: what was read stands
        parser.Parse(prefix + data, True)
    return roots


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


def _record(element: _Element) -> Record:
    return Record(
        key=element.tag,
        label=f"<{element.tag}> elements",
        start=element.start,
        end=element.end,
        signature=element.signature,
        identity=list(_identity(element)),
        groups=[[_record(child) for child in element.children]],
        whole=element.end >= 0 and not element.opened_before,
    )


@register(sniffer=looks_like_xml, sniff_rank=8)
class XmlCompressor(RecordsCompressor):
    name: ClassVar[str] = "xml"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.XML})

    def records(self, data: bytes, text: str) -> list[Record]:
        return [_record(element) for element in _parse(data, page=not _PROLOG.match(text))]
