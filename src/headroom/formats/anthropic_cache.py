"""Opt-in (`--cache-align`): keep an Anthropic system prompt cacheable when it carries volatile
text (the current time, request ids, session UUIDs).

Lines with such values are moved out of the system blocks into one trailing system block, after
every system cache breakpoint; if the client set none in the system prompt and the tools leave
one to spare (the API allows 4), the last stable block gets one, whatever the messages carry
(their earliest breakpoints give way if the request would exceed 4). Tools and the stable system prompt then form a
prefix that stays byte-identical across requests, so it is read from the provider's cache even
when the clock moves. The messages' cached prefix still includes the trailing block; moving the
values any later would change earlier turns on the next request. Deterministic: the same
system prompt always aligns to the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["align_system", "is_volatile"]

_VOLATILE = re.compile(
    r"\b\d{1,2}:\d{2}(?::\d{2})?\b"  # a clock time
    r"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"  # a UUID
    r"|\b(?:req|request|trace|session|run)[_-]?id\b|\breq_[A-Za-z0-9]{8,}"  # request / trace ids
    r"|\b1[5-9]\d{8}(?:\d{3})?\b"  # unix time (s or ms)
    r"|^\s*(?:today(?:'s)? date|current (?:date|time)|the current date)\b",
    re.IGNORECASE | re.MULTILINE,
)
_MAX_BREAKPOINTS = 4


def is_volatile(line: str) -> bool:
    return _VOLATILE.search(line) is not None


def _cache_controls(value: Any) -> Iterator[None]:
    if isinstance(value, dict):
        if "cache_control" in value:
            yield None
        for child in value.values():
            yield from _cache_controls(child)
    elif isinstance(value, list):
        for child in value:
            yield from _cache_controls(child)


def align_system(request: dict[str, Any]) -> dict[str, Any] | None:
    """The request with volatile system lines moved last, or None when there is nothing to move
    (or the system prompt has a shape this does not rewrite)."""
    system = request.get("system")
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system
    if not isinstance(blocks, list) or not blocks:
        return None
    stable: list[dict[str, Any]] = []
    moved: list[str] = []
    for block in blocks:
        if not (isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)):
            stable.append(block)
            continue
        lines = block["text"].split("\n")
        keep = [line for line in lines if not is_volatile(line)]
        if len(keep) == len(lines):
            stable.append(block)
            continue
        moved += [line for line in lines if is_volatile(line)]
        text = "\n".join(keep)
        if text.strip():
            stable.append({**block, "text": text})
        elif "cache_control" in block:
            if not stable or not isinstance(stable[-1], dict):
                return None  # nowhere to keep this breakpoint
            stable[-1] = {**stable[-1], "cache_control": block["cache_control"]}
    if not moved or not stable:
        return None
    # Whether a breakpoint is added depends on the system prompt and tools only, never on the
    # messages (their breakpoints move and multiply between turns): so the system blocks are
    # the same bytes on every turn.
    has_breakpoint = any(isinstance(b, dict) and "cache_control" in b for b in stable)
    fixed = sum(1 for _ in _cache_controls(request.get("tools"))) + sum(1 for _ in _cache_controls(stable))
    added = not has_breakpoint and fixed < _MAX_BREAKPOINTS
    if added:
        stable[-1] = {**stable[-1], "cache_control": {"type": "ephemeral"}}
    aligned = [*stable, {"type": "text", "text": "\n".join(moved)}]
    if aligned == blocks:
        return None
    result = {**request, "system": aligned}
    if added:
        result["messages"] = _within_budget(request.get("messages"), _MAX_BREAKPOINTS - fixed - 1)
        if sum(1 for _ in _cache_controls(result)) > _MAX_BREAKPOINTS:  # nested ones: not ours to move
            stable[-1] = {k: v for k, v in stable[-1].items() if k != "cache_control"}
            return {**request, "system": [*stable, aligned[-1]]}
    return result


def _within_budget(messages: Any, budget: int) -> Any:
    """The messages with at most `budget` breakpoints: the client's latest ones are kept (they
    read and write its cache), earlier ones dropped. A breakpoint marks where a cache entry is
    written; it is not part of the cached text, so the prefix itself is unchanged."""
    if not isinstance(messages, list):
        return messages
    out = list(messages)
    kept = 0
    for i in range(len(out) - 1, -1, -1):
        message = out[i]
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        blocks = list(content)
        for j in range(len(blocks) - 1, -1, -1):
            block = blocks[j]
            if isinstance(block, dict) and "cache_control" in block:
                if kept < budget:
                    kept += 1
                else:
                    blocks[j] = {k: v for k, v in block.items() if k != "cache_control"}
        if blocks != content:
            out[i] = {**message, "content": blocks}
    return out
