"""Stored blob encoding: zstd when installed, zlib otherwise, raw when tiny."""

from __future__ import annotations

import pytest

from headroom.ccr import _codec
from headroom.errors import StoreError

TEXT = "GET /api/v1/users 200 12ms\n" * 500 + "lone \ud83d surrogate, é, 🚀"


def test_zstd_roundtrip() -> None:
    blob, size = _codec.encode_blob(TEXT)
    assert blob[:1] == b"s" and size == len(TEXT.encode("utf-8", "surrogatepass"))
    assert len(blob) < size // 10
    assert _codec.decode_blob(blob) == TEXT


def test_zlib_fallback_without_zstandard(monkeypatch: pytest.MonkeyPatch) -> None:
    zstd_blob, _ = _codec.encode_blob(TEXT)
    monkeypatch.setattr(_codec, "_zstd", None)
    blob, _ = _codec.encode_blob(TEXT)
    assert blob[:1] == b"z" and _codec.decode_blob(blob) == TEXT
    with pytest.raises(StoreError, match="zstandard"):
        _codec.decode_blob(zstd_blob)


def test_small_texts_stay_raw() -> None:
    for text in ("", "tiny", "x" * 127):
        blob, _ = _codec.encode_blob(text)
        assert blob[:1] == b"r" and _codec.decode_blob(blob) == text


def test_unknown_codec_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        _codec.decode_blob(b"?garbage")


def test_meta_roundtrip_is_stable() -> None:
    meta = {"session_id": "s1", "agent_id": "a\ud800", "tool": "grep"}
    assert _codec.decode_meta(_codec.encode_meta(meta)) == meta
    assert _codec.encode_meta(meta) == _codec.encode_meta(dict(reversed(meta.items())))
    assert _codec.decode_meta("not json") == {} and _codec.decode_meta(None) == {}
