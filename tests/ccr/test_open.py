"""open_store(spec): HEADROOM_STORE values to stores (opening never connects)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.open import default_store_path, open_store, parse_size, parse_ttl
from headroom.ccr.redis_store import DEFAULT_REDIS_MAX_BYTES, RedisStore
from headroom.ccr.sqlite import DEFAULT_MAX_BYTES, DEFAULT_TTL_SECONDS, SqliteStore


def test_default_is_sqlite_under_xdg_data_home(tmp_path: Path) -> None:
    for spec in (None, "", "  "):
        store = open_store(spec, environ={"XDG_DATA_HOME": str(tmp_path)})
        assert isinstance(store, SqliteStore)
        assert store.path == tmp_path / "headroom" / "ccr.db"
        assert (store.ttl_seconds, store.max_bytes) == (DEFAULT_TTL_SECONDS, DEFAULT_MAX_BYTES)


def test_default_without_xdg_is_under_home() -> None:
    assert default_store_path({}) == Path.home() / ".local" / "share" / "headroom" / "ccr.db"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("sqlite:///var/lib/headroom/ccr.db", "/var/lib/headroom/ccr.db"),
        ("sqlite:////var/lib/headroom/ccr.db", "/var/lib/headroom/ccr.db"),
        ("sqlite://relative/ccr.db", "relative/ccr.db"),
        ("/srv/ccr.db", "/srv/ccr.db"),
        ("ccr.db", "ccr.db"),
        ("file:///srv/ccr.db", "/srv/ccr.db"),
    ],
)
def test_sqlite_specs(spec: str, expected: str) -> None:
    store = open_store(spec, environ={})
    assert isinstance(store, SqliteStore)
    assert store.path == Path(expected)


def test_home_is_expanded() -> None:
    store = open_store("~/ccr.db", environ={})
    assert isinstance(store, SqliteStore) and store.path == Path.home() / "ccr.db"


def test_memory() -> None:
    assert isinstance(open_store("memory", environ={}), MemoryStore)


def test_redis_spec_with_options_does_not_connect() -> None:
    store = open_store("redis://:secret@127.0.0.1:1/3?prefix=team:&ttl=2h&max_size=64MB", environ={})
    assert isinstance(store, RedisStore)
    assert store.prefix == "team:" and store.ttl_seconds == 7200 and store.max_bytes == 64 << 20
    assert "secret" not in repr(store)
    plain = open_store("rediss://cache.internal:6380/0", environ={})
    assert isinstance(plain, RedisStore) and plain.max_bytes == DEFAULT_REDIS_MAX_BYTES


def test_limits_from_query_environment_and_arguments(tmp_path: Path) -> None:
    env = {"HEADROOM_STORE_TTL": "1d", "HEADROOM_STORE_MAX_SIZE": "10MB"}
    db = str(tmp_path / "ccr.db")
    from_env = open_store(db, environ=env)
    assert isinstance(from_env, SqliteStore)
    assert (from_env.ttl_seconds, from_env.max_bytes) == (86400, 10 << 20)
    from_query = open_store(f"{db}?ttl=30m&max_size=none", environ=env)
    assert isinstance(from_query, SqliteStore)
    assert (from_query.ttl_seconds, from_query.max_bytes) == (1800, None)
    from_args = open_store(f"{db}?ttl=30m", ttl_seconds=None, max_bytes=4096, environ=env)
    assert isinstance(from_args, SqliteStore)
    assert (from_args.ttl_seconds, from_args.max_bytes) == (None, 4096)


@pytest.mark.parametrize("spec", ["mongodb://db/x", "sqlite://", "s3://bucket/key"])
def test_bad_specs_are_value_errors(spec: str) -> None:
    with pytest.raises(ValueError):
        open_store(spec, environ={})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600), ("90m", 5400), ("12h", 43200), ("7d", 604800), ("1.5 hours", 5400), ("0", None), ("never", None)],
)
def test_parse_ttl(text: str, seconds: float | None) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1 << 20), ("512MB", 512 << 20), ("1g", 1 << 30), ("2GiB", 2 << 30), ("100k", 102400), ("0", None)],
)
def test_parse_size(text: str, size: int | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["soon", "5 parsecs", "-1d", ""])
def test_bad_durations_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ttl(text)


@pytest.mark.parametrize("text", ["lots", "12 furlongs", "-5MB", ""])
def test_bad_sizes_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)
