"""Blob and metadata encoding shared by the persistent CCR stores.

A stored blob is one codec byte followed by the payload, so a store written with zstd
stays readable (or fails with a clear error) wherever it is opened, and tiny originals
are not inflated by a compression frame. Text is encoded with ``surrogatepass`` because
tool outputs decoded from JSON may hold lone surrogates, and the original must come back
byte-for-byte (the same encoding `content_ref` hashes).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from headroom.errors import StoreError

try:  # zstd is faster and smaller than zlib; the stdlib fallback keeps the store usable without it.
    import zstandard as _zstd
except ImportError:  # pragma: no cover - zstandard is a core dependency
    _zstd = None  # type: ignore[assignment]

__all__ = ["decode_blob", "decode_meta", "encode_blob", "encode_meta"]

_RAW, _ZLIB, _ZSTD = b"r", b"z", b"s"
# Below this size a compression frame costs more than it saves.
_MIN_COMPRESS = 128
_ZSTD_LEVEL = 3
_ZLIB_LEVEL = 6


def encode_blob(text: str) -> tuple[bytes, int]:
    """The stored blob and the size of the original in UTF-8 bytes."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) < _MIN_COMPRESS:
        return _RAW + data, len(data)
    if _zstd is not None:
        packed = _ZSTD + _zstd.ZstdCompressor(level=_ZSTD_LEVEL).compress(data)
    else:
        packed = _ZLIB + zlib.compress(data, _ZLIB_LEVEL)
    # Incompressible data (already-compressed, random ids) is kept raw.
    return (packed if len(packed) < len(data) + 1 else _RAW + data), len(data)


def decode_blob(blob: bytes) -> str:
    codec, payload = blob[:1], blob[1:]
    if codec == _RAW:
        data = payload
    elif codec == _ZSTD:
        if _zstd is None:
            raise StoreError("stored original is zstd-compressed; install the 'zstandard' package")
        data = _zstd.ZstdDecompressor().decompress(payload)
    elif codec == _ZLIB:
        data = zlib.decompress(payload)
    else:
        raise StoreError(f"stored original has an unknown codec byte {codec!r}")
    return data.decode("utf-8", "surrogatepass")


def encode_meta(meta: dict[str, str] | None) -> str:
    # The stdlib encoder escapes lone surrogates (orjson rejects them); keys sorted for stable bytes.
    return json.dumps({str(k): str(v) for k, v in (meta or {}).items()}, sort_keys=True)


def decode_meta(raw: str | bytes | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value: Any = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
