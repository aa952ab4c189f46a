"""Token usage as the providers report it, normalized, from JSON bodies and SSE streams.

Anthropic reports uncached input (`input_tokens`) apart from `cache_read_input_tokens` and
`cache_creation_input_tokens`; OpenAI reports total prompt tokens with `cached_tokens` inside.
Both become a `Usage` whose `input_tokens` is the uncached part, so hit rates compare.

Where the usage object sits is each wire format's business (`WireFormat.usage_in`); reading
one is shared, by its fields rather than by the format's name: OpenAI-compatible servers
answering the chat format report in either spelling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from headroom.formats.sse import SSEEvent, SSEParser
from headroom.pricing import TokenCounts

__all__ = ["Usage", "UsageIn", "UsageTap", "usage_from_body", "usage_from_mapping", "usage_in_any"]


@dataclass(frozen=True, slots=True)
class Usage(TokenCounts):
    """Tokens as a provider billed them (the same counts pricing works with), as read from a
    response or a stream."""

    @property
    def hit_rate(self) -> float:
        return self.cache_read_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.output_tokens + other.output_tokens,
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_from_mapping(usage: Any) -> Usage | None:
    """A provider `usage` object (any of the three APIs) as a `Usage`."""
    if not isinstance(usage, Mapping):
        return None
    if "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:  # Anthropic
        return Usage(
            _int(usage.get("input_tokens")),
            _int(usage.get("cache_read_input_tokens")),
            _int(usage.get("cache_creation_input_tokens")),
            _int(usage.get("output_tokens")),
        )
    if "prompt_tokens" in usage:  # Chat Completions
        details = usage.get("prompt_tokens_details") or {}
        cached = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
        return Usage(max(0, _int(usage.get("prompt_tokens")) - cached), cached, 0, _int(usage.get("completion_tokens")))
    if "input_tokens" in usage:  # Responses, or Anthropic without cache fields
        details = usage.get("input_tokens_details") or {}
        cached = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
        return Usage(max(0, _int(usage.get("input_tokens")) - cached), cached, 0, _int(usage.get("output_tokens")))
    return None


UsageIn = Callable[[Mapping[str, Any]], Any]  # a response body or stream event -> its usage object


def _top_level_usage(body: Mapping[str, Any]) -> Any:
    return body.get("usage")


def usage_from_body(body: bytes, usage_in: UsageIn = _top_level_usage) -> Usage | None:
    """Usage from a non-streaming JSON response body (a Message, Chat Completion or Response
    carry it at the top; `usage_in`: where the body's wire format puts it)."""
    if b'"usage' not in body:  # `"usage"`, `"usageMetadata"`...: no body without it is parsed
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return usage_from_mapping(usage_in(data)) if isinstance(data, dict) else None


def usage_in_any(event: Mapping[str, Any]) -> Any:
    """The usage object of a stream event of any of the three formats (a stream whose format
    the caller does not name)."""
    if isinstance(event.get("message"), Mapping):  # Anthropic message_start
        return event["message"].get("usage")
    if isinstance(event.get("response"), Mapping):  # Responses response.completed
        return event["response"].get("usage")
    return event.get("usage")


class UsageTap:
    """Watches a relayed SSE stream for usage without delaying it (only events that mention
    usage are decoded). `usage_in` finds the usage object in one event (the stream's wire
    format's `usage_in`)."""

    def __init__(self, usage_in: UsageIn = usage_in_any) -> None:
        self._usage_in = usage_in
        self._parser = SSEParser()
        self._fields: dict[str, Any] = {}
        self._seen = False
        self.events = 0  # complete events seen (the next Responses sequence number)

    def feed(self, chunk: bytes) -> None:
        for event in self._parser.feed(chunk):
            self.events += 1
            self.observe(event)

    @property
    def partial(self) -> bool:
        """The stream so far ends inside an event."""
        return self._parser.pending

    def observe(self, event: SSEEvent) -> None:
        if '"usage"' not in event.data:
            return
        data = event.json()
        if not isinstance(data, dict):
            return
        usage = self._usage_in(data)
        if isinstance(usage, Mapping):
            # Anthropic splits usage over message_start and message_delta: later fields win.
            self._fields.update({k: v for k, v in usage.items() if v is not None})
            self._seen = True

    @property
    def usage(self) -> Usage | None:
        return usage_from_mapping(self._fields) if self._seen else None
