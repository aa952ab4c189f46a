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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from headroom.adapters.base import Path, content_text
from headroom.adapters.openai_responses import _CALLS as _RESPONSES_CALLS  # the adapter's own sets
from headroom.adapters.openai_responses import _OUTPUTS as _RESPONSES_OUTPUTS
from headroom.envelopes import open_envelope
from headroom.proxy._file_access import FileAccess, file_accesses
from headroom.routing.detect import detect
from headroom.segments import ContentKind

__all__ = ["Protected", "protected_results"]


@dataclass(frozen=True, slots=True)
class Protected:
    path: Path  # where the tool result's content sits in the request
    reason: str  # "ranged-read", "re-read", "edited-file", "edit-result"


@dataclass(frozen=True, slots=True)
class _Call:
    call_id: str
    name: str
    arguments: Any
    turn: int


@dataclass(frozen=True, slots=True)
class _Result:
    call_id: str
    path: Path


_Event = _Call | _Result


def _list(value: Any) -> list[Any]:
    """A list field of the request, or nothing: odd shapes fail open per unit, not per request."""
    return value if isinstance(value, list) else []


def _name(value: Any) -> str:
    """A tool name as the adapters read it: a name that is not a string names no tool."""
    return value if isinstance(value, str) else ""


def _anthropic(request: Mapping[str, Any]) -> Iterator[_Event]:
    for i, message in enumerate(_list(request.get("messages"))):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                yield _Call(str(block.get("id")), _name(block.get("name")), block.get("input"), i)
            elif block.get("type") == "tool_result":
                yield _Result(str(block.get("tool_use_id")), ("messages", i, "content", j, "content"))


def _openai_chat(request: Mapping[str, Any]) -> Iterator[_Event]:
    for i, message in enumerate(_list(request.get("messages"))):
        if not isinstance(message, dict):
            continue
        for call in _list(message.get("tool_calls")):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                yield _Call(str(call.get("id")), _name(function.get("name")), function.get("arguments"), i)
        if message.get("role") == "tool":
            yield _Result(str(message.get("tool_call_id")), ("messages", i, "content"))


def _responses(request: Mapping[str, Any]) -> Iterator[_Event]:
    items = request.get("input")
    turn = -1
    in_calls = False
    for i, item in enumerate(items if isinstance(items, list) else ()):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if not isinstance(kind, str):
            in_calls = False
            continue
        if kind in _RESPONSES_CALLS:
            if not in_calls:  # consecutive calls came from one model turn
                turn, in_calls = i, True
            if kind == "local_shell_call":
                action = item.get("action")
                command = action.get("command") if isinstance(action, dict) else None
                yield _Call(str(item.get("call_id")), "local_shell", {"command": command}, turn)
            else:
                arguments = item.get("arguments", item.get("input"))
                yield _Call(str(item.get("call_id")), _name(item.get("name")), arguments, turn)
        elif kind in _RESPONSES_OUTPUTS:
            in_calls = False  # outputs follow the whole turn's calls
            yield _Result(str(item.get("call_id")), ("input", i, "output"))
        elif kind != "reasoning":
            in_calls = False


_WALKERS = {"anthropic": _anthropic, "openai": _openai_chat, "responses": _responses}


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


def protected_results(request: Mapping[str, Any], fmt: str) -> list[Protected]:
    """The tool results in `request` (of wire format `fmt`) that must pass through whole."""
    walker = _WALKERS.get(fmt)
    if walker is None:
        return []
    events = list(walker(request))
    calls = [e for e in events if isinstance(e, _Call)]
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
        if not isinstance(event, _Result) or event.call_id not in reasons:
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
