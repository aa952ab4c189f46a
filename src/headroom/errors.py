"""The few error classes headroom raises. Content problems never raise: they fall back."""

from __future__ import annotations

__all__ = ["AdapterError", "CompressorError", "HeadroomError", "StoreError"]


class HeadroomError(Exception):
    """Base class for every error headroom raises on purpose."""


class AdapterError(HeadroomError, ValueError):
    """A request could not be split into units: its wire format is unknown (a ValueError too)."""


class CompressorError(HeadroomError):
    """A compressor could not handle its input; the pipeline keeps the original.

    A compressor may raise it to decline a unit; the pipeline raises it (and catches it) for
    any error of a compressor, naming the compressor and the underlying `cause`."""

    def __init__(self, message: str, *, compressor: str = "", cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.compressor = compressor
        self.cause: BaseException = cause if cause is not None else self


class StoreError(HeadroomError):
    """The CCR store is unavailable; the pipeline falls back to lossless compression."""
