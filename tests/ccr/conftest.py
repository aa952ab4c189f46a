"""CCR fixtures: a store factory over both backends (the redis-server comes from tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from headroom.ccr.base import OriginalStore
from headroom.ccr.redis_store import RedisStore
from headroom.ccr.sqlite import SqliteStore

BACKENDS = ["sqlite", "redis"]

StoreFactory = Callable[..., OriginalStore]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores of the current backend; every store a test opens sees the same data
    (same SQLite file / same Redis key prefix), so reopening can be tested."""
    opened: list[OriginalStore] = []
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""

    def factory(**options: Any) -> OriginalStore:
        store: OriginalStore
        if backend == "sqlite":
            store = SqliteStore(tmp_path / "ccr.db", **options)
        else:
            store = RedisStore(url, prefix=prefix, **options)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store_spec(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An `open_store` spec for the current backend, for tests that run child processes."""
    if backend == "sqlite":
        return f"sqlite://{tmp_path / 'ccr.db'}"
    return f"{request.getfixturevalue('redis_url')}?prefix=test:{uuid.uuid4().hex[:12]}:"
