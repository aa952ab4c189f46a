"""Picks the registered compressor for a unit. It never compresses anything itself."""

from __future__ import annotations

from headroom.compressors.base import Compressor, Registry, default_registry
from headroom.segments import ContentKind

__all__ = ["NEVER_COMPRESSED", "route"]

# Content that must reach the model exactly as it is.
NEVER_COMPRESSED = frozenset({ContentKind.BINARY, ContentKind.COMPRESSED})

# When no compressor claims a kind (an optional extra is not installed, a compressor left out of
# a registry), the next best: a page of a JSON file reads as prose; everything else as text.
_FALLBACK = {ContentKind.JSON_PAGE: ContentKind.PROSE}


def route(kind: ContentKind, *, json_text: bool = False, registry: Registry | None = None) -> Compressor | None:
    """The compressor for `kind` in `registry` (default: every registered one); JSON search-hit
    lists fall back to the JSON compressor."""
    if kind in NEVER_COMPRESSED:
        return None
    compressors = registry or default_registry()
    compressor = compressors.for_kind(kind)
    if compressor is None and json_text:
        compressor = compressors.for_kind(ContentKind.JSON)
    while compressor is None and kind != ContentKind.TEXT:
        kind = _FALLBACK.get(kind, ContentKind.TEXT)
        compressor = compressors.for_kind(kind)
    return compressor
