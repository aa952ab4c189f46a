"""Reading and re-writing request bodies only when the round trip is faithful.

orjson reads integers wider than 64 bits as floats (`123456789012345678901234567890` would go
out as `1.2345678901234568e+29`, corrupting a tool call's input in an earlier turn), and reads
arrays nested deeper than it can write back. Such bodies are forwarded byte for byte instead.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["dumps", "parse"]

# Any integer outside the 64-bit range has at least 19 digits; a run of 19 digits anywhere
# (often inside a string) only triggers the exact check below, it never rejects by itself.
_LONG_DIGITS = re.compile(rb"\d{19}")
_SAFE = float(2**63)  # past it a float may have been an integer literal orjson could not hold


def _has_wide_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if abs(item) >= _SAFE:
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse(body: bytes, content_type: str) -> tuple[dict[str, Any] | None, str | None]:
    """The body as a JSON object the proxy may rewrite, or None; with the reason a JSON object
    was refused ("wide_int"), for the fail-open counter."""
    if content_type and "json" not in content_type.lower():
        return None, None  # not ours to read: forwarded as sent
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    if _LONG_DIGITS.search(body) is not None and _has_wide_float(data):
        return None, "wide_int"
    return data, None


def dumps(data: Any) -> bytes | None:
    """`orjson.dumps`, or None when it cannot write the value (nested past its recursion limit)."""
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
