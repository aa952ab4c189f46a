"""A page of a pretty-printed JSON file: the complete records in it, crushed as JSON.

A JSON file too big to read at once is read in pages (Claude Code's Read with `offset`/`limit`,
`sed -n`, `head`): each page is a run of lines that starts and ends mid-document, so it does not
parse and used to be taken for prose. The page is read as a tree by its lines' brackets and
indentation: a line opening a container whose closing line is also in the page makes a complete
value; a closing line whose opening line came before the page, and an opening line whose
closing line comes after it, are the page's frame (the containers it starts and ends inside).
Between two frame lines lies a run of complete siblings at one indentation: elements of an array
or members of an object. A run of similar records (`{` ... `},` in `"components": [...]`, or
`"node_modules/x": {...}` in a lockfile's `"packages": {...}`), at any depth, is parsed as one
array or object and goes to the JSON compressor (which makes an object of records keyed by name
a table too); a run that is not recurses into its complete containers. The frame and the
partial records at the page's edges stay verbatim, so every line the agent saw outside a
compacted run is still there with its number; each compacted run's marker gives its line range.
A page with no such run, or whose lines do not nest, goes to the prose compressor as before.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from headroom.ccr.markers import marker
from headroom.compressors.base import Compressed, Compressor, Registry, default_registry, register
from headroom.compressors.json_data import JsonCompressor, similar_records
from headroom.segments import ContentKind, Segment

__all__ = ["JsonPageCompressor", "looks_like_json_page"]

# One line of pretty-printed JSON: `"key": value`, a bare value in an array, or punctuation.
_JSON_LINE = re.compile(
    r'^\s*(?:"(?:[^"\\]|\\.)*"\s*:\s*.*|"(?:[^"\\]|\\.)*",?|[\[\]{}],?|[\]}]+,?|-?\d[\d.eE+-]*,?|true,?|false,?|null,?)$'
)
# A line opening a container: `{`, `[`, `"key": {`, `"key": [`.
_OPENER = re.compile(r'^(?:"(?:[^"\\]|\\.)*"\s*:\s*)?[\[{]$')
_CLOSER = re.compile(r"^[\]}],?$")
_MEMBER = re.compile(r'^"(?:[^"\\]|\\.)*"\s*:')
_MIN_LINES = 20
_MAX_PREAMBLE_LINES = 60  # stderr lines before a JSON document's opening line
_MIN_RECORDS = 2
_MODEL_RUNS = 2  # runs of a page whose text fields the prose model weighs; the others by keywords


def looks_like_json_page(head: str) -> bool:
    lines = [line for line in head.split("\n") if line.strip()]
    if len(lines) < _MIN_LINES:
        return False
    if any(line.lstrip().startswith(("```", "~~~")) for line in lines):
        return False  # JSON inside a markdown document: the mixed compressor's
    # What a command wrote to stderr before its JSON (`npm ls --json 2>&1`: a score of
    # `npm error ...` lines) is not part of the page: it is weighed from the document's opening.
    start = next((k for k, line in enumerate(lines[:_MAX_PREAMBLE_LINES]) if line.rstrip() in ("{", "[")), 0)
    whole = lines[start:-1]  # the last may be cut where the sniffed head ends
    matching = sum(1 for line in whole if _JSON_LINE.match(line))
    return (
        len(whole) >= _MIN_LINES
        and matching >= 0.95 * len(whole)
        and any(line.strip() in ("{", "},", "}") for line in lines)
    )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


@dataclass(frozen=True, slots=True)
class _Run:
    """Lines first..last (inclusive) of the page: complete siblings, compacted as one value."""

    first: int
    last: int
    value: list[Any] | dict[str, Any]
    text: str  # the run's lines as one JSON document, as laid out on the page
    records: int


class _Page:
    """The page's lines as a tree: which opening line each closing line matches."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.closes: dict[int, int] = {}  # opening line -> its closing line
        self.frame: list[int] = []  # lines of containers the page starts or ends inside
        self.nested = self._match()

    def _match(self) -> bool:
        open_lines: list[int] = []
        for i, line in enumerate(self.lines):
            stripped = line.strip()
            if not stripped:
                self.frame.append(i)  # not part of any run
            elif _OPENER.match(stripped):
                open_lines.append(i)
            elif _CLOSER.match(stripped):
                if not open_lines:
                    self.frame.append(i)  # closes a container opened before the page
                elif _indent(self.lines[open_lines[-1]]) == _indent(line):
                    self.closes[open_lines.pop()] = i
                else:
                    return False  # not pretty-printed JSON: indentation and brackets disagree
        self.frame.extend(open_lines)  # opened here, closed after the page
        self.frame.sort()
        return True

    def runs(self) -> list[_Run]:
        """The runs of similar records to compact, in page order."""
        found: list[_Run] = []
        bounds = [-1, *self.frame, len(self.lines)]
        for before, after in itertools.pairwise(bounds):
            if after - before > 1:
                edge = before == -1 or after == len(self.lines)
                self._visit(before + 1, after - 1, edge, found)
        return found

    def _visit(self, first: int, last: int, edge: bool, found: list[_Run]) -> None:
        """Compact lines first..last, siblings, if they are a run of records; else look inside
        their complete containers. A run touching the page's edge may be the fields of a partial
        record there: it is compacted only if every sibling in it is a record."""
        items: list[tuple[int, int]] = []
        i = first
        while i <= last:
            end = self.closes.get(i, i)
            items.append((i, end))
            i = end + 1
        if len({_indent(self.lines[a]) for a, _ in items}) != 1 or items[-1][1] != last:
            return  # siblings share one indentation; anything else is not a run
        records = sum(1 for a, b in items if b > a and self.lines[a].rstrip().endswith("{"))
        if records >= _MIN_RECORDS and 2 * records >= len(items) and (not edge or records == len(items)):
            parsed = self._parse(first, last)
            if parsed is not None and _similar(parsed[0]):
                found.append(_Run(first, last, *parsed, records))
                return
        for a, b in items:
            if b - a > 1:
                self._visit(a + 1, b - 1, False, found)

    def _parse(self, first: int, last: int) -> tuple[list[Any] | dict[str, Any], str] | None:
        body = self.lines[first : last + 1]
        body[-1] = body[-1].rstrip().removesuffix(",")
        members = _MEMBER.match(self.lines[first].strip()) is not None
        text = "{\n" + "\n".join(body) + "\n}" if members else "[\n" + "\n".join(body) + "\n]"
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        if members:
            count = sum(1 for line in body if _indent(line) == _indent(body[0]) and _MEMBER.match(line.strip()))
            if not isinstance(value, dict) or len(value) != count:
                return None  # a repeated key: parsing would lose a member
        return (value, text) if isinstance(value, (list, dict)) else None


def _similar(value: list[Any] | dict[str, Any]) -> bool:
    """Records of one kind among the run's values (not a partial record's unrelated fields)."""
    records = [v for v in (value.values() if isinstance(value, dict) else value) if isinstance(v, dict) and v]
    return len(records) >= _MIN_RECORDS and similar_records(records)


@register(sniffer=looks_like_json_page, sniff_rank=40)
class JsonPageCompressor:
    name: ClassVar[str] = "json_page"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.JSON_PAGE})
    priority: ClassVar[int] = 10

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry  # whose JSON and prose compressors take the page's parts

    def compress(self, segment: Segment) -> Compressed:
        registry = self._registry or default_registry()
        lines = segment.text.split("\n")
        page = _Page(lines)
        json_compressor = registry.for_kind(ContentKind.JSON)
        if page.nested and json_compressor is not None:
            compacted = self._compact(segment, lines, page.runs(), json_compressor)
            if compacted is not None:
                return compacted
        prose = registry.for_kind(ContentKind.PROSE)
        if prose is None:
            return Compressed(segment.text)
        text, context = segment.text, segment.context
        return prose.compress(
            Segment(text, context, ContentKind.PROSE, parent_ref=segment.parent_ref, first_line=segment.first_line)
        )

    @staticmethod
    def _compact(segment: Segment, lines: list[str], runs: list[_Run], crusher: Compressor) -> Compressed | None:
        """Each run replaced by its marker and its crushed JSON; None when no run could be."""
        out: list[str] = []
        minified: list[str] = []  # the lossless form: each run minified instead
        notes: dict[str, int] = {}
        done = 0
        # The first runs' text fields are weighed by the prose model, the rest by keywords: a
        # page of many small runs must not pay a pass of the model for each.
        lexical = crusher.without_model() if isinstance(crusher, JsonCompressor) else crusher
        for index, run in enumerate(runs):
            part = Segment(run.text, segment.context, ContentKind.JSON, parent_ref=segment.ref)
            try:
                crushed = (crusher if index < _MODEL_RUNS else lexical).compress(part)
            except ValueError:
                continue  # a value the JSON compressor cannot carry faithfully: left as it was
            where = f"lines {segment.first_line + run.first}-{segment.first_line + run.last}"
            shape = "members of an object" if isinstance(run.value, dict) else "elements of an array"
            note = marker(f"{where}: {run.records} records ({shape}), compacted below", segment.ref)
            out += [*lines[done : run.first], note, crushed.text]
            minified += [*lines[done : run.first], orjson.dumps(run.value).decode()]
            done = run.last + 1
            for key, count in crushed.notes.items():
                if isinstance(count, int):
                    notes[key] = notes.get(key, 0) + count
            notes["records"] = notes.get("records", 0) + run.records
        if not done:
            return None
        out += lines[done:]
        minified += lines[done:]
        lossless = "\n".join(minified)
        return Compressed("\n".join(out), lossy=True, notes=notes, lossless_text=lambda: lossless)
