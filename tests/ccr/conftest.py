"""CCR fixtures: a real redis-server for the session, and a store factory over both backends."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from headroom.ccr.base import OriginalStore
from headroom.ccr.redis_store import RedisStore
from headroom.ccr.sqlite import SqliteStore

REDIS_SERVER = "/usr/bin/redis-server"
BACKENDS = ["sqlite", "redis"]

StoreFactory = Callable[..., OriginalStore]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = workdir / f"redis-{port}.log"
    proc = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(workdir), "--logfile", str(log), "--daemonize", "no"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            client.ping()
            client.close()
            return proc, url
        except redis.exceptions.ConnectionError:
            time.sleep(0.02)
    proc.kill()
    proc.wait()
    detail = log.read_text() if log.exists() else ""
    raise RuntimeError(f"redis-server did not start on port {port}: {detail[-2000:]}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, no persistence, killed at the end.
    A missing binary is a failure, not a skip: `make test` installs it (scripts/ensure-redis.sh)."""
    binary = REDIS_SERVER if os.path.exists(REDIS_SERVER) else shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; run `make test` (it installs Debian's redis-server)")
    workdir = tmp_path_factory.mktemp("redis")
    last_error: Exception | None = None
    for _ in range(3):  # another process may grab the free port between probe and bind
        try:
            proc, url = _start_redis(binary, workdir)
            break
        except RuntimeError as exc:
            last_error = exc
    else:
        pytest.fail(str(last_error))
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
