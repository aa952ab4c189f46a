"""Wire formats: the only code that knows OpenAI / Anthropic request and response shapes.

`FORMATS` maps each format's name to its `WireFormat` object (see `headroom.formats.wire`);
adding a wire API is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headroom.errors import AdapterError
from headroom.formats.anthropic import AnthropicFormat
from headroom.formats.base import RequestSplit, Unit, replace_paths
from headroom.formats.openai_chat import OpenAIChatFormat
from headroom.formats.openai_responses import OpenAIResponsesFormat
from headroom.formats.wire import Endpoint, ToolCall, ToolEvent, ToolResult, WireFormat

__all__ = [
    "FORMATS",
    "Endpoint",
    "RequestSplit",
    "ToolCall",
    "ToolEvent",
    "ToolResult",
    "Unit",
    "WireFormat",
    "adapter_for",
    "detect_format",
    "find_format",
    "format_for_provider",
    "replace_paths",
]

FORMATS: dict[str, WireFormat] = {
    "openai": OpenAIChatFormat(),
    "anthropic": AnthropicFormat(),
    "responses": OpenAIResponsesFormat(),
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


def find_format(format_name: str) -> WireFormat | None:
    """The format a name (or an alias: "chat", "claude") names; None for "auto" and unknown names."""
    return FORMATS.get(_ALIASES.get(format_name, format_name))


def adapter_for(format_name: str, request: Mapping[str, Any]) -> tuple[str, WireFormat]:
    """The format a request is in ("auto": detected from its shape) and its name. Raises
    `AdapterError` (a ValueError) for a name that is no format."""
    name = _ALIASES.get(format_name, format_name)
    if name == "auto":
        name = detect_format(request)
    if name not in FORMATS:
        raise AdapterError(f"unknown wire format {format_name!r}; use one of {sorted(FORMATS)} or 'auto'")
    return name, FORMATS[name]


def format_for_provider(provider: str) -> WireFormat:
    """The first registered format an upstream speaks: the shape of errors the proxy answers
    for that upstream on its own (a request it passes through, a path it refuses)."""
    return next(f for f in FORMATS.values() if f.provider == provider)
