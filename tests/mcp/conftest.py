"""MCP fixtures: real `headroom mcp` processes (stdio and streamable HTTP) driven by the SDK's client.

Every session helper is an async context manager yielding an initialized `ClientSession`, so one
scenario runs unchanged over both transports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import free_port

HEADROOM = str(Path(sys.executable).with_name("headroom"))
BENCH_CASES = Path("/work/shared/bench/cases")
BENCH_CASE = BENCH_CASES / "sre_incident_hadoop_mapreduce.json"
READ_TIMEOUT = 60.0  # seconds for one MCP request; a hung server fails the test instead of hanging it

SessionFactory = Callable[[], AbstractAsyncContextManager[ClientSession]]


def first_tool_output(case: Path) -> tuple[str, str]:
    """(first tool message's content, the case's question) of a bench case."""
    data = json.loads(case.read_text())
    tool = next(m for m in data["openai"]["messages"] if m["role"] == "tool")
    return tool["content"], data["question"]


@pytest.fixture(scope="session")
def bench_tool_output() -> tuple[str, str]:
    if not BENCH_CASE.is_file():
        pytest.skip(f"benchmark case {BENCH_CASE} is missing (the shared bench data is not mounted)")
    return first_tool_output(BENCH_CASE)


@asynccontextmanager
async def stdio_session(store: str, errlog_path: Path) -> AsyncIterator[ClientSession]:
    """A fresh `headroom mcp` child on stdio, as an MCP host (Claude Code, Codex, Cursor) starts it."""
    params = StdioServerParameters(command=HEADROOM, args=["mcp"], env={"HEADROOM_STORE": store})
    with errlog_path.open("a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT) as session,
        ):
            await session.initialize()
            yield session


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT) as session,
    ):
        await session.initialize()
        yield session


def start_http_server(store: str, log_path: Path, port: int) -> subprocess.Popen[bytes]:
    """`headroom mcp --port PORT`, returned once it accepts connections."""
    env = {**os.environ, "HEADROOM_STORE": store}
    with log_path.open("ab") as log:
        proc = subprocess.Popen([HEADROOM, "mcp", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"headroom mcp exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"headroom mcp did not listen on {port}: {log_path.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One HTTP server for the module: (endpoint URL, its SQLite store file)."""
    workdir = tmp_path_factory.mktemp("mcp-http")
    store = workdir / "ccr.db"
    proc = None
    for _ in range(3):  # another process may take the free port between probe and bind
        try:
            port = free_port()
            proc = start_http_server(str(store), workdir / "server.log", port)
            break
        except RuntimeError:
            continue
    if proc is None:
        pytest.fail(f"headroom mcp --port never started: {(workdir / 'server.log').read_text()[-2000:]}")
    try:
        yield f"http://127.0.0.1:{port}/mcp", store
    finally:
        stop(proc)


@pytest.fixture(params=["stdio", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(transport: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[SessionFactory, Path]:
    """(factory of connected sessions, the store file the server uses) for the current transport."""
    if transport == "http":
        url, store = request.getfixturevalue("http_server")
        return (lambda: http_session(url)), store
    store = tmp_path / "ccr.db"
    return (lambda: stdio_session(str(store), tmp_path / "server.log")), store
