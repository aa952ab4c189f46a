"""What `compress()` returns: the messages (a real list) plus typed, frozen stats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CompressResult", "CompressStats", "CompressedRequest", "TransformStats", "UnitReport"]


@dataclass(frozen=True, slots=True)
class UnitReport:
    """What happened to one unit. Never holds the unit's text (stats may be logged)."""

    location: str  # e.g. "messages[3].content"
    kind: str
    compressor: str
    tokens_before: int
    tokens_after: int
    ref: str | None = None  # set when the original was stored (lossy compression)
    diagnostic: str | None = None
    time_ms: float = 0.0
    notes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransformStats:
    name: str
    units: int
    tokens_before: int
    tokens_after: int

    @property
    def saved(self) -> int:
        return self.tokens_before - self.tokens_after


@dataclass(frozen=True)
class CompressStats:
    """Token counts are exact o200k_base (or cl100k_base) counts of every text the model reads:
    message text, tool results and tool-call arguments. Claude requests are counted with
    o200k_base too, since Anthropic's tokenizer is not public."""

    tokens_before: int
    tokens_after: int
    time_ms: float
    format: str
    tokenizer: str
    transforms: Mapping[str, TransformStats] = field(default_factory=dict)
    units: tuple[UnitReport, ...] = ()
    diagnostics: tuple[str, ...] = ()

    @property
    def saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def ratio(self) -> float:
        """tokens_after / tokens_before (1.0 = nothing saved)."""
        return self.tokens_after / self.tokens_before if self.tokens_before else 1.0

    @property
    def savings_percent(self) -> float:
        return 100.0 * (1.0 - self.ratio)

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(u.ref for u in self.units if u.ref)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(saved=self.saved, ratio=round(self.ratio, 4), refs=list(self.refs))
        return data

    def __str__(self) -> str:
        parts = ", ".join(f"{t.name} -{t.saved}" for t in self.transforms.values() if t.saved)
        return (
            f"{self.tokens_before} -> {self.tokens_after} tokens ({self.savings_percent:.1f}% saved"
            f"{'; ' + parts if parts else ''}) in {self.time_ms:.1f} ms"
        )


class CompressResult(list):  # type: ignore[type-arg]
    """The compressed messages: a plain `list`, so `messages=result` works with any SDK."""

    stats: CompressStats

    def __init__(self, messages: list[Any], stats: CompressStats) -> None:
        super().__init__(messages)
        self.stats = stats


@dataclass(frozen=True)
class CompressedRequest:
    """A whole compressed request (system, tools, messages...) for `compress_request`."""

    request: dict[str, Any]
    stats: CompressStats
