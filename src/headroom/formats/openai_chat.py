"""OpenAI Chat Completions: `messages` with `role: tool` results and assistant `tool_calls`."""

from __future__ import annotations

import copy
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
from headroom.formats.usage import UsageIn
from headroom.formats.wire import Endpoint, ToolCall, ToolEvent, ToolResult, WireFormat
from headroom.segments import SegmentContext

__all__ = ["ChatRound", "OpenAIChatFormat"]


class OpenAIChatFormat(WireFormat):
    name: ClassVar[str] = "openai"
    provider: ClassVar[str] = "openai"
    endpoints: ClassVar[tuple[Endpoint, ...]] = (Endpoint("/v1/chat/completions", "openai_chat"),)
    path_suffix: ClassVar[str | None] = "/chat/completions"

    def split(self, request: Mapping[str, Any], *, min_chars: int) -> RequestSplit:
        messages = request.get("messages") or []
        users = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
        latest_user = users[-1] if users else -1
        calls: dict[str, tuple[str | None, str]] = {}
        collect = UnitCollector(min_chars)
        user_query = ""
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                collect.note(f"messages[{i}]: not an object, left untouched")
                continue
            role = message.get("role")
            content = message.get("content")
            path = ("messages", i, "content")
            if role == "assistant":
                tool_calls = message.get("tool_calls")
                for call in tool_calls if isinstance(tool_calls, list) else []:
                    if not isinstance(call, dict):
                        continue
                    function = call.get("function")
                    function = function if isinstance(function, dict) else {}
                    args = arguments_text(function.get("arguments"))
                    calls[str(call.get("id"))] = (tool_name(function.get("name")), args)
                    collect.fixed_text(args)
                collect.content(path, content, None, "assistant")
            elif role in ("tool", "function"):
                name, args = calls.get(str(message.get("tool_call_id")), (tool_name(message.get("name")), ""))
                context = SegmentContext(name, args, user_query, read_path(name, args))
                collect.content(path, content, context, "tool_result")
            elif role == "user":
                # The latest user turn is never altered; earlier large user documents may be.
                document = SegmentContext(user_query=user_query) if i != latest_user else None
                collect.content(path, content, document, "document")
                # An image-only turn, or one holding only a client's reminder, keeps the last question.
                user_query = without_client_notes(content_text(content)) or user_query
            else:  # system, developer, unknown roles: never altered
                if role not in ("system", "developer"):
                    collect.note(f"messages[{i}]: unknown role {str(role)[:40]!r} left untouched")
                collect.content(path, content, None, str(role))
        return collect.result()

    def tool_events(self, request: Mapping[str, Any]) -> Iterator[ToolEvent]:
        messages = request.get("messages")
        for i, message in enumerate(messages if isinstance(messages, list) else ()):
            if not isinstance(message, dict):
                continue
            tool_calls = message.get("tool_calls")
            for call in tool_calls if isinstance(tool_calls, list) else ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    name = tool_name(function.get("name")) or ""
                    yield ToolCall(str(call.get("id")), name, function.get("arguments"), i)
            if message.get("role") == "tool":
                yield ToolResult(str(message.get("tool_call_id")), ("messages", i, "content"))

    # -- the retrieval loop --------------------------------------------------------------------

    def retrieval_tool(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "parameters": tool_parameters()},
        }

    def add_tool(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if request.get("functions") or (isinstance(request.get("n"), int) and request["n"] > 1):
            return None  # legacy function calling, or several choices that would diverge
        return super().add_tool(request)

    @staticmethod
    def _choice(response: dict[str, Any]) -> dict[str, Any]:
        choices = response.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        return first if isinstance(first, dict) else {}

    def _message(self, response: dict[str, Any]) -> dict[str, Any]:
        message = self._choice(response).get("message")
        return message if isinstance(message, dict) else {}

    def retrieve_calls(self, response: dict[str, Any]) -> tuple[list[RetrieveCall], int]:
        ours, others = [], 0
        for call in self._message(response).get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and function.get("name") == TOOL_NAME:
                ours.append(RetrieveCall(str(call.get("id")), function.get("arguments")))
            else:
                others += 1
        return ours, others

    def stopped_for_tools(self, response: dict[str, Any]) -> bool:
        return self._choice(response).get("finish_reason") == "tool_calls"

    def output_of(self, response: dict[str, Any]) -> Any:
        message = self._message(response)
        calls = [
            {"id": c.get("id"), "type": "function", "function": c.get("function")}
            for c in message.get("tool_calls") or ()
            if isinstance(c, dict)
        ]
        return {"role": "assistant", "content": message.get("content"), "tool_calls": calls}

    def continuation(
        self, request: dict[str, Any], output: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        results = [{"role": "tool", "tool_call_id": c.call_id, "content": text} for c, text in answers]
        return {**request, "messages": [*request.get("messages", ()), output, *results]}

    def visible(self, response: dict[str, Any]) -> str:
        content = self._message(response).get("content")
        return content if isinstance(content, str) else ""

    def finish(self, earlier: list[Any], response: dict[str, Any]) -> dict[str, Any]:
        result = copy.deepcopy(response)
        choices = result.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            # The last round had no choice (a filtered or odd answer): the earlier rounds' text
            # is still the client's answer.
            choices = result["choices"] = [{"index": 0, "finish_reason": "stop"}]
        choice = choices[0]
        if not isinstance(choice.get("message"), dict):
            choice["message"] = {"role": "assistant", "content": None}
        message = choice["message"]
        calls = [
            c
            for c in message.get("tool_calls") or ()
            if not (
                isinstance(c, dict) and isinstance(c.get("function"), dict) and c["function"].get("name") == TOOL_NAME
            )
        ]
        if calls:
            message["tool_calls"] = calls
        else:
            message.pop("tool_calls", None)
            if choice.get("finish_reason") == "tool_calls":
                choice["finish_reason"] = "stop"
        text = "".join(earlier) + (message.get("content") or "")
        if text or message.get("content") is not None:
            message["content"] = text
        return result

    def round_filter(self, session: StreamSession, can_continue: bool) -> RoundFilter:
        return ChatRound(session, can_continue, self.usage_in)

    # -- errors --------------------------------------------------------------------------------

    def stream_error(self, message: str, seq: int) -> bytes:
        payload = {"error": {"message": message, "type": "api_error", "param": None, "code": None}}
        return encode_event(payload) + b"data: [DONE]\n\n"


class ChatRound(RoundFilter):
    def __init__(self, session: StreamSession, can_continue: bool, usage_in: UsageIn) -> None:
        super().__init__(session, can_continue, usage_in)
        self.text: list[str] = []
        self.slots: dict[int, dict[str, Any]] = {}  # upstream tool-call index -> id, name, args
        self.index_map: dict[int, int] = {}

    def _feed(self, event: SSEEvent) -> list[bytes]:
        if event.data == "[DONE]":
            return [] if self.continues else [event.raw]
        data = event.json()
        if not isinstance(data, dict) or "error" in data:
            return [event.raw]
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):  # the usage-only chunk
            return [] if self.continues else [event.raw]
        choice = choices[0]
        delta = dict(json_object(choice.get("delta")))
        changed = False
        if isinstance(delta.get("content"), str):
            self.text.append(delta["content"])
        if isinstance(delta.get("tool_calls"), list):
            kept, changed = self._tool_deltas(delta["tool_calls"])
            if changed:
                if kept:
                    delta["tool_calls"] = kept
                else:
                    del delta["tool_calls"]
        finish = choice.get("finish_reason")
        if finish:
            if self._decide(finish == "tool_calls"):
                finish, changed = None, True
            elif self.calls and not self.client_calls and finish == "tool_calls":
                finish, changed = "stop", True
        if not changed:
            return [event.raw]
        if not finish and not any(v not in (None, "", []) for k, v in delta.items() if k != "role"):
            return []  # nothing of this chunk is the client's
        new_choice = {**choice, "delta": delta, "finish_reason": finish}
        return [encode_event({**data, "choices": [new_choice, *choices[1:]]}, event.event)]

    def _tool_deltas(self, fragments: list[Any]) -> tuple[list[Any], bool]:
        kept: list[Any] = []
        changed = False
        for fragment in fragments:
            if not isinstance(fragment, dict):
                kept.append(fragment)
                continue
            index = fragment.get("index", 0)
            if not isinstance(index, int):  # no call this code can track: the client's, as it came
                self.client_calls += 1
                kept.append(fragment)
                continue
            function = json_object(fragment.get("function"))
            slot = self.slots.get(index)
            if slot is None:
                slot = {"id": fragment.get("id"), "name": function.get("name"), "args": []}
                self.slots[index] = slot
                if slot["name"] != TOOL_NAME:
                    self.client_calls += 1
                    self.index_map[index] = self.session.next_index
                    self.session.next_index += 1
            if isinstance(function.get("arguments"), str):
                slot["args"].append(function["arguments"])
            if slot["name"] == TOOL_NAME:
                changed = True
                continue
            target = self.index_map[index]
            if target != index:
                fragment, changed = {**fragment, "index": target}, True
            kept.append(fragment)
        return kept, changed

    def _decide(self, stopped_for_tools: bool = True) -> bool:
        self.calls = [
            RetrieveCall(str(s["id"]), "".join(s["args"])) for s in self.slots.values() if s["name"] == TOOL_NAME
        ]
        return super()._decide(stopped_for_tools)

    def output(self) -> Any:
        calls = [
            {"id": s["id"], "type": "function", "function": {"name": s["name"], "arguments": "".join(s["args"])}}
            for _, s in sorted(self.slots.items())
        ]
        return {"role": "assistant", "content": "".join(self.text) or None, "tool_calls": calls}
