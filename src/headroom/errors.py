"""The few error classes headroom raises. Content problems never raise: they fall back."""

from __future__ import annotations

__all__ = ["AdapterError", "CompressorError", "HeadroomError", "StoreError"]


class HeadroomError(Exception):
    """Base class for every error headroom raises on purpose."""


class AdapterError(HeadroomError):
    """A request could not be split into units (unknown wire format)."""


class CompressorError(HeadroomError):
    """A compressor could not handle its input; the pipeline keeps the original."""


class StoreError(HeadroomError):
    """The CCR store is unavailable; the pipeline falls back to lossless compression."""
