"""Focused slices of an original: a line range, or the JSON rows / text lines matching a query.

JSON rows are cut out of the original text by their exact spans (found with the stdlib decoder's
`raw_decode`), so a returned row is byte-for-byte what the tool produced — numbers, key order and
escapes included — and the joined result is still valid JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonRows", "Selection", "find_json_rows", "parse_line_range", "query_terms", "select_lines", "select_rows"]

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_LINES = re.compile(r"^\s*(\d*)\s*(?:(-|:|\.\.|–)\s*(\d*))?\s*$")
_TERM_SPLIT = re.compile(r"[\s,;|]+")


@dataclass(frozen=True, slots=True)
class Selection:
    text: str
    matched: int  # rows or lines that matched
    total: int  # rows or lines searched
    mode: str  # "all" (every term), "any" (at least one term) or "none"


@dataclass(frozen=True, slots=True)
class JsonRows:
    """The array to filter: its rows as (parsed value, exact source text), plus the enclosing
    object's other members (name, source text) when the array sits under a key."""

    rows: list[tuple[Any, str]]
    key: str | None = None
    members: list[tuple[str, str]] | None = None


def query_terms(query: str) -> list[str]:
    terms = (t.strip("\"'`").lower() for t in _TERM_SPLIT.split(query))
    return list(dict.fromkeys(t for t in terms if t))


def parse_line_range(spec: str, total: int) -> tuple[int, int] | None:
    """``"120-164"``, ``"120"``, ``"120-"``, ``"-40"``, ``"120:164"`` -> 1-based inclusive bounds."""
    match = _LINES.match(spec)
    if match is None or not (match.group(1) or match.group(3)):
        return None
    first = int(match.group(1) or 1)
    last = int(match.group(3) or total) if match.group(2) else first
    return (first, last) if first <= last else (last, first)


# -- JSON ----------------------------------------------------------------------------------------


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]  # the pattern always matches


def _array_rows(text: str, pos: int) -> tuple[list[tuple[Any, str]], int]:
    """Rows of the array whose '[' is at `pos`, and the position after its ']'."""
    rows: list[tuple[Any, str]] = []
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return rows, pos + 1
    while True:
        value, end = _DECODER.raw_decode(text, pos)
        rows.append((value, text[pos:end]))
        pos = _skip(text, end)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("]", pos):
            return rows, pos + 1
        else:
            raise ValueError("malformed array")


def find_json_rows(text: str) -> JsonRows | None:
    """The rows to filter: a top-level array, or the largest array member of a top-level object
    (API envelopes such as ``{"total_count": 3, "items": [...]}``). None if `text` is not such JSON."""
    pos = _skip(text, 0)
    try:
        if text.startswith("[", pos):
            rows, end = _array_rows(text, pos)
            return JsonRows(rows) if _skip(text, end) == len(text) else None
        if not text.startswith("{", pos):
            return None
        members: list[tuple[str, str]] = []
        arrays: dict[str, list[tuple[Any, str]]] = {}
        pos = _skip(text, pos + 1)
        while not text.startswith("}", pos):
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _skip(text, pos)
            if not isinstance(key, str) or not text.startswith(":", pos):
                return None
            pos = _skip(text, pos + 1)
            start = pos
            if text.startswith("[", pos):
                arrays[key], pos = _array_rows(text, pos)
            else:
                pos = _DECODER.raw_decode(text, pos)[1]
            members.append((key, text[start:pos]))
            pos = _skip(text, pos)
            if text.startswith(",", pos):
                pos = _skip(text, pos + 1)
            elif not text.startswith("}", pos):
                return None
        if _skip(text, pos + 1) != len(text) or not arrays:
            return None
    except (ValueError, RecursionError):
        return None
    key = max(arrays, key=lambda name: len(arrays[name]))
    return JsonRows(arrays[key], key, members) if arrays[key] else None


def _haystack(value: Any, key: str = "") -> Iterable[str]:
    """Searchable pieces of a row: ``key=value`` for every leaf, so a term can name a field value
    (``failed``), a field (``status``) or both (``status=failed``)."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _haystack(item, str(name))
    elif isinstance(value, list):
        for item in value:
            yield from _haystack(item, key)
    else:
        leaf = value if isinstance(value, str) else json.dumps(value)
        yield f"{key}={leaf}" if key else leaf


def _choose(candidates: list[str], terms: list[str]) -> tuple[list[int], str]:
    """Indices of candidates holding every term; failing that, any term."""
    every = [i for i, hay in enumerate(candidates) if all(t in hay for t in terms)]
    if every:
        return every, "all"
    some = [i for i, hay in enumerate(candidates) if any(t in hay for t in terms)]
    return some, ("any" if some else "none")


def _render_array(rows: list[str], indent: str = "") -> str:
    if not rows:
        return "[]"
    inner = f",\n{indent}  ".join(rows)
    return f"[\n{indent}  {inner}\n{indent}]"


def select_rows(found: JsonRows, terms: list[str]) -> Selection:
    """The matching rows, rendered as valid JSON (inside their envelope, if any)."""
    haystacks = ["\n".join(_haystack(value)).lower() for value, _ in found.rows]
    chosen, mode = _choose(haystacks, terms)
    rows = [found.rows[i][1] for i in chosen]
    if found.key is None or found.members is None:
        text = _render_array(rows)
    else:
        parts = [
            f"  {json.dumps(name)}: {_render_array(rows, '  ') if name == found.key else source}"
            for name, source in found.members
        ]
        text = "{\n" + ",\n".join(parts) + "\n}"
    return Selection(text, len(chosen), len(found.rows), mode)


# -- text ----------------------------------------------------------------------------------------


def select_lines(lines: list[str], first_number: int, terms: list[str], context: int = 1) -> Selection:
    """Matching lines grep-style: ``N:line`` for a match, ``N-line`` for context, ``--`` between groups."""
    chosen, mode = _choose([line.lower() for line in lines], terms)
    matched = set(chosen)
    shown = sorted({j for i in chosen for j in range(max(0, i - context), min(len(lines), i + context + 1))})
    out: list[str] = []
    previous = None
    for j in shown:
        if previous is not None and j != previous + 1:
            out.append("--")
        out.append(f"{first_number + j}{':' if j in matched else '-'}{lines[j]}")
        previous = j
    return Selection("\n".join(out), len(chosen), len(lines), mode)
