"""The one interface every compressor implements, and the registry the router asks."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from headroom.segments import ContentKind, Segment

__all__ = [
    "Compressed",
    "Compressor",
    "Registration",
    "Registry",
    "Sniffer",
    "all_compressors",
    "compressor_for",
    "default_registry",
    "register",
]


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
    # Texts the markers in `text` cite besides the original, by ref: a rendering of the unit (an
    # HTML page's Markdown) whose lines the markers name. The pipeline stores them beside the
    # original, so `retrieve(ref, lines=...)` returns the lines the model saw.
    derived: Mapping[str, str] = field(default_factory=dict)

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


@runtime_checkable
class PartsCompressor(Compressor, Protocol):
    """A compressor that also takes several parts of one unit in one call (the stretches of
    prose between a markdown document's fenced blocks): one budget and one pass of its model
    for all of them, instead of one per part. Same contract per part as `compress`."""

    def compress_parts(self, segments: Sequence[Segment]) -> list[Compressed]: ...


Sniffer = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Registration:
    """A compressor class as registered: what it is, and how the router recognises its kind."""

    cls: type
    sniffer: Sniffer | None = None  # a cheap test on the head of a unit: "is this my kind?"
    sniff_rank: int = 0  # sniffers run lowest rank first (a diff before a search before logs)


_CLASSES: dict[str, Registration] = {}
C = TypeVar("C", bound=type)


def register(cls: C | None = None, *, sniffer: Sniffer | None = None, sniff_rank: int = 0) -> Any:
    """Class decorator: register a compressor class under its `name` (instances are built per
    `Registry`, with that registry's options). `sniffer` lets the router detect the class's kind
    in plain text; `@register` alone suits kinds found otherwise (JSON parses, code has a language)."""

    def record(klass: C) -> C:
        _CLASSES[klass.name] = Registration(klass, sniffer, sniff_rank)  # type: ignore[attr-defined]
        return klass

    return record if cls is None else record(cls)


class Registry:
    """The compressors one pipeline uses, each built once with its options.

    `options` maps a compressor's name to its options object (`{"prose": ProseOptions(learned=False)}`);
    compressors that hand parts of a unit to others (a JSON page's records, a markdown document's
    fenced blocks) take the registry they were built in, so those parts get the same options.
    """

    def __init__(self, options: Mapping[str, object] | None = None) -> None:
        self.options: dict[str, object] = dict(options or {})
        unknown = sorted(set(self.options) - set(_CLASSES))
        if unknown:
            raise ValueError(f"options for unknown compressors {unknown}; registered: {sorted(_CLASSES)}")
        self.registrations = dict(_CLASSES)
        self._compressors: dict[str, Compressor] = {
            name: self._build(registration.cls, self.options.get(name)) for name, registration in _CLASSES.items()
        }
        # A registry never changes once built: what the router asks for every unit is worked out here.
        self._by_kind: dict[ContentKind, Compressor] = {}
        for kind in ContentKind:
            candidates = [c for c in self._compressors.values() if kind in c.kinds]
            if candidates:
                self._by_kind[kind] = max(candidates, key=lambda c: (c.priority, c.name))
        ranked = sorted((r.sniff_rank, name, r.sniffer) for name, r in _CLASSES.items() if r.sniffer is not None)
        self._sniffers: tuple[tuple[ContentKind, Sniffer], ...] = tuple(
            (kind, sniffer)
            for _, name, sniffer in ranked
            if sniffer is not None
            for kind in sorted(self._compressors[name].kinds, key=lambda k: k.value)
        )

    def _build(self, cls: type, options: object | None) -> Compressor:
        parameters = inspect.signature(cls).parameters
        arguments: dict[str, object] = {}
        if options is not None:
            if "options" not in parameters:
                raise ValueError(f"compressor {cls.__name__} takes no options")
            arguments["options"] = options
        if "registry" in parameters:
            arguments["registry"] = self
        compressor: Compressor = cls(**arguments)
        return compressor

    def all(self) -> Mapping[str, Compressor]:
        return dict(self._compressors)

    def for_kind(self, kind: ContentKind) -> Compressor | None:
        """The highest-priority compressor that accepts `kind`."""
        return self._by_kind.get(kind)

    def sniffers(self) -> tuple[tuple[ContentKind, Sniffer], ...]:
        """(kind, sniffer) of every compressor that has one, in the order the router tries them."""
        return self._sniffers


_DEFAULT: list[Registry] = []
_DEFAULT_LOCK = threading.Lock()


def default_registry() -> Registry:
    """The registry with every compressor's default options (library calls without a config)."""
    with _DEFAULT_LOCK:
        if not _DEFAULT or set(_DEFAULT[0].registrations) != set(_CLASSES):  # a compressor registered since
            _DEFAULT[:] = [Registry()]
        return _DEFAULT[0]


def all_compressors() -> Mapping[str, Compressor]:
    return default_registry().all()


def compressor_for(kind: ContentKind) -> Compressor | None:
    """The highest-priority compressor of the default registry that accepts `kind`."""
    return default_registry().for_kind(kind)
