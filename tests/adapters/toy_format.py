"""A toy fourth wire format, shaped like Gemini's generateContent: `contents` turns of `parts`,
the model's `functionCall` parts and the client's `functionResponse` parts (paired by `id`).

It is what adding a wire API takes: this one module, and one line in `headroom.formats.FORMATS`
(the tests register it with `monkeypatch.setitem(FORMATS, "toy", ToyFormat())`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from headroom.ccr.retrieval import TOOL_DESCRIPTION, TOOL_NAME, tool_parameters
from headroom.formats import Endpoint, RequestSplit, ToolCall, ToolEvent, ToolResult, WireFormat
from headroom.formats.base import UnitCollector, arguments_text, content_text, file_path_from_arguments
from headroom.formats.streaming import RetrieveCall
from headroom.segments import SegmentContext

ENDPOINT = "/v1/toy/generate"


def _parts(turn: Any) -> list[Any]:
    parts = turn.get("parts") if isinstance(turn, dict) else None
    return parts if isinstance(parts, list) else []


class ToyFormat(WireFormat):
    name: ClassVar[str] = "toy"
    provider: ClassVar[str] = "openai"  # served from the OpenAI upstream setting
    request_key: ClassVar[str] = "contents"
    endpoints: ClassVar[tuple[Endpoint, ...]] = (Endpoint(ENDPOINT, "toy_generate"),)

    def split(self, request: Mapping[str, Any], *, min_chars: int) -> RequestSplit:
        collect = UnitCollector(min_chars)
        calls: dict[str, tuple[str | None, str]] = {}
        query = ""
        for i, turn in enumerate(request.get("contents") or ()):
            for j, part in enumerate(_parts(turn)):
                if not isinstance(part, dict):
                    continue
                call, response = part.get("functionCall"), part.get("functionResponse")
                if isinstance(call, dict):
                    args = arguments_text(call.get("args"))
                    calls[str(call.get("id"))] = (call.get("name"), args)
                    collect.fixed_text(args)
                elif isinstance(response, dict) and isinstance(response.get("response"), dict):
                    name, args = calls.get(str(response.get("id")), (None, ""))
                    context = SegmentContext(name, args, query, file_path_from_arguments(args))
                    path = ("contents", i, "parts", j, "functionResponse", "response", "output")
                    collect.content(path, response["response"].get("output"), context, "tool_result")
                elif isinstance(part.get("text"), str):
                    collect.fixed_text(part["text"])
                    if turn.get("role") == "user":
                        query = content_text(part["text"])
        return collect.result()

    def tool_events(self, request: Mapping[str, Any]) -> Iterator[ToolEvent]:
        for i, turn in enumerate(request.get("contents") or ()):
            for j, part in enumerate(_parts(turn)):
                call = part.get("functionCall") if isinstance(part, dict) else None
                response = part.get("functionResponse") if isinstance(part, dict) else None
                if isinstance(call, dict):
                    yield ToolCall(str(call.get("id")), str(call.get("name") or ""), call.get("args"), i)
                elif isinstance(response, dict):
                    path = ("contents", i, "parts", j, "functionResponse", "response", "output")
                    yield ToolResult(str(response.get("id")), path)

    def retrieval_tool(self) -> dict[str, Any]:
        declaration = {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "parameters": tool_parameters()}
        return {"functionDeclarations": [declaration]}

    def _model_parts(self, response: dict[str, Any]) -> list[Any]:
        candidates = response.get("candidates") or [{}]
        return _parts(candidates[0].get("content") if isinstance(candidates[0], dict) else None)

    def retrieve_calls(self, response: dict[str, Any]) -> tuple[list[RetrieveCall], int]:
        ours, others = [], 0
        for part in self._model_parts(response):
            call = part.get("functionCall") if isinstance(part, dict) else None
            if isinstance(call, dict):
                if call.get("name") == TOOL_NAME:
                    ours.append(RetrieveCall(str(call.get("id")), call.get("args")))
                else:
                    others += 1
        return ours, others

    def stopped_for_tools(self, response: dict[str, Any]) -> bool:
        return True  # Gemini ends a turn of calls with finishReason STOP, as any other

    def output_of(self, response: dict[str, Any]) -> Any:
        return {"role": "model", "parts": self._model_parts(response)}

    def continuation(
        self, request: dict[str, Any], output: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        parts = [
            {"functionResponse": {"id": c.call_id, "name": TOOL_NAME, "response": {"output": text}}}
            for c, text in answers
        ]
        return {**request, "contents": [*request.get("contents", ()), output, {"role": "user", "parts": parts}]}

    def visible(self, response: dict[str, Any]) -> list[Any]:
        return [
            part
            for part in self._model_parts(response)
            if not (isinstance(part, dict) and (part.get("functionCall") or {}).get("name") == TOOL_NAME)
        ]

    def finish(self, earlier: list[Any], response: dict[str, Any]) -> dict[str, Any]:
        parts = [part for round_parts in earlier for part in round_parts] + self.visible(response)
        return {**response, "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}

    def usage_in(self, data: Mapping[str, Any]) -> Any:
        usage = data.get("usageMetadata")
        if not isinstance(usage, dict):
            return None
        return {"input_tokens": usage.get("promptTokenCount"), "output_tokens": usage.get("candidatesTokenCount")}
