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

# Any integer outside the 64-bit range has at least 19 digits: a float that large is refused
# only when the body also has such a digit run (a literal 1e300 is a float, not a wide int).
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
    # The walk over the parsed value is microseconds; the regex over the raw body costs ~3 ms
    # per 300 KB, so it only confirms the rare float that could have been a wide integer.
    if _has_wide_float(data) and _LONG_DIGITS.search(body) is not None:
        return None, "wide_int"
    return data, None


def dumps(data: Any) -> bytes | None:
    """`orjson.dumps`, or None when it cannot write the value (nested past its recursion limit)."""
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
