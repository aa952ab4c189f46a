"""`WireFormat`: everything one wire API (OpenAI chat, OpenAI Responses, Anthropic Messages)
means to headroom, in one object.

- units and write-back: `split` reads the compressible strings out of a request (written back
  by the generic `replace_paths`)
- tool calls and their results in a request, in order (`tool_events`): edit safety judges them
- the `headroom_retrieve` tool in the format's own spelling, and the retrieval loop's rounds:
  offering the tool, finding the model's calls, the continuation request, merging the rounds
  into one answer (`retrieve_calls` ... `finish`), and the streamed version (`round_filter`)
- where usage sits in a response or stream event (`usage_in`), and the error bodies (a JSON
  answer, an SSE error event) in the shape the format's SDKs parse
- how the proxy serves it: its endpoints, its upstream (`provider`)

A format is one module with a `WireFormat` subclass and one line in `headroom.formats.FORMATS`.
Nothing here knows HTTP: the proxy gives the format the bytes and events it relays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from headroom.ccr.retrieval import TOOL_NAME
from headroom.formats.base import Path, RequestSplit
from headroom.formats.streaming import RetrieveCall, RoundFilter, StreamSession
from headroom.formats.usage import Usage, usage_from_mapping

__all__ = [
    "Endpoint",
    "ToolCall",
    "ToolEvent",
    "ToolResult",
    "WireFormat",
    "declares_tools",
    "drop_none",
]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A path the proxy serves in this format. `route` names it in the metrics; `loop` is False
    where no model answers (token counting), so there is no retrieval loop to run."""

    path: str
    route: str
    loop: bool = True


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call in a request, as the agent's tool sees it."""

    call_id: str
    name: str  # "" when the request names no tool (or names it with something not a string)
    arguments: Any  # as the model wrote them: a JSON string or an object
    turn: int  # the model turn that made the call (calls of one turn share it)


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    path: Path  # where the result's content sits in the request


ToolEvent = ToolCall | ToolResult


def _declared_tools(request: Mapping[str, Any]) -> list[Any]:
    """Every tool definition of a request: `tools`, and Codex's `additional_tools` input items
    (code mode declares its tools there, in namespaces, instead of in `tools`)."""
    tools = list(request.get("tools") or ()) if isinstance(request.get("tools"), list) else []
    items = request.get("input")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and item.get("type") == "additional_tools" and isinstance(item.get("tools"), list):
            tools += item["tools"]
    return tools


def declares_tools(request: Mapping[str, Any]) -> bool:
    """True for an agent's request (it offers tools), whether or not this turn compressed anything."""
    return isinstance(request.get("tools"), list) or bool(_declared_tools(request))


def _tool_names(tools: list[Any]) -> set[str]:
    names: set[str] = set()
    for tool in tools:
        if isinstance(tool, dict):
            function = tool.get("function")
            names.add(str(function.get("name") if isinstance(function, dict) else tool.get("name")))
            if isinstance(tool.get("tools"), list):  # a namespace
                names |= _tool_names(tool["tools"])
    return names


def _choice_excludes_us(request: Mapping[str, Any]) -> bool:
    """A tool call forced: offering ours could only divert the model. With `none` it is still
    declared (the model cannot call it then): an agent that sets `none` for one turn keeps the
    same tool list, so the provider's cached prefix from the tools on survives."""
    choice = request.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else choice
    return kind in ("any", "required")


def drop_none(value: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """`value` without its null fields (and the `drop` keys)."""
    return {k: v for k, v in value.items() if v is not None and k not in drop}


class WireFormat:
    """One wire API. Subclasses fill in every method; the base holds what all formats share."""

    name: ClassVar[str]  # the registry key, `CompressStats.format`, `--format`
    provider: ClassVar[str]  # the upstream that speaks it: "anthropic" or "openai"
    request_key: ClassVar[str] = "messages"  # where a bare conversation goes in a request
    endpoints: ClassVar[tuple[Endpoint, ...]] = ()
    # Any POST path ending so is this format (OpenAI-compatible servers mount the API under
    # other prefixes: Azure `/openai/deployments/x/`, gateways `/api/v1/`).
    path_suffix: ClassVar[str | None] = None
    # The request field naming an earlier response the upstream stored (Responses).
    previous_response_key: ClassVar[str | None] = None

    # -- units ---------------------------------------------------------------------------------

    def split(self, request: Mapping[str, Any], *, min_chars: int) -> RequestSplit:
        """The request's compressible units (written back with `replace_paths`) and the rest."""
        raise NotImplementedError

    def tool_events(self, request: Mapping[str, Any]) -> Iterator[ToolEvent]:
        """The request's tool calls and tool results, in request order."""
        raise NotImplementedError

    def align_cache(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The request with volatile system-prompt text moved after the cache breakpoints
        (`--cache-align`), or None when there is nothing to move (or the format has none)."""
        return None

    # -- the retrieval loop --------------------------------------------------------------------

    def retrieval_tool(self) -> dict[str, Any]:
        """The `headroom_retrieve` tool definition for the request's `tools`."""
        raise NotImplementedError

    def add_tool(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The request with `headroom_retrieve` appended to its tools; None when it must not be
        offered (a forced tool choice, the client's own `headroom_retrieve`, odd `tools`)."""
        # The client's own headroom_retrieve (e.g. from the headroom MCP server) is its business.
        if _choice_excludes_us(request) or TOOL_NAME in _tool_names(_declared_tools(request)):
            return None
        tools = request.get("tools")
        if tools is not None and not isinstance(tools, list):
            return None
        # Appended last: a client cache breakpoint on its last tool still covers the same prefix.
        return {**request, "tools": [*(tools or ()), self.retrieval_tool()]}

    def retrieve_calls(self, response: dict[str, Any]) -> tuple[list[RetrieveCall], int]:
        """The model's `headroom_retrieve` calls in a response, and how many other calls it made."""
        raise NotImplementedError

    def stopped_for_tools(self, response: dict[str, Any]) -> bool:
        raise NotImplementedError

    def output_of(self, response: dict[str, Any]) -> Any:
        """The model's output, in the form a continuation request replays."""
        raise NotImplementedError

    def continuation(
        self, request: dict[str, Any], output: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        """The next round's request: this one, the model's output, the retrieved originals."""
        raise NotImplementedError

    def visible(self, response: dict[str, Any]) -> Any:
        """What of a round's response the client sees (our calls removed)."""
        raise NotImplementedError

    def finish(self, earlier: list[Any], response: dict[str, Any]) -> dict[str, Any]:
        """The last round's response carrying every round's visible output."""
        raise NotImplementedError

    def round_filter(self, session: StreamSession, can_continue: bool) -> RoundFilter:
        """The filter for one streamed round."""
        raise NotImplementedError

    # -- usage and errors ----------------------------------------------------------------------

    def usage_in(self, data: Mapping[str, Any]) -> Any:
        """The usage object of a response body or a stream event (None when it has none)."""
        return data.get("usage")

    def usage(self, data: Mapping[str, Any]) -> Usage | None:
        return usage_from_mapping(self.usage_in(data))

    def error_body(self, status: int, message: str, kind: str = "api_error") -> bytes:
        """A JSON error body in the format's own shape, so SDKs parse it like a real one. This
        default is OpenAI's shape, which OpenAI-compatible APIs and gateways share."""
        return orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": str(status)}})

    def stream_error(self, message: str, seq: int) -> bytes:
        """The SSE bytes that end a stream with an error (`seq`: the next sequence number)."""
        raise NotImplementedError
