"""`headroom mcp` options: --store (a Redis store shared by another process), bad specs, --help."""

from __future__ import annotations

import subprocess
import uuid

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from headroom.ccr.ledger import ledger_for
from headroom.ccr.open import open_store
from headroom.ccr.retrieval import retrieve
from tests.mcp.conftest import HEADROOM, READ_TIMEOUT


def test_help_names_the_transports_and_the_store() -> None:
    result = subprocess.run([HEADROOM, "mcp", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--port", "--host", "--store", "HEADROOM_STORE"):
        assert option in result.stdout


def test_a_bad_store_spec_is_a_usage_error() -> None:
    result = subprocess.run(
        [HEADROOM, "mcp", "--store", "mongodb://db:27017/x"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "unknown store" in result.stderr


def test_store_option_selects_a_shared_redis_store(redis_url: str) -> None:
    spec = f"{redis_url}?prefix=mcp-test:{uuid.uuid4().hex[:10]}:"
    log = "".join(f"2024-01-01 00:00:{i % 60:02d} WARN disk {i % 3} at {80 + i % 5}%\n" for i in range(400))
    params = StdioServerParameters(command=HEADROOM, args=["mcp", "--store", spec])

    async def scenario() -> tuple[str, dict[str, object]]:
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT) as session,
        ):
            await session.initialize()
            made = await session.call_tool("headroom_compress", {"content": log})
            assert not made.is_error and made.structured_content is not None
            stats = await session.call_tool("headroom_stats", {})
            assert stats.structured_content is not None
            return str(made.structured_content["ref"]), stats.structured_content

    ref, stats = anyio.run(scenario)
    assert stats["store"]["backend"] == "redis"  # type: ignore[index]
    assert stats["by_source"]["mcp"]["calls"] == 1  # type: ignore[index]
    store = open_store(spec)  # another process (the proxy, say) sees the same original and ledger
    try:
        assert retrieve(store, ref).text == log
        assert ledger_for(store).totals()["mcp"].calls == 1
    finally:
        ledger_for(store).close()
        store.close()
