"""Parsers for code-search output: every format becomes one flat list of `Hit`s.

Supported inputs: grep/ripgrep text (`path:12:text` match lines, `path-12-text` context
lines, `--` group separators, ripgrep's `--heading` layout and single-file `12:text`),
ripgrep `--json` event lines, and JSON arrays of hit objects (`{path, line, text, context,
score}`-like). Lines that are none of these (a "[showing 100 of 162]" trailer, "Binary file
x matches") become `OTHER` hits so they are kept verbatim in place.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["CONTEXT", "MATCH", "OTHER", "Hit", "Parsed", "parse_search"]

MATCH, CONTEXT, OTHER = "match", "context", "other"

# `path:12:text` / `path-12-text`; the separator must repeat, as grep prints it. Non-greedy
# paths take the first separator pair; `_split_line` arbitrates between the two shapes.
_MATCH_LINE = re.compile(r"(?P<path>[^\s].*?):(?P<line>\d+):(?P<text>.*)\Z", re.S)
_CONTEXT_LINE = re.compile(r"(?P<path>[^\s].*?)-(?P<line>\d+)-(?P<text>.*)\Z", re.S)
_BARE_LINE = re.compile(r"(?P<line>\d+)(?P<sep>[:-])(?P<text>.*)\Z", re.S)  # --heading / one file
# A lone path line (ripgrep's --heading): no spaces, no colon. One character class: the path
# spelled as parts (`[^\s:]+(?:[/\\][^\s:]+)*\.?[\w-]*`) matched the same lines, but tried every
# split of a long run (a 20k-character line of `_`) before failing on its end: seconds a line.
_HEADING = re.compile(r"[^\s:]+\Z")
_MAX_PATH = 300
# Characters that occur in code but (practically) never in the paths a search prints.
_BAD_PATH = re.compile(r"[\t\"'=(){}<>;]|: |\s\s")

PATH_KEYS = ("path", "file", "filename", "file_path", "filepath", "uri")
LINE_KEYS = ("line", "line_number", "lineno", "line_no", "start_line")
TEXT_KEYS = ("text", "line_text", "content", "match", "snippet", "preview")
CONTEXT_KEYS = ("context", "lines", "context_lines")
# Ranking metadata: the order of the hits already carries it, so it is not rendered.
SCORE_KEYS = frozenset({"score", "_score", "rank", "relevance", "similarity"})
WRAPPER_KEYS = ("results", "matches", "hits", "items")


@dataclass(slots=True)
class Hit:
    kind: str  # MATCH, CONTEXT or OTHER
    path: str
    line: int | None
    text: str
    order: int  # position in the input; output keeps it unless the input was ranked JSON
    sep: str = ":"  # ':' for matches, '-' for context, as grep prints them
    extra: str = ""  # other short fields of a JSON hit, rendered after the text
    fields: tuple[tuple[str, Any], ...] = ()  # a JSON hit's own fields worth keeping, as in the input


@dataclass(slots=True)
class Parsed:
    hits: list[Hit]
    style: str  # "grep" (path:N:text), "heading" (path line, then N:text) or "json"
    dropped_fields: int = 0  # JSON fields (score, unnumbered context) not rendered


def parse_search(text: str) -> Parsed | None:
    """Hits of a search output, or None when the text is not one we understand."""
    stripped = text.lstrip()
    if stripped[:1] == "[" or (stripped[:1] == "{" and not stripped.startswith('{"type":')):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = None
        if value is not None:
            return _parse_json_hits(value)
    if stripped.startswith('{"type":'):
        return _parse_rg_json(text)
    return _parse_grep(text)


def _split_line(line: str, current: str | None) -> tuple[str, str, int, str] | None:
    """(path, sep, line_no, text) of a grep line, or None."""
    if current and line.startswith(current) and len(line) > len(current) + 2:
        rest = line[len(current) :]
        sep = rest[0]
        if sep in ":-":
            number, sep2, tail = rest[1:].partition(sep)
            if sep2 and number.isdigit():
                return current, sep, int(number), tail
    found: list[tuple[int, str, str, int, str]] = []
    for regex, sep in ((_MATCH_LINE, ":"), (_CONTEXT_LINE, "-")):
        m = regex.match(line)
        if m and len(m["path"]) <= _MAX_PATH and not _BAD_PATH.search(m["path"]):
            found.append((len(m["path"]), m["path"], sep, int(m["line"]), m["text"]))
    if not found:
        return None
    # The shorter path wins: in `a.py-12-x = d[1:2:3]` the match shape would swallow code.
    _, path, separator, line_number, text = min(found)
    return path, separator, line_number, text


def _parse_grep(text: str) -> Parsed | None:
    hits: list[Hit] = []
    lines = text.split("\n")
    heading: str | None = None  # current file of the --heading layout
    current: str | None = None
    style = "grep"
    for order, line in enumerate(lines):
        if line == "--":
            continue
        if not line:  # blank lines end a --heading file block
            heading = None
            continue
        bare = _BARE_LINE.match(line)
        if bare and heading is not None:
            style = "heading"
            sep = bare["sep"]
            hits.append(Hit(MATCH if sep == ":" else CONTEXT, heading, int(bare["line"]), bare["text"], order, sep))
            continue
        split = _split_line(line, current)
        if split is not None:
            current, sep, number, tail = split
            hits.append(Hit(MATCH if sep == ":" else CONTEXT, current, number, tail, order, sep))
            continue
        if bare:  # grep -n on a single file: no path at all
            sep = bare["sep"]
            hits.append(Hit(MATCH if sep == ":" else CONTEXT, "", int(bare["line"]), bare["text"], order, sep))
            continue
        nxt = lines[order + 1] if order + 1 < len(lines) else ""
        if _HEADING.match(line) and _BARE_LINE.match(nxt):
            heading = line
            continue
        hits.append(Hit(OTHER, "", None, line, order))
    if not any(h.kind == MATCH for h in hits):
        return None
    return Parsed(hits, style)


def _rg_text(value: Any) -> str:
    """ripgrep's {"text": ...} or {"bytes": base64} wrapper."""
    if isinstance(value, dict):
        text = value.get("text")
        if isinstance(text, str):
            return text
        if isinstance(value.get("bytes"), str):
            try:
                return base64.b64decode(value["bytes"]).decode("utf-8", "replace")
            except ValueError:
                return ""
    return value if isinstance(value, str) else ""


def _parse_rg_json(text: str) -> Parsed | None:
    hits: list[Hit] = []
    for order, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            hits.append(Hit(OTHER, "", None, line, order))
            continue
        kind = event.get("type") if isinstance(event, dict) else None
        data = event.get("data") if isinstance(event, dict) else None
        if kind in ("match", "context") and isinstance(data, dict):
            number = data.get("line_number")
            body = _rg_text(data.get("lines")).rstrip("\r\n")
            path = _rg_text(data.get("path"))
            number = number if isinstance(number, int) else None
            sep = ":" if kind == "match" else "-"
            hits.append(Hit(MATCH if kind == "match" else CONTEXT, path, number, body, order, sep))
        elif kind == "summary" and isinstance(data, dict):
            raw_stats = data.get("stats")
            stats: dict[str, Any] = raw_stats if isinstance(raw_stats, dict) else {}
            parts = [f"{k}={stats[k]}" for k in ("matches", "matched_lines", "searches_with_match")]
            hits.append(Hit(OTHER, "", None, "[rg summary: " + ", ".join(parts) + "]", order))
        elif kind not in ("begin", "end"):
            hits.append(Hit(OTHER, "", None, line, order))
    if not any(h.kind == MATCH for h in hits):
        return None
    return Parsed(hits, "grep")


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in obj:
            return key, obj[key]
    return None, None


def _context_lines(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return value.split("\n")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.rstrip("\n") for v in value]
    if isinstance(value, dict):  # {"before": [...], "after": [...]}: the hit sits between
        before, after = value.get("before"), value.get("after")
        if isinstance(before, list) and isinstance(after, list):
            return [*map(str, before), "\x00HIT", *map(str, after)]
    return None


def _parse_json_hits(value: Any) -> Parsed | None:
    header: list[str] = []
    header_fields: list[tuple[str, Any]] = []
    if isinstance(value, dict):  # {"query": ..., "results": [hits], "total": 162}
        key, inner = _first(value, WRAPPER_KEYS)
        if key is None or not isinstance(inner, list):
            return None
        header_fields = [(k, v) for k, v in value.items() if k != key and isinstance(v, (str, int, float))]
        header = [f"{k}: {v}" for k, v in header_fields]
        value = inner
    if not isinstance(value, list) or not value:
        return None
    hits = [
        Hit(OTHER, "", None, line, -len(header) + i, fields=(field,))
        for i, (line, field) in enumerate(zip(header, header_fields, strict=True))
    ]
    dropped = 0
    for order, obj in enumerate(value):
        if not isinstance(obj, dict):
            return None
        path_key, path = _first(obj, PATH_KEYS)
        path = _rg_text(path)
        line_key, number = _first(obj, LINE_KEYS)
        if isinstance(number, str) and number.isdigit():
            number = int(number)
        if not path:
            return None
        if not isinstance(number, int) or isinstance(number, bool):
            number = None  # a hit without a line number is still a hit: `path:text`
        text_key, body = _first(obj, TEXT_KEYS)
        body = _rg_text(body).rstrip("\n")
        ctx_key, ctx = _first(obj, CONTEXT_KEYS)
        used = {path_key, line_key, text_key, ctx_key}
        extras = []
        fields = []
        for k, v in obj.items():
            if k == ctx_key or (k not in used and k in SCORE_KEYS):
                continue
            if k in used:
                fields.append((k, v))
            elif not isinstance(v, (str, int, float, bool)) or len(str(v)) > 80:
                dropped += 1
            else:
                extras.append(f"{k}={v}")
                fields.append((k, v))
        extra = "  (" + ", ".join(extras) + ")" if extras else ""
        hits.append(Hit(MATCH, path, number, body, order, ":", extra, tuple(fields)))
        if number is None:
            dropped += ctx_key is not None
        else:
            dropped += _add_context(hits, _context_lines(ctx), path, number, body, order)
    if all(h.line is None for h in hits):
        return None
    return Parsed(hits, "json", dropped)


def _add_context(hits: list[Hit], ctx: list[str] | None, path: str, number: int, body: str, order: int) -> int:
    """Number a hit's context lines by locating the hit inside them; unlocatable context is dropped."""
    if not ctx:
        return 0
    target = body.strip()
    centre = len(ctx) / 2
    candidates = [i for i, c in enumerate(ctx) if c == "\x00HIT" or (target and c.strip() == target)]
    if not candidates:
        return 1
    at = min(candidates, key=lambda i: (abs(i - centre), i))
    for i, c in enumerate(ctx):
        if i != at and c != "\x00HIT" and number - at + i > 0:
            hits.append(Hit(CONTEXT, path, number - at + i, c, order, "-"))
    return 0
