"""Units the proxy once sent whole stay whole.

A request whose compression timed out or failed goes upstream as the client sent it. The next
turn of that conversation repeats those units; compressed there (the abandoned job may have
finished and cached them meanwhile), they would change bytes the provider already cached, a
cache miss from that message on. So the units of a fail-open request are remembered (bounded,
oldest forgotten first) and protected from compression on later turns.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from headroom.formats import Unit, adapter_for

__all__ = ["SentWhole"]


def _key(unit: Unit) -> bytes:
    # The text and everything a compressor may read besides it: the same unit in the same place
    # of the conversation compresses the same way, so it is the same decision.
    digest = hashlib.blake2b(digest_size=16)
    context = unit.context
    for part in (unit.text, context.tool_name, context.tool_arguments, context.user_query, context.file_path):
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.digest()


class SentWhole:
    def __init__(self, max_items: int = 50_000) -> None:
        self.max_items = max_items
        self._keys: OrderedDict[bytes, int] = OrderedDict()  # key -> the unit's text length
        self._lengths: Counter[int] = Counter()  # cheap pre-check: no hashing for most units
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def remember(self, request: Mapping[str, Any], format_name: str, min_chars: int) -> int:
        """Remember every unit of a request that went out unchanged; returns how many."""
        try:
            _, wire_format = adapter_for(format_name, request)
            units = wire_format.split(request, min_chars=min_chars).units
        except Exception:  # a request its format cannot read is never compressed anyway
            return 0
        return self.remember_units(units)

    def remember_units(self, units: Iterable[Unit]) -> int:
        """Remember these units as sent whole; returns how many."""
        keys = [(_key(unit), len(unit.text)) for unit in units]
        with self._lock:
            for key, length in keys:
                if key in self._keys:
                    self._keys.move_to_end(key)
                    continue
                self._keys[key] = length
                self._lengths[length] += 1
            while len(self._keys) > self.max_items:
                _, length = self._keys.popitem(last=False)
                self._lengths[length] -= 1
                if not self._lengths[length]:
                    del self._lengths[length]
        return len(keys)

    def __contains__(self, unit: Unit) -> bool:
        if len(unit.text) not in self._lengths:
            return False
        key = _key(unit)
        with self._lock:
            return key in self._keys
