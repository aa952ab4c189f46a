"""OpenAI Responses API: `input` items, `function_call` / `function_call_output` pairs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from headroom.ccr.retrieval import TOOL_DESCRIPTION, TOOL_NAME, tool_parameters
from headroom.envelopes import without_client_notes
from headroom.formats.base import (
    RequestSplit,
    UnitCollector,
    arguments_text,
    content_text,
    read_path,
    tool_name,
)
from headroom.formats.sse import SSEEvent, encode_event
from headroom.formats.streaming import RetrieveCall, RoundFilter, StreamSession, json_object
from headroom.formats.wire import Endpoint, ToolCall, ToolEvent, ToolResult, WireFormat, drop_none
from headroom.segments import SegmentContext

__all__ = ["OpenAIResponsesFormat", "ResponsesRound"]

_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
_CALLS = frozenset({"function_call", "custom_tool_call", "local_shell_call"})
_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output", "local_shell_call_output"})


class OpenAIResponsesFormat(WireFormat):
    name: ClassVar[str] = "responses"
    provider: ClassVar[str] = "openai"
    request_key: ClassVar[str] = "input"
    endpoints: ClassVar[tuple[Endpoint, ...]] = (Endpoint("/v1/responses", "openai_responses"),)
    path_suffix: ClassVar[str | None] = "/responses"
    previous_response_key: ClassVar[str | None] = "previous_response_id"

    def split(self, request: Mapping[str, Any], *, min_chars: int) -> RequestSplit:
        collect = UnitCollector(min_chars)
        collect.content(("instructions",), request.get("instructions"), None, "system")
        items = request.get("input")
        if not isinstance(items, list):  # a plain string input is the user's own turn
            collect.content(("input",), items, None, "user")
            return collect.result()
        users = [i for i, it in enumerate(items) if isinstance(it, dict) and it.get("role") == "user"]
        latest_user = users[-1] if users else -1
        calls: dict[str, tuple[str | None, str]] = {}
        user_query = ""
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            kind = kind if isinstance(kind, str) else None  # an odd `type` is no known item
            if kind in _CALLS:
                args = arguments_text(item.get("arguments", item.get("input", item.get("action"))))
                calls[str(item.get("call_id"))] = (tool_name(item.get("name")), args)
                collect.fixed_text(args)
            elif kind in _OUTPUTS:
                name, args = calls.get(str(item.get("call_id")), (None, ""))
                context = SegmentContext(name, args, user_query, read_path(name, args))
                collect.content(("input", i, "output"), item.get("output"), context, "tool_result", _TEXT_PARTS)
            elif item.get("role") == "user":
                document = SegmentContext(user_query=user_query) if i != latest_user else None
                collect.content(("input", i, "content"), item.get("content"), document, "document", _TEXT_PARTS)
                user_query = without_client_notes(content_text(item.get("content"), _TEXT_PARTS)) or user_query
            elif "content" in item:
                collect.content(("input", i, "content"), item.get("content"), None, str(item.get("role")), _TEXT_PARTS)
        return collect.result()

    def tool_events(self, request: Mapping[str, Any]) -> Iterator[ToolEvent]:
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
            if kind in _CALLS:
                if not in_calls:  # consecutive calls came from one model turn
                    turn, in_calls = i, True
                if kind == "local_shell_call":  # the command, as a shell tool's arguments
                    action = item.get("action")
                    command = action.get("command") if isinstance(action, dict) else None
                    yield ToolCall(str(item.get("call_id")), "local_shell", {"command": command}, turn)
                else:
                    arguments = item.get("arguments", item.get("input"))
                    yield ToolCall(str(item.get("call_id")), tool_name(item.get("name")) or "", arguments, turn)
            elif kind in _OUTPUTS:
                in_calls = False  # outputs follow the whole turn's calls
                yield ToolResult(str(item.get("call_id")), ("input", i, "output"))
            elif kind != "reasoning":
                in_calls = False

    # -- the retrieval loop --------------------------------------------------------------------

    def retrieval_tool(self) -> dict[str, Any]:
        """A flat function tool. `strict` is spelled out because strict schemas must list every
        property as required, and ours are optional."""
        return {
            "type": "function",
            "name": TOOL_NAME,
            "description": TOOL_DESCRIPTION,
            "parameters": tool_parameters(),
            "strict": False,
        }

    def retrieve_calls(self, response: dict[str, Any]) -> tuple[list[RetrieveCall], int]:
        ours, others = [], 0
        for item in response.get("output") or ():
            if _is_ours(item):
                ours.append(RetrieveCall(str(item.get("call_id")), item.get("arguments")))
            elif isinstance(item, dict) and item.get("type") in _CLIENT_CALLS:
                others += 1
        return ours, others

    def stopped_for_tools(self, response: dict[str, Any]) -> bool:
        return response.get("status") == "completed"

    def output_of(self, response: dict[str, Any]) -> Any:
        # Item ids are dropped: with `store: false` the upstream cannot resolve them.
        return [drop_none(item, ("id",)) for item in response.get("output") or () if isinstance(item, dict)]

    def continuation(
        self, request: dict[str, Any], output: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        items = request.get("input")
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
        outputs = [{"type": "function_call_output", "call_id": c.call_id, "output": text} for c, text in answers]
        return {**request, "input": [*(items or ()), *output, *outputs]}

    def visible(self, response: dict[str, Any]) -> list[Any]:
        return [item for item in response.get("output") or () if not _is_ours(item)]

    def finish(self, earlier: list[Any], response: dict[str, Any]) -> dict[str, Any]:
        return {**response, "output": [item for items in earlier for item in items] + self.visible(response)}

    def round_filter(self, session: StreamSession, can_continue: bool) -> RoundFilter:
        return ResponsesRound(session, can_continue, self)

    # -- usage and errors ----------------------------------------------------------------------

    def usage_in(self, data: Mapping[str, Any]) -> Any:
        response = data.get("response")
        if isinstance(response, dict):  # the stream's response.completed (and its other events)
            return response.get("usage")
        return data.get("usage")  # a response body

    def stream_error(self, message: str, seq: int) -> bytes:
        # Both shapes: the flat fields the API reference documents, and the `error` object the
        # live API nests them in (what makes the openai SDK raise APIError instead of yielding
        # the event as if it were output).
        error = {"type": "server_error", "code": "upstream_error", "message": message, "param": None}
        payload = {"type": "error", **{k: error[k] for k in ("code", "message", "param")}, "error": error}
        return encode_event({**payload, "sequence_number": seq}, "error")


# Calls the client answers (ours aside): the loop stops for them.
_CLIENT_CALLS = frozenset({"function_call", "custom_tool_call", "local_shell_call", "computer_call", "mcp_call"})


def _is_ours(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") == "function_call" and item.get("name") == TOOL_NAME


class ResponsesRound(RoundFilter):
    def __init__(self, session: StreamSession, can_continue: bool, responses: OpenAIResponsesFormat) -> None:
        super().__init__(session, can_continue, responses.usage_in)
        self.hidden: set[int] = set()
        self.index_map: dict[int, int] = {}
        self.final: dict[str, Any] | None = None
        self.responses = responses

    def _feed(self, event: SSEEvent) -> list[bytes]:
        data = event.json()
        if not isinstance(data, dict):
            return [event.raw]
        kind = data.get("type")
        if kind in ("response.created", "response.in_progress", "response.queued"):
            if self.session.round > 0:
                return []
            if self.session.first_id is None and isinstance(data.get("response"), dict):
                self.session.first_id = data["response"].get("id")
        index = data.get("output_index")
        if not isinstance(index, int):  # absent, or nothing an index can be: not remapped
            index = None
        if kind == "response.output_item.added" and index is not None:
            item = json_object(data.get("item"))
            if item.get("type") == "function_call" and item.get("name") == TOOL_NAME:
                self.hidden.add(index)
            else:
                self.index_map[index] = self.session.next_index
                self.session.next_index += 1
        if index in self.hidden:
            return []
        changed: dict[str, Any] = {}
        if index is not None and self.index_map.get(index, index) != index:
            changed["output_index"] = self.index_map[index]
        if kind == "response.completed" and isinstance(data.get("response"), dict):
            response = data["response"]
            self.final = response
            self.calls, self.client_calls = self.responses.retrieve_calls(response)
            if self._decide(response.get("status") == "completed"):
                self.session.earlier.extend(self.responses.visible(response))
                return []
            if self.session.earlier or self.calls:
                changed["response"] = self.responses.finish([self.session.earlier], response)
            if self.session.round > 0 and self.session.first_id and response.get("id") != self.session.first_id:
                # The client (and the SDK's stream state) knows this response by the id of
                # round 1; a later `previous_response_id` naming it is mapped to the final
                # round, whose stored context holds the whole exchange.
                self.session.aliases[self.session.first_id] = str(response.get("id"))
                current = changed.get("response", response)
                changed["response"] = {**(current if isinstance(current, dict) else {}), "id": self.session.first_id}
        if "sequence_number" in data:
            if data["sequence_number"] != self.session.seq:
                changed["sequence_number"] = self.session.seq
            self.session.seq += 1
        return [encode_event({**data, **changed}, event.event)] if changed else [event.raw]

    def output(self) -> Any:
        return self.responses.output_of(self.final or {})
