"""OpenAI Responses API: `input` items, `function_call` / `function_call_output` pairs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from headroom.adapters.base import (
    RequestSplit,
    UnitCollector,
    arguments_text,
    content_text,
    file_path_from_arguments,
    tool_name,
)
from headroom.segments import SegmentContext

__all__ = ["OpenAIResponsesAdapter"]

_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
_CALLS = frozenset({"function_call", "custom_tool_call", "local_shell_call"})
_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output", "local_shell_call_output"})


class OpenAIResponsesAdapter:
    name: ClassVar[str] = "responses"

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
                context = SegmentContext(name, args, user_query, file_path_from_arguments(args))
                collect.content(("input", i, "output"), item.get("output"), context, "tool_result", _TEXT_PARTS)
            elif item.get("role") == "user":
                document = SegmentContext(user_query=user_query) if i != latest_user else None
                collect.content(("input", i, "content"), item.get("content"), document, "document", _TEXT_PARTS)
                user_query = content_text(item.get("content"), _TEXT_PARTS) or user_query
            elif "content" in item:
                collect.content(("input", i, "content"), item.get("content"), None, str(item.get("role")), _TEXT_PARTS)
        return collect.result()
