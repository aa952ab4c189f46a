"""The three wire formats as the retrieval loop sees them (non-streaming side).

Each dialect knows how to offer `headroom_retrieve`, find the model's calls to it in a response,
build the continuation request (the model's output plus the retrieved originals), and hide the
loop from the client: its calls are stripped and the visible output of every round is merged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from headroom.ccr.retrieval import TOOL_NAME, anthropic_tool, openai_chat_tool, openai_responses_tool
from headroom.proxy.sse import encode_event

__all__ = [
    "DIALECTS",
    "AnthropicDialect",
    "ChatDialect",
    "Dialect",
    "ResponsesDialect",
    "RetrieveCall",
    "declares_tools",
]


@dataclass(frozen=True, slots=True)
class RetrieveCall:
    call_id: str
    arguments: Any  # a dict (Anthropic) or the JSON string the model wrote (OpenAI)


def _declared_tools(request: dict[str, Any]) -> list[Any]:
    """Every tool definition of a request: `tools`, and Codex's `additional_tools` input items
    (code mode declares its tools there, in namespaces, instead of in `tools`)."""
    tools = list(request.get("tools") or ()) if isinstance(request.get("tools"), list) else []
    items = request.get("input")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and item.get("type") == "additional_tools" and isinstance(item.get("tools"), list):
            tools += item["tools"]
    return tools


def declares_tools(request: dict[str, Any]) -> bool:
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


def _choice_excludes_us(request: dict[str, Any]) -> bool:
    """A tool call forced: offering ours could only divert the model. With `none` it is still
    declared (the model cannot call it then): an agent that sets `none` for one turn keeps the
    same tool list, so the provider's cached prefix from the tools on survives."""
    choice = request.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else choice
    return kind in ("any", "required")


def _offer(request: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any] | None:
    # The client's own headroom_retrieve (e.g. from the headroom MCP server) is its business.
    if _choice_excludes_us(request) or TOOL_NAME in _tool_names(_declared_tools(request)):
        return None
    tools = request.get("tools")
    if tools is not None and not isinstance(tools, list):
        return None
    # Appended last: a client cache breakpoint on its last tool still covers the same prefix.
    return {**request, "tools": [*(tools or ()), tool]}


def _clean(value: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None and k not in drop}


class AnthropicDialect:
    api = "anthropic"

    def add_tool(self, request: dict[str, Any]) -> dict[str, Any] | None:
        return _offer(request, anthropic_tool())

    def calls(self, response: dict[str, Any]) -> tuple[list[RetrieveCall], int]:
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
        return [_clean(b) for b in response.get("content") or () if isinstance(b, dict)]

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

    def stream_error(self, message: str, seq: int) -> bytes:
        return encode_event({"type": "error", "error": {"type": "api_error", "message": message}}, "error")


class ChatDialect:
    api = "openai"

    def add_tool(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if request.get("functions") or (isinstance(request.get("n"), int) and request["n"] > 1):
            return None  # legacy function calling, or several choices that would diverge
        return _offer(request, openai_chat_tool())

    @staticmethod
    def _choice(response: dict[str, Any]) -> dict[str, Any]:
        choices = response.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        return first if isinstance(first, dict) else {}

    def _message(self, response: dict[str, Any]) -> dict[str, Any]:
        message = self._choice(response).get("message")
        return message if isinstance(message, dict) else {}

    def calls(self, response: dict[str, Any]) -> tuple[list[RetrieveCall], int]:
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

    def stream_error(self, message: str, seq: int) -> bytes:
        payload = {"error": {"message": message, "type": "api_error", "param": None, "code": None}}
        return encode_event(payload) + b"data: [DONE]\n\n"


_CLIENT_CALLS = frozenset({"function_call", "custom_tool_call", "local_shell_call", "computer_call", "mcp_call"})


def _is_ours(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") == "function_call" and item.get("name") == TOOL_NAME


class ResponsesDialect:
    api = "responses"

    def add_tool(self, request: dict[str, Any]) -> dict[str, Any] | None:
        return _offer(request, openai_responses_tool())

    def calls(self, response: dict[str, Any]) -> tuple[list[RetrieveCall], int]:
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
        return [_clean(item, ("id",)) for item in response.get("output") or () if isinstance(item, dict)]

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

    def stream_error(self, message: str, seq: int) -> bytes:
        # Both shapes: the flat fields the API reference documents, and the `error` object the
        # live API nests them in (what makes the openai SDK raise APIError instead of yielding
        # the event as if it were output).
        error = {"type": "server_error", "code": "upstream_error", "message": message, "param": None}
        payload = {"type": "error", **{k: error[k] for k in ("code", "message", "param")}, "error": error}
        return encode_event({**payload, "sequence_number": seq}, "error")


Dialect = AnthropicDialect | ChatDialect | ResponsesDialect
DIALECTS: dict[str, Dialect] = {
    "anthropic": AnthropicDialect(),
    "openai": ChatDialect(),
    "responses": ResponsesDialect(),
}
