"""Incremental Server-Sent Events parsing and encoding.

The relay never waits for more than one event: `SSEParser.feed` returns every event completed by
the bytes so far and keeps the partial tail. Each event keeps its exact raw bytes, so events the
proxy does not change are forwarded byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["SSEEvent", "SSEParser", "encode_event"]

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")
# SSE lines end only in CRLF, CR or LF; `str.splitlines` would also split on U+2028, U+2029,
# U+0085 and others, which JSON strings carry unescaped.
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(slots=True)
class SSEEvent:
    raw: bytes  # the event's bytes including its terminating blank line
    event: str | None
    data: str  # data lines joined with "\n"

    def json(self) -> Any:
        """The data as JSON, or None (keep-alives, `[DONE]`, malformed data)."""
        if not self.data or self.data == "[DONE]":
            return None
        try:
            return orjson.loads(self.data)
        except orjson.JSONDecodeError:
            return None


def _parse(raw: bytes) -> SSEEvent:
    event: str | None = None
    data: list[str] = []
    for line in _LINE_END.split(raw.decode("utf-8", "replace")):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
    return SSEEvent(raw, event, "\n".join(data))


class SSEParser:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan = 0  # where to resume looking for a boundary (no O(n^2) on long events)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buffer += chunk
        events: list[SSEEvent] = []
        start = 0
        # Back up 3 bytes: a boundary may straddle the previous chunk's end.
        search_from = max(0, self._scan - 3)
        while True:
            match = _BOUNDARY.search(self._buffer, search_from)
            if match is None:
                break
            events.append(_parse(bytes(self._buffer[start : match.end()])))
            start = search_from = match.end()
        if start:
            del self._buffer[:start]
        self._scan = len(self._buffer)
        return events

    @property
    def pending(self) -> bool:
        """Bytes of an unfinished event are buffered."""
        return bool(self._buffer.strip())

    def rest(self) -> bytes:
        """The buffered bytes of an unfinished event, as they arrived (the buffer is emptied)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._scan = 0
        return rest

    def flush(self) -> list[SSEEvent]:
        """The trailing event of a stream that ended without a blank line."""
        if not self._buffer.strip():
            self._buffer.clear()
            return []
        event = _parse(bytes(self._buffer))
        self._buffer.clear()
        self._scan = 0
        return [event]


def encode_event(data: Any, event: str | None = None) -> bytes:
    """One SSE event: an optional `event:` line and one `data:` line of compact JSON."""
    payload = data if isinstance(data, bytes) else orjson.dumps(data)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"
