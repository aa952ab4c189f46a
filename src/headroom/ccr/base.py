"""The CCR store interface: originals of compressed units, addressed by content hash."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field

from headroom.segments import LONG_REF_BYTES, content_ref, ref_matches

__all__ = [
    "MAX_PRODUCERS",
    "MemoryStore",
    "OriginalStore",
    "StoreStats",
    "StoredOriginal",
    "get_verified",
    "put_original",
]


@dataclass(frozen=True, slots=True)
class StoredOriginal:
    ref: str
    text: str
    created_at: float = 0.0
    # Provenance: who produced the unit (agent/session ids, tool name, parent ref, ...).
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What `headroom store stats` shows. Sizes are of the stored (compressed) blobs."""

    backend: str
    location: str
    items: int
    stored_bytes: int
    max_bytes: int | None = None
    ttl_seconds: float | None = None


MAX_PRODUCERS = 100  # producers remembered per original (newest kept)
_PRODUCERS_LOCK = threading.Lock()


class OriginalStore(ABC):
    """Stores originals by ref. `put` must be durable when it returns (the marker is sent next)."""

    @abstractmethod
    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None: ...

    @abstractmethod
    def get(self, ref: str) -> StoredOriginal | None: ...

    def add_producer(self, ref: str, meta: dict[str, str]) -> None:
        """Record one more producer of the original under `ref` (agent, session, tool...); the
        time is added here. Backends that share the store across processes keep these too; this
        default keeps them in the process."""
        record = {**meta, "at": f"{time.time():.6f}"}
        with _PRODUCERS_LOCK:
            kept = self.__dict__.setdefault("_producers_in_process", {}).setdefault(ref, [])
            kept.insert(0, record)
            del kept[MAX_PRODUCERS:]

    def producers(self, ref: str) -> list[dict[str, str]]:
        """Every producer recorded for `ref`, newest first (at most MAX_PRODUCERS)."""
        with _PRODUCERS_LOCK:
            return [dict(r) for r in self.__dict__.get("_producers_in_process", {}).get(ref, [])]

    def stats(self) -> StoreStats:
        """Counts for `headroom store stats`; backends override with real numbers."""
        return StoreStats(backend=type(self).__name__, location="", items=0, stored_bytes=0)

    def prune(self) -> int:
        """Drop expired originals and enforce the size cap now; returns how many were removed."""
        return 0

    def check_writable(self) -> None:  # noqa: B027 - in-process stores need no check
        """Raise StoreError unless this store can take a write now (`headroom doctor`). Leaves
        the originals as they were; an in-process store always can."""

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

    def stats(self) -> StoreStats:
        with self._lock:
            size = sum(len(item.text.encode("utf-8", "surrogatepass")) for item in self._items.values())
            return StoreStats("memory", "in-process", len(self._items), size)

    def __len__(self) -> int:
        return len(self._items)


def put_original(store: OriginalStore, ref: str, text: str, meta: dict[str, str] | None = None) -> str:
    """Store `text` under `ref` (its content address) and return the ref it can be fetched by.

    A ref must only ever return the content it was issued for. Refs are short (48 bits), so two
    originals can share one, by chance or on purpose in a shared store; and a stored blob can
    rot. So what is already stored under `ref` is compared first: when it is other content, the
    original goes under its long ref (128 bits) instead, and the caller's markers must cite that."""
    existing = store.get(ref)
    if existing is not None and existing.text != text:
        ref = content_ref(text, LONG_REF_BYTES)
        existing = store.get(ref)
        if existing is not None and existing.text != text:  # a 128-bit collision, or a rotten blob
            raise ValueError(f"ref {ref} already holds other content")
    store.put(ref, text, meta)
    return ref


def get_verified(store: OriginalStore, ref: str) -> StoredOriginal | None:
    """What `store` holds under `ref`, only if it is the content the ref addresses: a changed
    (corrupt or swapped) blob is treated as missing, never returned as that ref's original."""
    stored = store.get(ref)
    if stored is None or not ref_matches(ref, stored.text):
        return None
    return stored
