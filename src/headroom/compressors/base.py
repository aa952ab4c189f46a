"""The one interface every compressor implements, and the registry the router asks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar, runtime_checkable

from headroom.segments import ContentKind, Segment

__all__ = ["Compressed", "Compressor", "all_compressors", "compressor_for", "register"]


@dataclass(frozen=True, slots=True)
class Compressed:
    """What a compressor returns.

    `lossy` is True when something was dropped: the pipeline then stores the unit's original
    under `segment.ref`, which the markers in `text` point to.
    """

    text: str
    lossy: bool = False
    notes: Mapping[str, int] = field(default_factory=dict)  # e.g. {"rows_kept": 12, "rows_dropped": 288}
    # The best *lossless* rendering, for when a lossy `text` cannot be used (store down, or it
    # saves too little): a string, or a function computing it only when needed. None means
    # the original exactly.
    lossless_text: str | Callable[[], str] | None = None

    def lossless(self, original: str) -> str:
        if self.lossless_text is None:
            return original
        return self.lossless_text() if callable(self.lossless_text) else self.lossless_text


@runtime_checkable
class Compressor(Protocol):
    """A pure, deterministic, synchronous transform of one unit.

    Contract: the same `Segment` always gives the same bytes; it may use `segment.context`
    (what came *before* the unit) but nothing else; it may raise anything — the pipeline
    catches it and keeps the original.
    """

    name: ClassVar[str]  # registry key and stats label: "json", "logs", ...
    kinds: ClassVar[frozenset[ContentKind]]  # what the router may send here
    priority: ClassVar[int]  # higher wins when two compressors claim a kind

    def compress(self, segment: Segment) -> Compressed: ...


_REGISTRY: dict[str, Compressor] = {}
C = TypeVar("C", bound=type)


def register(cls: C) -> C:
    """Class decorator: instantiate and register a compressor under its `name`."""
    instance = cls()
    _REGISTRY[instance.name] = instance
    return cls


def all_compressors() -> Mapping[str, Compressor]:
    from headroom.compressors import load_builtins

    load_builtins()
    return dict(_REGISTRY)


def compressor_for(kind: ContentKind) -> Compressor | None:
    """The highest-priority registered compressor that accepts `kind`."""
    candidates = [c for c in all_compressors().values() if kind in c.kinds]
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c.priority, c.name))
