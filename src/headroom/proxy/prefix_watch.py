"""Noticing a cache break headroom caused: bytes the provider had cached that headroom sent
differently this turn (e.g. a pasted document compressed on its second turn, with
--compress-user-documents). The client's own edits are not breaks of ours.

Per conversation (model + the request's head: system, tools, first message), the digests of the
items (messages / input items) as the client sent them and as headroom sent them are kept. On
the next turn, where the client's items still match the last turn's but headroom's do not,
headroom changed a cached prefix: the provider re-reads (OpenAI) or re-writes (Anthropic) from
there. The share of the sent bytes from that point to where the client's prefix ends, within
everything sent from that point, estimates the share of the uncached prompt the break cost.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson

__all__ = ["PrefixWatch"]

_ITEM_KEYS = ("messages", "input")


def _items(request: dict[str, Any]) -> list[Any]:
    for key in _ITEM_KEYS:
        items = request.get(key)
        if isinstance(items, list):
            return items
    return []


def _dump(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return repr(value).encode()


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _head(request: dict[str, Any]) -> bytes:
    """Everything but the items, as one block (system prompt, tools...)."""
    return _dump({k: v for k, v in sorted(request.items()) if k not in _ITEM_KEYS and k != "stream"})


def _common(a: Sequence[bytes], b: Sequence[bytes]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PrefixWatch:
    def __init__(self, max_conversations: int = 2048) -> None:
        self._seen: OrderedDict[bytes, tuple[list[bytes], list[bytes]]] = OrderedDict()
        self._max = max_conversations
        self._lock = threading.Lock()

    def broken_share(self, original: dict[str, Any], sent: dict[str, Any]) -> float:
        """The share (0..1) of this turn's uncached prompt due to headroom changing bytes it had
        sent differently on the conversation's last turn; remembers this turn."""
        original_items, sent_items = _items(original), _items(sent)
        client = [_digest(_head(original)), *(_digest(_dump(item)) for item in original_items)]
        sent_dumps = [_head(sent), *(_dump(item) for item in sent_items)]
        ours = [_digest(d) for d in sent_dumps]
        key = _digest(_dump(original.get("model")) + client[0] + (client[1] if len(client) > 1 else b""))
        with self._lock:
            previous = self._seen.get(key)
            self._seen[key] = (client, ours)
            self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
        if previous is None:
            return 0.0
        stable = _common(client, previous[0])  # the client's prefix, unchanged since last turn
        kept = _common(ours, previous[1])  # what we sent the same way as last turn
        if kept >= stable:
            return 0.0
        broken = sum(len(d) for d in sent_dumps[kept:stable])
        uncached = sum(len(d) for d in sent_dumps[kept:])
        return broken / uncached if uncached else 0.0
