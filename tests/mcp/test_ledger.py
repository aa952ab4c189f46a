"""The savings ledger beside the CCR store (SQLite table, Redis hash, in-process), shared by processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headroom.api import default_store
from headroom.ccr import ledger
from headroom.ccr.base import MemoryStore, OriginalStore
from headroom.ccr.ledger import MemoryLedger, RedisLedger, SqliteLedger, ledger_for
from headroom.ccr.open import open_store
from headroom.ccr.redis_store import RedisStore
from headroom.ccr.sqlite import SqliteStore
from headroom.errors import StoreError
from headroom.segments import content_ref


@pytest.fixture(params=["sqlite", "redis", "memory"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ccr.db")
    if request.param == "redis":
        return f"{request.getfixturevalue('redis_url')}?prefix=test:{uuid.uuid4().hex[:12]}:"
    return "memory"


@pytest.fixture
def store(spec: str) -> Iterator[OriginalStore]:
    opened = open_store(spec)
    yield opened
    ledger_for(opened).close()
    opened.close()


def test_counts_per_source(store: OriginalStore) -> None:
    book = ledger_for(store)
    assert book is ledger_for(store)  # one ledger (one connection) per store
    assert isinstance(
        book, {SqliteStore: SqliteLedger, RedisStore: RedisLedger, MemoryStore: MemoryLedger}[type(store)]
    )
    assert book.totals() == {}
    book.record("proxy", 12_000, 3_000)
    book.record("proxy", 8_000, 1_000)
    book.record("mcp", 500, 100)
    totals = book.totals()
    assert list(totals) == ["mcp", "proxy"]
    proxy = totals["proxy"]
    assert (proxy.calls, proxy.tokens_before, proxy.tokens_after, proxy.tokens_saved) == (2, 20_000, 4_000, 16_000)
    assert proxy.savings_percent == 80.0 and 0 < proxy.first_at <= proxy.last_at
    assert ledger.totals(store)["mcp"] == {**totals["mcp"].as_dict(), "tokens_saved": 400, "savings_percent": 80.0}


def test_odd_input_is_cleaned_not_raised(store: OriginalStore) -> None:
    book = ledger_for(store)
    book.record("  proxy|x\n ", 100, 150)  # more after than before: counted as nothing saved
    book.record("", -5, -9)
    book.record("mcp", "not a number", 3)  # type: ignore[arg-type]  # logged and dropped
    totals = book.totals()
    assert totals["proxyx"].tokens_saved == 0 and totals["proxyx"].tokens_after == 100
    assert totals["unknown"].calls == 1 and totals["unknown"].tokens_before == 0
    assert "mcp" not in totals


def test_the_ledger_lives_in_the_store_file_without_disturbing_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "fresh.db")
    ledger_for(store).record("proxy", 10, 5)  # the ledger touches the file before the store ever did
    store.put(content_ref("original"), "original")
    got = store.get(content_ref("original"))
    assert got is not None and got.text == "original"
    with sqlite3.connect(tmp_path / "fresh.db") as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # the store's INCREMENTAL setting held
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT source, calls FROM savings").fetchall() == [("proxy", 1)]
    assert store.prune() == 0 and ledger_for(store).totals()["proxy"].calls == 1
    ledger_for(store).close()
    store.close()


WRITER = textwrap.dedent(
    """
    import sys
    from headroom.ccr.ledger import ledger_for
    from headroom.ccr.open import open_store
    book = ledger_for(open_store(sys.argv[1]))
    for i in range(100):
        book.record(sys.argv[2], 100, 40)
    """
)


def test_concurrent_processes_lose_no_count(spec: str) -> None:
    if spec == "memory":
        pytest.skip("the in-process ledger is not shared between processes")
    workers = [
        subprocess.Popen([sys.executable, "-c", WRITER, spec, "proxy" if n % 2 else "mcp"], cwd=Path.cwd())
        for n in range(4)
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]
    store = open_store(spec)
    totals = ledger_for(store).totals()
    for source in ("proxy", "mcp"):
        assert (totals[source].calls, totals[source].tokens_before, totals[source].tokens_saved) == (
            200,
            20_000,
            12_000,
        )
    ledger_for(store).close()
    store.close()


def test_an_unreachable_backend_never_fails_a_record(tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()
    for store in (SqliteStore(tmp_path / "a-directory.db"), RedisStore("redis://127.0.0.1:1/0", connect_timeout=0.2)):
        ledger_for(store).record("proxy", 100, 10)  # logged, not raised
        ledger.record("proxy", 100, 10, store=store)
        with pytest.raises(StoreError):
            ledger_for(store).totals()


def test_module_functions_record_in_the_library_store() -> None:
    source = f"test-{uuid.uuid4().hex[:8]}"
    store = default_store()  # HEADROOM_STORE points at a temporary file (tests/conftest.py)
    ledger.record(source, 1_000, 250, store)
    assert ledger.totals(store)[source]["tokens_saved"] == 750
