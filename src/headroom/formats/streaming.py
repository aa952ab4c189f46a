"""Hiding the retrieval loop inside a streamed response, one SSE event at a time.

A round filter sees each upstream event once and returns what the client gets right away:
the raw bytes when nothing changes, a re-encoded event when an index must shift (the client's
blocks / tool calls / output items stay contiguous across rounds), nothing for the events of a
`headroom_retrieve` call. The round's end event decides: if the model only called
`headroom_retrieve` (and rounds remain), the end is swallowed and the loop continues upstream;
otherwise the end goes out, with the stop reason fixed if only our calls were dropped.

This module holds what every format's filter shares; each wire format module has its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headroom.formats.sse import SSEEvent
from headroom.formats.usage import UsageIn, UsageTap

__all__ = ["RetrieveCall", "RoundFilter", "StreamSession", "json_object"]


@dataclass(frozen=True, slots=True)
class RetrieveCall:
    """One `headroom_retrieve` call the model made."""

    call_id: str
    arguments: Any  # a dict (Anthropic) or the JSON string the model wrote (OpenAI)


def json_object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: an upstream event of another shape
    than documented is read as carrying nothing, and relayed as it came."""
    return value if isinstance(value, dict) else {}


class StreamSession:
    """State that spans the rounds of one client stream."""

    def __init__(self, aliases: dict[str, str] | None = None) -> None:
        self.round = 0
        self.next_index = 0  # next client-visible block / tool call / output index
        self.seq = 0  # Responses sequence numbers as the client sees them
        self.earlier: list[Any] = []  # visible Responses output items of finished rounds
        self.first_id: str | None = None  # the Responses id the client saw in response.created
        # Responses: the id the client saw -> the final round's id (see `ResponsesRound`).
        self.aliases = aliases if aliases is not None else {}


class RoundFilter:
    def __init__(self, session: StreamSession, can_continue: bool, usage_in: UsageIn) -> None:
        self.session = session
        self.can_continue = can_continue
        self.calls: list[RetrieveCall] = []
        self.client_calls = 0
        self.continues = False  # the loop goes on upstream after this round
        self.usage = UsageTap(usage_in)

    def feed(self, event: SSEEvent) -> list[bytes]:
        self.usage.observe(event)
        return self._feed(event)

    def _feed(self, event: SSEEvent) -> list[bytes]:
        raise NotImplementedError

    def output(self) -> Any:
        """The model's output this round, in the form the continuation request replays."""
        raise NotImplementedError

    def _decide(self, stopped_for_tools: bool = True) -> bool:
        """At the round's end: True when only our tool was called (and the model stopped for it,
        not at max_tokens with a cut-off call) and the loop continues."""
        self.continues = stopped_for_tools and bool(self.calls) and not self.client_calls and self.can_continue
        return self.continues
