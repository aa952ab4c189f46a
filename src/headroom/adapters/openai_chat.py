"""OpenAI Chat Completions: `messages` with `role: tool` results and assistant `tool_calls`."""

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

__all__ = ["OpenAIChatAdapter"]


class OpenAIChatAdapter:
    name: ClassVar[str] = "openai"

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
                context = SegmentContext(name, args, user_query, file_path_from_arguments(args))
                collect.content(path, content, context, "tool_result")
            elif role == "user":
                # The latest user turn is never altered; earlier large user documents may be.
                document = SegmentContext(user_query=user_query) if i != latest_user else None
                collect.content(path, content, document, "document")
                user_query = content_text(content) or user_query  # an image-only turn keeps the last question
            else:  # system, developer, unknown roles: never altered
                if role not in ("system", "developer"):
                    collect.note(f"messages[{i}]: unknown role {str(role)[:40]!r} left untouched")
                collect.content(path, content, None, str(role))
        return collect.result()
