"""Anthropic Messages: `tool_use` blocks in assistant turns, `tool_result` blocks in user turns."""

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

__all__ = ["AnthropicAdapter"]


def _human_text(content: Any) -> str:
    """What the human wrote in a user turn (text blocks only, not tool results)."""
    return content_text(content, _TEXT_BLOCKS)


_TEXT_BLOCKS = frozenset({"text"})


class AnthropicAdapter:
    name: ClassVar[str] = "anthropic"

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
                    context = SegmentContext(name, args, user_query, file_path_from_arguments(args))
                    collect.content((*path, j, "content"), block.get("content"), context, "tool_result")
                elif block.get("type") == "text":
                    collect.content((*path, j, "text"), block.get("text"), document_context, "document")
            text = _human_text(content)
            if text:
                user_query = text
        return collect.result()
