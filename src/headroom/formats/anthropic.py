"""Anthropic Messages: `tool_use` blocks in assistant turns, `tool_result` blocks in user turns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import orjson

from headroom.ccr.retrieval import TOOL_DESCRIPTION, TOOL_NAME, tool_parameters
from headroom.envelopes import without_client_notes
from headroom.formats.anthropic_cache import align_system
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
from headroom.formats.wire import Endpoint, ToolCall, ToolEvent, ToolResult, WireFormat, drop_none
from headroom.segments import SegmentContext

__all__ = ["AnthropicFormat", "AnthropicRound"]


def _human_text(content: Any) -> str:
    """What the human wrote in a user turn (text blocks only, not tool results)."""
    return content_text(content, _TEXT_BLOCKS)


_TEXT_BLOCKS = frozenset({"text"})


class AnthropicFormat(WireFormat):
    name: ClassVar[str] = "anthropic"
    provider: ClassVar[str] = "anthropic"
    # The Anthropic SDK with base URL ".../v1" calls "/v1/v1/messages".
    endpoints: ClassVar[tuple[Endpoint, ...]] = tuple(
        endpoint
        for prefix in ("/v1", "/v1/v1")
        for endpoint in (
            Endpoint(f"{prefix}/messages", "anthropic_messages"),
            Endpoint(f"{prefix}/messages/count_tokens", "anthropic_count_tokens", loop=False),
        )
    )

    def split(self, request: Mapping[str, Any], *, min_chars: int) -> RequestSplit:
        collect = UnitCollector(min_chars)
        collect.content(("system",), request.get("system"), None, "system")  # never altered
        messages = request.get("messages") or []
        # The latest *human* turn: user messages that only carry tool results are not one.
        users = [
            i
            for i, m in enumerate(messages)
            if isinstance(m, dict) and m.get("role") == "user" and _human_text(m.get("content"))
        ]
        latest_user = users[-1] if users else -1
        calls: dict[str, tuple[str | None, str]] = {}
        user_query = ""
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                collect.note(f"messages[{i}]: not an object, left untouched")
                continue
            role = message.get("role")
            content = message.get("content")
            path = ("messages", i, "content")
            if role != "user":
                if role != "assistant":
                    collect.note(f"messages[{i}]: unknown role {str(role)[:40]!r} left untouched")
                collect.content(path, content, None, str(role))
                for block in content if isinstance(content, list) else []:
                    if isinstance(block, dict) and block.get("type") in ("tool_use", "server_tool_use"):
                        args = arguments_text(block.get("input"))
                        calls[str(block.get("id"))] = (tool_name(block.get("name")), args)
                        collect.fixed_text(args)
                continue
            document_context = SegmentContext(user_query=user_query) if i != latest_user else None
            if isinstance(content, str):
                collect.content(path, content, document_context, "document")
            for j, block in enumerate(content if isinstance(content, list) else []):
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_result":
                    name, args = calls.get(str(block.get("tool_use_id")), (None, ""))
                    context = SegmentContext(name, args, user_query, read_path(name, args))
                    collect.content((*path, j, "content"), block.get("content"), context, "tool_result")
                elif block.get("type") == "text":
                    collect.content((*path, j, "text"), block.get("text"), document_context, "document")
            text = without_client_notes(_human_text(content))
            if text:  # a turn holding only a client's reminder keeps the task before it
                user_query = text
        return collect.result()

    def tool_events(self, request: Mapping[str, Any]) -> Iterator[ToolEvent]:
        messages = request.get("messages")
        for i, message in enumerate(messages if isinstance(messages, list) else ()):
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, list):
                continue
            for j, block in enumerate(content):
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use":
                    yield ToolCall(str(block.get("id")), tool_name(block.get("name")) or "", block.get("input"), i)
                elif block.get("type") == "tool_result":
                    yield ToolResult(str(block.get("tool_use_id")), ("messages", i, "content", j, "content"))

    def align_cache(self, request: dict[str, Any]) -> dict[str, Any] | None:
        return align_system(request)

    # -- the retrieval loop --------------------------------------------------------------------

    def retrieval_tool(self) -> dict[str, Any]:
        return {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": tool_parameters()}

    def retrieve_calls(self, response: dict[str, Any]) -> tuple[list[RetrieveCall], int]:
        ours, others = [], 0
        for block in response.get("content") or ():
            if isinstance(block, dict) and block.get("type") == "tool_use":
                if block.get("name") == TOOL_NAME:
                    ours.append(RetrieveCall(str(block.get("id")), block.get("input")))
                else:
                    others += 1
        return ours, others

    def stopped_for_tools(self, response: dict[str, Any]) -> bool:
        return response.get("stop_reason") == "tool_use"

    def output_of(self, response: dict[str, Any]) -> Any:
        return [drop_none(b) for b in response.get("content") or () if isinstance(b, dict)]

    def continuation(
        self, request: dict[str, Any], output: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        results = [{"type": "tool_result", "tool_use_id": c.call_id, "content": text} for c, text in answers]
        messages = [*request.get("messages", ()), {"role": "assistant", "content": output}]
        return {**request, "messages": [*messages, {"role": "user", "content": results}]}

    def visible(self, response: dict[str, Any]) -> list[Any]:
        return [
            b
            for b in response.get("content") or ()
            if not (isinstance(b, dict) and b.get("type") == "tool_use" and b.get("name") == TOOL_NAME)
        ]

    def finish(self, earlier: list[Any], response: dict[str, Any]) -> dict[str, Any]:
        content = [block for round_blocks in earlier for block in round_blocks] + self.visible(response)
        result = {**response, "content": content}
        if response.get("stop_reason") == "tool_use" and not any(
            isinstance(b, dict) and b.get("type") == "tool_use" for b in content
        ):
            result["stop_reason"] = "end_turn"
        return result

    def round_filter(self, session: StreamSession, can_continue: bool) -> RoundFilter:
        return AnthropicRound(session, can_continue, self.usage_in)

    # -- usage and errors ----------------------------------------------------------------------

    def usage_in(self, data: Mapping[str, Any]) -> Any:
        message = data.get("message")
        if isinstance(message, dict):  # the stream's message_start
            return message.get("usage")
        return data.get("usage")  # a response body, the stream's message_delta

    def error_body(self, status: int, message: str, kind: str = "api_error") -> bytes:
        return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})

    def stream_error(self, message: str, seq: int) -> bytes:
        return encode_event({"type": "error", "error": {"type": "api_error", "message": message}}, "error")


# Streamed block pieces, joined when the block closes: delta type -> field.
_PIECES = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}


class AnthropicRound(RoundFilter):
    def __init__(self, session: StreamSession, can_continue: bool, usage_in: UsageIn) -> None:
        super().__init__(session, can_continue, usage_in)
        self.blocks: dict[int, dict[str, Any]] = {}
        self.parts: dict[tuple[int, str], list[str]] = {}  # (index, field) -> streamed pieces
        self.hidden: set[int] = set()
        self.index_map: dict[int, int] = {}

    def _remap(self, event: SSEEvent, data: dict[str, Any], index: int) -> list[bytes]:
        target = self.index_map.get(index, index)
        if target == index:
            return [event.raw]
        return [encode_event({**data, "index": target}, event.event)]

    def _feed(self, event: SSEEvent) -> list[bytes]:
        data = event.json()
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message_start":
            return [event.raw] if self.session.round == 0 else []
        if kind in ("content_block_start", "content_block_delta", "content_block_stop"):
            assert isinstance(data, dict)
            index = data.get("index")
            if not isinstance(index, int):
                return [event.raw]
            if kind == "content_block_start":
                block = dict(json_object(data.get("content_block")))
                self.blocks[index] = block
                if block.get("type") == "tool_use" and block.get("name") == TOOL_NAME:
                    self.hidden.add(index)
                    return []
                self.client_calls += block.get("type") == "tool_use"
                self.index_map[index] = self.session.next_index
                self.session.next_index += 1
            elif kind == "content_block_delta":
                self._apply_delta(index, json_object(data.get("delta")))
            else:
                self._close(index)
            return [] if index in self.hidden else self._remap(event, data, index)
        if kind == "message_delta":
            assert isinstance(data, dict)
            delta = json_object(data.get("delta"))
            if self._decide(delta.get("stop_reason") == "tool_use"):
                return []
            if self.calls and not self.client_calls and delta.get("stop_reason") == "tool_use":
                return [encode_event({**data, "delta": {**delta, "stop_reason": "end_turn"}}, event.event)]
            return [event.raw]
        if kind == "message_stop" and self.continues:
            return []
        return [event.raw]  # ping, error, events this code does not know

    def _apply_delta(self, index: int, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        name = _PIECES.get(str(kind))
        if name is not None:
            self.parts.setdefault((index, name), []).append(str(delta.get(name, "")))
        elif kind == "signature_delta":
            self.blocks.setdefault(index, {})["signature"] = delta.get("signature")
        elif kind == "citations_delta":
            self.blocks.setdefault(index, {}).setdefault("citations", []).append(delta.get("citation"))

    def _close(self, index: int) -> None:
        block = self.blocks.setdefault(index, {})
        for name in ("text", "thinking"):
            if (index, name) in self.parts:
                block[name] = block.get(name, "") + "".join(self.parts.pop((index, name)))
        if (index, "partial_json") in self.parts:
            text = "".join(self.parts.pop((index, "partial_json")))
            try:
                block["input"] = orjson.loads(text) if text.strip() else {}
            except orjson.JSONDecodeError:
                block["input"] = {}
        if index in self.hidden:
            self.calls.append(RetrieveCall(str(block.get("id")), block.get("input")))

    def output(self) -> Any:
        return [{k: v for k, v in self.blocks[i].items() if v is not None} for i in sorted(self.blocks)]
