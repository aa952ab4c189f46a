"""Units of a request: what every wire format's `split` gives, and the generic write-back.

Only the wire format modules know OpenAI/Anthropic dict shapes. A unit is addressed by
its path inside the request (keys and list indices), so writing back is generic and touches
nothing but the replaced strings: every other byte of the request stays as the caller built it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from headroom.formats.file_access import shell_read_path
from headroom.segments import PATH_ARGUMENT_KEYS, SegmentContext

__all__ = [
    "Path",
    "RequestSplit",
    "Unit",
    "arguments_text",
    "content_text",
    "file_path_from_arguments",
    "read_path",
    "replace_paths",
    "tool_name",
]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Unit:
    """One compressible string inside a request."""

    path: Path
    text: str
    context: SegmentContext
    role: str  # "tool_result" or "document"


@dataclass(frozen=True, slots=True)
class RequestSplit:
    units: tuple[Unit, ...]
    # Every other piece of text the model reads (system, user turns, assistant text, tool-call
    # arguments): counted for the stats, never changed.
    fixed_texts: tuple[str, ...]
    notes: tuple[str, ...] = ()  # shapes the format did not recognize and left alone


def replace_paths(request: Mapping[str, Any], replacements: Mapping[Path, str]) -> dict[str, Any]:
    """A copy of `request` with the strings at `replacements`' paths swapped.

    Only the containers along each path are copied; untouched subtrees are shared with the
    input (the caller's request is never mutated).
    """
    result: dict[str, Any] = dict(request)
    copied: set[Path] = {()}
    for path, text in replacements.items():
        node: Any = result
        for depth, key in enumerate(path[:-1]):
            child_path = path[: depth + 1]
            child = node[key]
            if child_path not in copied:
                child = copy.copy(child)
                node[key] = child
                copied.add(child_path)
            node = child
        node[path[-1]] = text
    return result


def _part_type(part: dict[str, Any]) -> str | None:
    """A content part's `type`; one that is not a string (an object, a list) is no known type."""
    kind = part.get("type")
    return kind if isinstance(kind, str) else None


def content_text(content: Any, text_types: frozenset[str] | None = None) -> str:
    """The text of a message's content: a string, or the `text` of its typed parts (only parts
    whose `type` is in `text_types`, when given)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and isinstance(part.get("text"), str)
            and (text_types is None or _part_type(part) in text_types)
        )
    return ""


def arguments_text(arguments: Any) -> str:
    """Tool-call arguments as the text the model sees (a JSON string for dict inputs)."""
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    try:
        return orjson.dumps(arguments).decode()
    except TypeError:
        return str(arguments)


def tool_name(value: Any) -> str | None:
    """A tool call's name as text; a name that is not a string (an object, a number: a client
    bug or an attack) names no tool rather than breaking the request."""
    return value if isinstance(value, str) else None


def read_path(name: str | None, arguments: Any) -> str | None:
    """The file a tool call reads: a path argument (Read, open_file), else the one file a shell
    command prints (Codex's `cat deploy.sh`, `sed -n 1,80p x.py`)."""
    return file_path_from_arguments(arguments) or shell_read_path(name, arguments)


def file_path_from_arguments(arguments: Any) -> str | None:
    """The file a tool call reads, if its arguments name one (Read/cat/open_file style tools)."""
    if isinstance(arguments, str):
        try:
            arguments = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(arguments, dict):
        return None
    for key in PATH_ARGUMENT_KEYS:
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class UnitCollector:
    """Sorts each text piece of a request into a compressible unit or a fixed text."""

    def __init__(self, min_chars: int) -> None:
        self.min_chars = min_chars
        self.units: list[Unit] = []
        self.fixed: list[str] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)

    def fixed_text(self, text: str) -> None:
        if text:
            self.fixed.append(text)

    def content(
        self,
        path: Path,
        content: Any,
        context: SegmentContext | None,
        role: str,
        text_types: frozenset[str] = frozenset({"text"}),
    ) -> None:
        """A string, or a list of typed parts whose `text` is read (images and others skipped).

        `context=None` means the content is never compressed (only counted).
        """
        if isinstance(content, str):
            self._piece(path, content, context, role)
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and _part_type(part) in text_types and isinstance(part.get("text"), str):
                    self._piece((*path, j, "text"), part["text"], context, role)

    def _piece(self, path: Path, text: str, context: SegmentContext | None, role: str) -> None:
        if context is not None and len(text) >= self.min_chars:
            self.units.append(Unit(path, text, context, role))
        else:
            self.fixed_text(text)

    def result(self) -> RequestSplit:
        return RequestSplit(tuple(self.units), tuple(self.fixed), tuple(self.notes))
