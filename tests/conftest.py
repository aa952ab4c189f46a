"""Test-wide settings and shared services.

The library's default CCR store goes to a temporary directory, never to the developer's
~/.local/share; a real redis-server (installed by `make test`) is started once per session for
the tests that need the shared store.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REDIS_SERVER = "/usr/bin/redis-server"

os.environ["HEADROOM_STORE"] = os.path.join(tempfile.mkdtemp(prefix="headroom-test-"), "ccr.db")


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
