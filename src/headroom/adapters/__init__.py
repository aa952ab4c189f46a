"""Wire-format adapters: the only code that knows OpenAI / Anthropic request shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headroom.adapters.anthropic import AnthropicAdapter
from headroom.adapters.base import FormatAdapter, RequestSplit, Unit, replace_paths
from headroom.adapters.openai_chat import OpenAIChatAdapter
from headroom.adapters.openai_responses import OpenAIResponsesAdapter

__all__ = [
    "FORMATS",
    "FormatAdapter",
    "RequestSplit",
    "Unit",
    "adapter_for",
    "detect_format",
    "replace_paths",
]

FORMATS: dict[str, FormatAdapter] = {
    "openai": OpenAIChatAdapter(),
    "anthropic": AnthropicAdapter(),
    "responses": OpenAIResponsesAdapter(),
}
_ALIASES = {"auto": "auto", "chat": "openai", "openai_chat": "openai", "claude": "anthropic"}

_ANTHROPIC_BLOCKS = frozenset(
    {"tool_use", "tool_result", "thinking", "redacted_thinking", "document", "server_tool_use"}
)
_OPENAI_PARTS = frozenset({"image_url", "input_audio", "refusal"})
_RESPONSES_ITEMS = frozenset(
    {
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "reasoning",
        "message",
        "local_shell_call",
        "local_shell_call_output",
    }
)


def detect_format(request: Mapping[str, Any]) -> str:
    """'openai', 'anthropic' or 'responses' from the request's shape (string-only chats are
    identical in both chat formats, so they default to 'openai')."""
    if "input" in request and "messages" not in request:
        return "responses"
    if "system" in request:
        return "anthropic"
    messages = request.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        if _name(message.get("type")) in _RESPONSES_ITEMS:
            return "responses"
        if _name(message.get("role")) in ("tool", "function", "system", "developer") or "tool_calls" in message:
            return "openai"
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            kind = _name(block.get("type")) if isinstance(block, dict) else ""
            if kind in _ANTHROPIC_BLOCKS or (kind == "image" and "source" in block):
                return "anthropic"
            if kind in _OPENAI_PARTS:
                return "openai"
    return "openai"


def _name(value: Any) -> str:
    """A type/role field as a string ("" for anything else: lists, numbers, null)."""
    return value if isinstance(value, str) else ""


def adapter_for(provider: str, request: Mapping[str, Any]) -> tuple[str, FormatAdapter]:
    name = _ALIASES.get(provider, provider)
    if name == "auto":
        name = detect_format(request)
    if name not in FORMATS:
        raise ValueError(f"unknown provider format {provider!r}; use one of {sorted(FORMATS)} or 'auto'")
    return name, FORMATS[name]
