"""A page of a pretty-printed JSON file: the complete records in it, crushed as JSON.

A JSON file too big to read at once is read in pages (Claude Code's Read with `offset`/`limit`,
`sed -n`, `head`): each page is a run of lines that starts and ends mid-document, so it does not
parse and used to be taken for prose. Most of a page is whole records, the elements of an array
(`{` ... `},` at one indentation). Those are parsed as one array and go to the JSON compressor
(SmartCrusher: constant and derived columns factored, long text fields shortened, rows selected);
the partial record before the first and after the last stay verbatim, so every line the agent
saw that is not inside a record is still there with its number. A page with no complete record,
or whose records do not parse, goes to the prose compressor as before.
"""

from __future__ import annotations

import re
from typing import ClassVar

import orjson

from headroom.ccr.markers import marker
from headroom.compressors.base import Compressed, Registry, default_registry, register
from headroom.segments import ContentKind, Segment

__all__ = ["JsonPageCompressor", "looks_like_json_page"]

# One line of pretty-printed JSON: `"key": value`, a bare value in an array, or punctuation.
_JSON_LINE = re.compile(
    r'^\s*(?:"(?:[^"\\]|\\.)*"\s*:\s*.*|"(?:[^"\\]|\\.)*",?|[\[\]{}],?|[\]}]+,?|-?\d[\d.eE+-]*,?|true,?|false,?|null,?)$'
)
_MIN_LINES = 20
_MIN_RECORDS = 2


def looks_like_json_page(head: str) -> bool:
    lines = [line for line in head.split("\n") if line.strip()]
    if len(lines) < _MIN_LINES:
        return False
    if any(line.lstrip().startswith(("```", "~~~")) for line in lines):
        return False  # JSON inside a markdown document: the mixed compressor's
    whole = lines[:-1]  # the last may be cut where the sniffed head ends
    matching = sum(1 for line in whole if _JSON_LINE.match(line))
    return matching >= 0.95 * len(whole) and any(line.strip() in ("{", "},", "}") for line in lines)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _records(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line index of each complete record at the shallowest indentation where
    bare `{` lines open array elements, in order, consecutive."""
    openers = [i for i, line in enumerate(lines) if line.strip() == "{"]
    if not openers:
        return []
    depth = min(_indent(lines[i]) for i in openers)
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or _indent(line) != depth:
            continue
        if stripped == "{":
            start = i
        elif stripped in ("}", "},") and start is not None:
            if spans and spans[-1][1] != start - 1:
                break  # not consecutive: records of another array; keep the first run
            spans.append((start, i))
            start = None
        else:
            if spans:
                break  # the array ended
            start = None
    return spans


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
        spans = _records(lines)
        json_compressor = registry.for_kind(ContentKind.JSON)
        if len(spans) >= _MIN_RECORDS and json_compressor is not None:
            first, last = spans[0][0], spans[-1][1]
            middle = lines[first : last + 1]
            middle[-1] = middle[-1].rstrip().removesuffix(",")
            array = "[\n" + "\n".join(middle) + "\n]"
            try:
                orjson.loads(array)
            except orjson.JSONDecodeError:
                pass
            else:
                part = Segment(array, segment.context, ContentKind.JSON, parent_ref=segment.ref)
                crushed = json_compressor.compress(part)
                where = f"lines {segment.first_line + first}-{segment.first_line + last}"
                note = marker(f"{where}: {len(spans)} records, compacted below", segment.ref)
                head, tail = lines[:first], lines[last + 1 :]
                text = "\n".join([*head, note, crushed.text, *tail])

                def lossless() -> str:  # the records minified, when the lossy form cannot be used
                    return "\n".join([*head, orjson.dumps(orjson.loads(array)).decode(), *tail])

                notes = {**crushed.notes, "records": len(spans)}
                return Compressed(text, lossy=True, notes=notes, lossless_text=lossless)
        prose = registry.for_kind(ContentKind.PROSE)
        if prose is None:
            return Compressed(segment.text)
        text, context = segment.text, segment.context
        return prose.compress(
            Segment(text, context, ContentKind.PROSE, parent_ref=segment.parent_ref, first_line=segment.first_line)
        )
