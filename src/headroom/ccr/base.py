"""The CCR store interface: originals of compressed units, addressed by content hash."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["MemoryStore", "OriginalStore", "StoredOriginal"]


@dataclass(frozen=True, slots=True)
class StoredOriginal:
    ref: str
    text: str
    created_at: float = 0.0
    # Provenance: who produced the unit (agent/session ids, tool name, parent ref, ...).
    meta: dict[str, str] = field(default_factory=dict)


class OriginalStore(ABC):
    """Stores originals by ref. `put` must be durable when it returns (the marker is sent next)."""

    @abstractmethod
    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None: ...

    @abstractmethod
    def get(self, ref: str) -> StoredOriginal | None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default store holds none."""


class MemoryStore(OriginalStore):
    """In-process LRU store: for tests, the library's default when no path is configured,
    and as the last-resort fallback. Not shared across processes."""

    def __init__(self, max_items: int = 10_000) -> None:
        self._items: OrderedDict[str, StoredOriginal] = OrderedDict()
        self._max_items = max_items
        self._lock = threading.Lock()

    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None:
        with self._lock:
            if ref in self._items:
                self._items.move_to_end(ref)
                return
            self._items[ref] = StoredOriginal(ref, text, time.time(), dict(meta or {}))
            while len(self._items) > self._max_items:
                self._items.popitem(last=False)

    def get(self, ref: str) -> StoredOriginal | None:
        with self._lock:
            item = self._items.get(ref)
            if item is not None:
                self._items.move_to_end(ref)
            return item

    def __len__(self) -> int:
        return len(self._items)
