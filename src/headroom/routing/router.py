"""Picks the registered compressor for a unit. It never compresses anything itself."""

from __future__ import annotations

from headroom.compressors.base import Compressor, compressor_for
from headroom.segments import ContentKind

__all__ = ["NEVER_COMPRESSED", "route"]

# Content that must reach the model exactly as it is.
NEVER_COMPRESSED = frozenset({ContentKind.BINARY, ContentKind.COMPRESSED})

# When no compressor claims a kind (an optional extra is not installed), the next best one.
_FALLBACK = {
    ContentKind.SEARCH: ContentKind.TEXT,
    ContentKind.LOGS: ContentKind.TEXT,
    ContentKind.JSON_PAGE: ContentKind.PROSE,
    ContentKind.TABLE: ContentKind.TEXT,
    ContentKind.PATHS: ContentKind.TEXT,
    ContentKind.CODE: ContentKind.TEXT,
    ContentKind.DIFF: ContentKind.TEXT,
    ContentKind.PROSE: ContentKind.TEXT,
    ContentKind.MIXED: ContentKind.TEXT,
}


def route(kind: ContentKind, *, json_text: bool = False) -> Compressor | None:
    """The compressor for `kind`; JSON search-hit lists fall back to the JSON compressor."""
    if kind in NEVER_COMPRESSED:
        return None
    compressor = compressor_for(kind)
    if compressor is None and json_text:
        compressor = compressor_for(ContentKind.JSON)
    while compressor is None and kind in _FALLBACK:
        kind = _FALLBACK[kind]
        compressor = compressor_for(kind)
    return compressor
