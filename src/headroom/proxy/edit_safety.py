"""Edit safety: which tool results must reach the model whole.

Agents edit files with tools that need exact text (Claude Code's Edit, Codex's apply_patch), and
an agent that sees an elided file may re-read it to see the rest. So these results are never
compressed:

- a read with an explicit line range (`offset`/`limit`, `view_range`, `sed -n 'a,bp'`, `head`...)
  or a re-read of a file read earlier in the conversation, *when the file is one an agent edits*:
  source code, configuration, documents. Logs and data (`.log`, `.csv`, `.jsonl`, a JSON file
  that is not configuration, or content that is a log, JSON data or search output whatever
  its name) are compressed at first sight, ranged or not: agents page through big logs and
  data files with exactly these reads, and never edit them.
- a read of a file edited earlier in the conversation, or in the same assistant turn
- the result of an edit itself (often a snippet of the edited file)

Every rule looks only at the tool call and what precedes it, never at later turns, so the
decision for a result is the same on every later request (prompt caches stay valid). A first
read that the model then edits was compressed with markers: the elided parts are one
`headroom_retrieve` call away, and if the agent reads the file again that read passes whole.

The proxy hands the protected paths to the pipeline as `compress_request(..., protect=...)`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headroom.envelopes import open_envelope
from headroom.formats import FORMATS, ToolCall, ToolResult
from headroom.formats.base import Path, content_text
from headroom.formats.file_access import FileAccess, file_accesses
from headroom.routing.detect import detect
from headroom.segments import ContentKind

__all__ = ["Protected", "protected_results"]


@dataclass(frozen=True, slots=True)
class Protected:
    path: Path  # where the tool result's content sits in the request
    reason: str  # "ranged-read", "re-read", "edited-file", "edit-result"


class _Seen:
    """Paths seen so far, matched by suffix (`/repo/src/a.py` is `src/a.py`)."""

    def __init__(self) -> None:
        self._by_name: dict[str, list[str]] = {}

    def add(self, path: str) -> None:
        self._by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)

    def __contains__(self, path: str) -> bool:
        for other in self._by_name.get(path.rsplit("/", 1)[-1], ()):
            if other == path or other.endswith("/" + path) or path.endswith("/" + other):
                return True
        return False


# Files agents read, page through and never edit.
_DATA_SUFFIXES = frozenset(
    {".log", ".out", ".err", ".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".har", ".trace", ".dump", ".psv"}
)
# JSON files that are configuration (edited like source): everything else `.json` is data.
_CONFIG_JSON = re.compile(
    r"^(?:package|composer|tsconfig.*|jsconfig|deno|biome|turbo|nx|lerna|angular|vercel|firebase|renovate|"
    r"project|app|manifest|launch|tasks|settings.*|extensions|appsettings.*|.*config.*|\..*rc)\.json$",
    re.IGNORECASE,
)
_DATA_KINDS = frozenset(
    {
        ContentKind.LOGS,
        ContentKind.SEARCH,
        ContentKind.DIAGNOSTICS,
        ContentKind.TEST_REPORT,
        ContentKind.JSON,
        ContentKind.JSON_PAGE,
        ContentKind.TABLE,
        ContentKind.PATHS,
    }
)


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def _is_data_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    if ".log." in name:  # rotated or packed logs: app.log.1, app.log.gz
        return True
    suffix = _suffix(name)
    if suffix == ".json":
        return not _CONFIG_JSON.match(name)
    return suffix in _DATA_SUFFIXES


# Files named as source, configuration or documents are edited, whatever their content looks
# like (a module full of tuples is not a CSV); `.txt` and unknown names are judged by content.
_EDITABLE_SUFFIXES = frozenset(
    """.py .pyi .js .jsx .mjs .cjs .ts .tsx .go .rs .java .kt .kts .scala .c .h .cc .cpp .cxx .hpp .hh .cs
    .rb .php .swift .m .mm .lua .pl .r .jl .ex .exs .erl .hs .ml .clj .dart .vue .svelte .sh .bash .zsh .fish
    .ps1 .sql .html .htm .css .scss .sass .less .xml .toml .yaml .yml .ini .cfg .conf .properties .gradle
    .json .md .rst .tex .proto .graphql .tf .nix .dockerfile .mk""".split()
)


def _is_data(paths: tuple[str, ...], text: str) -> bool:
    """A log or data file, by name or by content: never edited, so compressed ranged or not."""
    if paths and all(_is_data_path(p) for p in paths):
        return True
    if any(_suffix(p) in _EDITABLE_SUFFIXES for p in paths):  # source, configuration, docs by name
        return False
    kind = detect(open_envelope(text).body).kind
    return kind in _DATA_KINDS


def _text_at(request: Mapping[str, Any], path: Path) -> str:
    node: Any = request
    try:
        for key in path:
            node = node[key]
    except (KeyError, IndexError, TypeError):
        return ""
    return content_text(node)


def _reason(accesses: tuple[FileAccess, ...], read: _Seen, edited: _Seen, turn_edits: _Seen) -> str | None:
    if any(a.kind == "edit" for a in accesses):
        return "edit-result"
    # An edited file is one the agent edits, whatever its kind: that reason comes first.
    if any(path in edited or path in turn_edits for access in accesses for path in access.paths):
        return "edited-file"
    if any(access.ranged for access in accesses):
        return "ranged-read"
    if any(path in read for access in accesses for path in access.paths):
        return "re-read"
    return None


def protected_results(request: Mapping[str, Any], format_name: str) -> list[Protected]:
    """The tool results in `request` (of the wire format named `format_name`) that must pass
    through whole."""
    wire_format = FORMATS.get(format_name)
    if wire_format is None:
        return []
    events = list(wire_format.tool_events(request))
    calls = [e for e in events if isinstance(e, ToolCall)]
    found = {call.call_id: file_accesses(call.name, call.arguments) for call in calls}
    edits_by_turn: dict[int, _Seen] = {}
    for call in calls:
        for access in found[call.call_id]:
            if access.kind == "edit":
                for path in access.paths:
                    edits_by_turn.setdefault(call.turn, _Seen()).add(path)
    # Judge each call against the calls before it (and the edits of its own turn), then
    # record what it read or edited for the calls after it.
    read, edited, empty = _Seen(), _Seen(), _Seen()
    reasons: dict[str, str] = {}
    for call in calls:
        accesses = found[call.call_id]
        if not accesses:
            continue
        reason = _reason(accesses, read, edited, edits_by_turn.get(call.turn, empty))
        if reason and call.call_id not in reasons:
            reasons[call.call_id] = reason
        for access in accesses:
            for path in access.paths:
                (edited if access.kind == "edit" else read).add(path)
    protected: list[Protected] = []
    for event in events:
        if not isinstance(event, ToolResult) or event.call_id not in reasons:
            continue
        reason = reasons[event.call_id]
        if reason in _EDITABLE_ONLY:
            paths = tuple(p for access in found[event.call_id] for p in access.paths)
            if _is_data(paths, _text_at(request, event.path)):
                continue
        protected.append(Protected(event.path, reason))
    return protected


# Reasons that protect a read only when the file is one agents edit (not a log or data file).
_EDITABLE_ONLY = frozenset({"ranged-read", "re-read"})
