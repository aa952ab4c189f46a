"""Hiding the retrieval loop inside a streamed response, one SSE event at a time.

A round filter sees each upstream event once and returns what the client gets right away:
the raw bytes when nothing changes, a re-encoded event when an index must shift (the client's
blocks / tool calls / output items stay contiguous across rounds), nothing for the events of a
`headroom_retrieve` call. The round's end event decides: if the model only called
`headroom_retrieve` (and rounds remain), the end is swallowed and the loop continues upstream;
otherwise the end goes out, with the stop reason fixed if only our calls were dropped.
"""

from __future__ import annotations

from typing import Any

import orjson

from headroom.ccr.retrieval import TOOL_NAME
from headroom.proxy._dialects import DIALECTS, RetrieveCall
from headroom.proxy.cache_stats import UsageTap
from headroom.proxy.sse import SSEEvent, encode_event

__all__ = ["RoundFilter", "StreamSession", "round_filter"]


# Streamed block pieces, joined when the block closes: delta type -> field.
_PIECES = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}


def _obj(value: Any) -> dict[str, Any]:
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
    def __init__(self, session: StreamSession, can_continue: bool) -> None:
        self.session = session
        self.can_continue = can_continue
        self.calls: list[RetrieveCall] = []
        self.client_calls = 0
        self.continues = False  # the loop goes on upstream after this round
        self.usage = UsageTap()

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


class AnthropicRound(RoundFilter):
    def __init__(self, session: StreamSession, can_continue: bool) -> None:
        super().__init__(session, can_continue)
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
                block = dict(_obj(data.get("content_block")))
                self.blocks[index] = block
                if block.get("type") == "tool_use" and block.get("name") == TOOL_NAME:
                    self.hidden.add(index)
                    return []
                self.client_calls += block.get("type") == "tool_use"
                self.index_map[index] = self.session.next_index
                self.session.next_index += 1
            elif kind == "content_block_delta":
                self._apply_delta(index, _obj(data.get("delta")))
            else:
                self._close(index)
            return [] if index in self.hidden else self._remap(event, data, index)
        if kind == "message_delta":
            assert isinstance(data, dict)
            delta = _obj(data.get("delta"))
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


class ChatRound(RoundFilter):
    def __init__(self, session: StreamSession, can_continue: bool) -> None:
        super().__init__(session, can_continue)
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
        delta = dict(_obj(choice.get("delta")))
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
            function = _obj(fragment.get("function"))
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


class ResponsesRound(RoundFilter):
    def __init__(self, session: StreamSession, can_continue: bool) -> None:
        super().__init__(session, can_continue)
        self.hidden: set[int] = set()
        self.index_map: dict[int, int] = {}
        self.final: dict[str, Any] | None = None
        self.dialect = DIALECTS["responses"]

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
            item = _obj(data.get("item"))
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
            self.calls, self.client_calls = self.dialect.calls(response)
            if self._decide(response.get("status") == "completed"):
                self.session.earlier.extend(self.dialect.visible(response))
                return []
            if self.session.earlier or self.calls:
                changed["response"] = self.dialect.finish([self.session.earlier], response)
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
        return self.dialect.output_of(self.final or {})


_ROUNDS: dict[str, type[RoundFilter]] = {"anthropic": AnthropicRound, "openai": ChatRound, "responses": ResponsesRound}


def round_filter(api: str, session: StreamSession, can_continue: bool) -> RoundFilter:
    return _ROUNDS[api](session, can_continue)
