"""Per-request ledger rows in each backend, retention, schema version, and the four sources
(library, CLI, proxy, MCP) in one `headroom stats`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from headroom import compress
from headroom.ccr import ledger as ledger_module
from headroom.ccr.base import OriginalStore
from headroom.ccr.ledger import RequestRecord, UnitSample, ledger_for
from headroom.ccr.open import open_store
from headroom.ccr.sqlite import SqliteStore
from headroom.mcp_server.tools import HeadroomTools
from headroom.pipeline import CompressConfig, Pipeline
from headroom.pricing import TokenCounts
from headroom.proxy import BackgroundServer
from headroom.proxy.wrap import session_summary
from headroom.savings import parse_since, report
from tests.factories import openai_request
from tests.proxy.conftest import HDFS_LOG, OPENAI_KEY, ROWS, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=["sqlite", "redis", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OriginalStore]:
    if request.param == "sqlite":
        spec = str(tmp_path / "ccr.db")
    elif request.param == "redis":
        spec = f"{request.getfixturevalue('redis_url')}?prefix=test:{uuid.uuid4().hex[:12]}:"
    else:
        spec = "memory"
    opened = open_store(spec)
    yield opened
    ledger_for(opened).close()
    opened.close()


def row(source: str, before: int, after: int, **fields: object) -> RequestRecord:
    return RequestRecord(source, before, after, **fields)  # type: ignore[arg-type]


def test_rows_round_trip_with_dollars(store: OriginalStore) -> None:
    book = ledger_for(store)
    unit = UnitSample(
        "h_0123456789ab", "messages[3].content", "logs", 9000, 4000, "kept\n[headroom: ref=h_0123456789ab]"
    )
    book.record_request(
        row(
            "proxy",
            10_000,
            5_000,
            model="claude-sonnet-4-20250514",
            provider="anthropic",
            client="claude-cli",
            compressors={"logs": (1, 9000, 4000)},
            usage=TokenCounts(1000, 9000, 0, 100),
            latency_ms=3.5,
            units=(unit,),
        )
    )
    book.record_request(row("library", 300, 100, model="no-such-model"))
    newest, oldest = book.requests()
    assert (newest.source, oldest.source) == ("library", "proxy")
    assert newest.id > oldest.id
    # Priced when recorded (the hand-computed cache-hit case of test_pricing).
    assert oldest.usd_cost == pytest.approx(0.0072) and oldest.usd_saved == pytest.approx(0.00285)
    assert oldest.usage == TokenCounts(1000, 9000, 0, 100)
    assert oldest.compressors == {"logs": (1, 9000, 4000)} and oldest.refs == ("h_0123456789ab",)
    assert newest.usd_saved is None  # unknown model: unpriced
    stored = book.unit("h_0123456789ab")
    assert stored is not None and stored.compressed == unit.compressed and stored.tokens_after == 4000
    assert book.unit("h_ffffffffffff") is None
    assert [r.source for r in book.requests(limit=1)] == ["library"]
    assert book.requests(since=time.time() + 60) == []
    assert book.totals()["proxy"].tokens_saved == 5000  # the cumulative counters too
    totals = report(book.requests())["totals"]
    assert totals["tokens_saved"] == 5200 and totals["tokens_saved_unpriced"] == 200


def test_bad_rows_are_dropped_not_raised(store: OriginalStore) -> None:
    book = ledger_for(store)
    book.record_request(row("cli", "many", 3))  # type: ignore[arg-type]  # logged, never raised
    book.record_request(row("cli", 100, 150))  # more after than before: nothing saved
    (only,) = book.requests()
    assert (only.tokens_before, only.tokens_after) == (100, 100)


def test_sqlite_retention_and_newer_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ccr.db"
    store = SqliteStore(path)
    book = ledger_for(store)
    monkeypatch.setattr(ledger_module, "MAX_REQUESTS", 3)
    old = time.time() - (ledger_module.RETENTION_DAYS + 1) * 86_400
    book.record_request(row("cli", 10, 5, at=old))
    for _ in range(4):
        book.record_request(row("cli", 10, 5))
    monkeypatch.setattr(ledger_module, "_PRUNE_EVERY", 1)
    book.record_request(row("cli", 10, 5))
    kept = book.requests()
    assert len(kept) == 3 and all(r.at > old for r in kept)
    book.close()
    with sqlite3.connect(path) as conn:  # a newer headroom wrote this file
        conn.execute("UPDATE ledger_meta SET value = 99 WHERE name = 'requests_schema'")
    newer = SqliteStore(path)
    book = ledger_for(newer)
    book.record_request(row("cli", 10, 5))  # its rows are left alone; the counters still count
    assert len(book.requests()) == 3 and book.totals()["cli"].calls == 7
    book.close()


def test_parse_since() -> None:
    now = 1_000_000.0
    assert parse_since("7d", now) == now - 7 * 86_400
    assert parse_since("12h", now) == now - 12 * 3600
    with pytest.raises(ValueError, match="7d"):
        parse_since("last tuesday", now)


def test_four_sources_in_one_headroom_stats(tmp_path: Path) -> None:
    path = tmp_path / "ccr.db"
    env = {**os.environ, "HEADROOM_STORE": str(path)}
    store = SqliteStore(path)
    # library
    messages = openai_request(HDFS_LOG)["messages"]
    assert compress(messages, pipeline=Pipeline(CompressConfig(), store)).stats.saved > 0
    # CLI
    source = tmp_path / "hdfs.log"
    source.write_text(HDFS_LOG)
    subprocess.run(
        [sys.executable, "-m", "headroom.cli.main", "compress", "-q", str(source)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    # MCP server's tool logic
    assert HeadroomTools(store).compress(HDFS_LOG).lossy
    # proxy, through the real SDK
    fake = FakeUpstream()
    with BackgroundServer(fake.app) as upstream, start_proxy(upstream.url, store=store) as proxy:
        openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0).chat.completions.create(
            **openai_request(ROWS)
        )
        proxy.state.flush_ledger()
    done = subprocess.run(
        [sys.executable, "-m", "headroom.cli.main", "stats", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(done.stdout)
    assert set(data["by_source"]) == {"library", "cli", "mcp", "proxy"}
    assert {name: s["requests"] for name, s in data["by_source"].items()} == dict.fromkeys(data["by_source"], 1), data
    assert all(s["tokens_saved"] > 0 for s in data["by_source"].values()), data["by_source"]
    assert data["totals"]["tokens_saved"] == sum(s["tokens_saved"] for s in data["by_source"].values())
    assert data["by_client"]["OpenAI/Python"]["requests"] == 1
    assert data["cache"]["requests"] == 1  # the proxy's request: the provider's usage came back
    table = subprocess.run(
        [sys.executable, "-m", "headroom.cli.main", "stats", "--since", "1d"],
        env={**env, "COLUMNS": "160"},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "by compressor" in table and "OpenAI/Python" in table and "tokens saved of" in table
    inspect = subprocess.run(
        [sys.executable, "-m", "headroom.cli.main", "inspect", "--last", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    unit = json.loads(inspect.stdout)
    assert unit["original"] in (HDFS_LOG, ROWS) and f"ref={unit['ref']}" in unit["compressed"]
    store.close()


def test_wrap_prints_the_sessions_savings(tmp_path: Path) -> None:
    fake = FakeUpstream()
    with (
        BackgroundServer(fake.app) as upstream,
        start_proxy(upstream.url, store=SqliteStore(tmp_path / "c.db")) as proxy,
    ):
        since = time.time()
        assert session_summary(proxy.url, since) == "headroom: no requests went through the proxy in this session"
        openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0).chat.completions.create(
            **openai_request(ROWS)
        )
        line = session_summary(proxy.url, since)
        (only,) = proxy.state.ledger.requests()
    assert line is not None and line.startswith(f"headroom: this session saved {only.tokens_saved:,} of ")
    assert f"net ${only.usd_saved:.4f}, over 1 requests" in line
    assert session_summary("http://127.0.0.1:9", since) is None  # no proxy there: nothing printed
