"""The savings ledger: how many tokens each headroom front end (proxy, MCP server, ...) has saved.

It lives in the same backend as the CCR store — a ``savings`` table in the SQLite file, a
``<prefix>savings`` hash in Redis — so every process sharing a store also shares one ledger, and
`headroom_stats` in the MCP server can report the proxy's savings next to its own.

Recording is best effort: a ledger write must never fail a compression, so `record` logs and
swallows errors. Counters only ever grow (one upsert per call), which keeps concurrent writers
from different processes exact without any read-modify-write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import weakref
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any

from headroom.ccr.base import MemoryStore, OriginalStore
from headroom.ccr.redis_store import RedisStore
from headroom.ccr.sqlite import SqliteStore
from headroom.errors import StoreError

__all__ = ["SavingsLedger", "SourceTotals", "ledger_for", "record", "totals"]

log = logging.getLogger(__name__)

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS savings (
    source        TEXT PRIMARY KEY,
    calls         INTEGER NOT NULL,
    tokens_before INTEGER NOT NULL,
    tokens_after  INTEGER NOT NULL,
    first_at      REAL NOT NULL,
    last_at       REAL NOT NULL
)
"""
_SQLITE_UPSERT = """
INSERT INTO savings (source, calls, tokens_before, tokens_after, first_at, last_at)
VALUES (?, 1, ?, ?, ?, ?)
ON CONFLICT(source) DO UPDATE SET
    calls = calls + 1,
    tokens_before = tokens_before + excluded.tokens_before,
    tokens_after = tokens_after + excluded.tokens_after,
    last_at = excluded.last_at
"""
_FIELDS = ("calls", "before", "after", "first", "last")


@dataclass(frozen=True, slots=True)
class SourceTotals:
    """Cumulative counts for one source ("proxy", "mcp", ...)."""

    calls: int
    tokens_before: int
    tokens_after: int
    first_at: float = 0.0  # unix time of the first recorded call
    last_at: float = 0.0

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def savings_percent(self) -> float:
        return round(100.0 * self.tokens_saved / self.tokens_before, 2) if self.tokens_before else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_saved": self.tokens_saved, "savings_percent": self.savings_percent}


def _clean_source(source: str) -> str:
    # "|" separates source and field in the Redis hash; keep names short and printable.
    text = "".join(ch for ch in str(source).strip() if ch.isprintable() and ch != "|")[:64]
    return text or "unknown"


class SavingsLedger(ABC):
    """Per-source token counters. `record` never raises; `totals` raises `StoreError`."""

    def record(self, source: str, tokens_before: int, tokens_after: int) -> None:
        """Add one compression call to `source`'s counters (best effort: failures are logged)."""
        try:
            before, after = max(0, int(tokens_before)), max(0, int(tokens_after))
            self._add(_clean_source(source), before, min(before, after), time.time())
        except Exception as exc:  # the ledger is bookkeeping: it must never cost a request
            log.warning("savings ledger: could not record (%s: %s)", type(exc).__name__, exc)

    @abstractmethod
    def _add(self, source: str, tokens_before: int, tokens_after: int, now: float) -> None: ...

    @abstractmethod
    def totals(self) -> dict[str, SourceTotals]:
        """Every source's cumulative counters, by source name."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryLedger(SavingsLedger):
    """For the in-process store: counts live as long as the process."""

    def __init__(self) -> None:
        self._rows: dict[str, SourceTotals] = {}
        self._lock = threading.Lock()

    def _add(self, source: str, tokens_before: int, tokens_after: int, now: float) -> None:
        with self._lock:
            old = self._rows.get(source) or SourceTotals(0, 0, 0, now, now)
            self._rows[source] = SourceTotals(
                old.calls + 1, old.tokens_before + tokens_before, old.tokens_after + tokens_after, old.first_at, now
            )

    def totals(self) -> dict[str, SourceTotals]:
        with self._lock:
            return dict(sorted(self._rows.items()))


class SqliteLedger(SavingsLedger):
    """A ``savings`` table in the CCR store's SQLite file, on a connection of its own."""

    def __init__(self, store: OriginalStore, path: str | os.PathLike[str], busy_timeout: float = 10.0) -> None:
        self._store = store
        self.path = path
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():  # never share a connection across a fork
            return self._conn
        # Let the store create the file first: it sets WAL and auto_vacuum, which only take
        # effect before the first table exists.
        self._store.stats()
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across a crash, no fsync per call
            conn.execute(_SQLITE_SCHEMA)
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _reset(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def _add(self, source: str, tokens_before: int, tokens_after: int, now: float) -> None:
        with self._lock:
            try:
                self._connection().execute(_SQLITE_UPSERT, (source, tokens_before, tokens_after, now, now))
            except sqlite3.Error:
                self._reset()  # retry from a fresh connection next time
                raise

    def totals(self) -> dict[str, SourceTotals]:
        with self._lock:
            try:
                rows = (
                    self._connection()
                    .execute(
                        "SELECT source, calls, tokens_before, tokens_after, first_at, last_at"
                        " FROM savings ORDER BY source"
                    )
                    .fetchall()
                )
            except (sqlite3.Error, OSError) as exc:
                self._reset()
                raise StoreError(f"savings ledger in {self.path} unavailable: {exc}") from exc
        return {
            row[0]: SourceTotals(int(row[1]), int(row[2]), int(row[3]), float(row[4]), float(row[5])) for row in rows
        }

    def close(self) -> None:
        with self._lock:
            self._reset()


class RedisLedger(SavingsLedger):
    """One hash ``<prefix>savings`` with fields ``<source>|calls``, ``|before``, ``|after``, ...;
    HINCRBY keeps concurrent writers exact."""

    def __init__(self, url: str, prefix: str, connect_timeout: float = 1.0, timeout: float = 5.0) -> None:
        import redis

        self._errors: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError)
        self._client: Any = redis.Redis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)
        self.key = prefix + "savings"

    def _add(self, source: str, tokens_before: int, tokens_after: int, now: float) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.hincrby(self.key, f"{source}|calls", 1)
        pipe.hincrby(self.key, f"{source}|before", tokens_before)
        pipe.hincrby(self.key, f"{source}|after", tokens_after)
        pipe.hsetnx(self.key, f"{source}|first", repr(now))
        pipe.hset(self.key, f"{source}|last", repr(now))
        pipe.execute()

    def totals(self) -> dict[str, SourceTotals]:
        try:
            raw = self._client.hgetall(self.key)
        except self._errors as exc:
            raise StoreError(f"savings ledger {self.key} unavailable: {exc}") from exc
        fields: dict[str, dict[str, float]] = {}
        for key, value in raw.items():
            source, _, name = key.decode("utf-8", "replace").rpartition("|")
            if name in _FIELDS:
                try:
                    fields.setdefault(source, {})[name] = float(value)
                except ValueError:
                    continue
        return {
            source: SourceTotals(
                int(f.get("calls", 0)),
                int(f.get("before", 0)),
                int(f.get("after", 0)),
                f.get("first", 0.0),
                f.get("last", 0.0),
            )
            for source, f in sorted(fields.items())
        }

    def close(self) -> None:
        with contextlib.suppress(*self._errors):
            self._client.close()


_LEDGERS: weakref.WeakKeyDictionary[OriginalStore, SavingsLedger] = weakref.WeakKeyDictionary()
_LEDGERS_LOCK = threading.Lock()


def _new_ledger(store: OriginalStore) -> SavingsLedger:
    if isinstance(store, SqliteStore):
        return SqliteLedger(store, store.path)
    if isinstance(store, RedisStore):
        return RedisLedger(store.url, store.prefix)
    if not isinstance(store, MemoryStore):
        log.info("savings ledger: %s has no shared backend; counting in this process", type(store).__name__)
    return MemoryLedger()


def ledger_for(store: OriginalStore) -> SavingsLedger:
    """The ledger kept beside `store` (one per store object, so connections are reused)."""
    with _LEDGERS_LOCK:
        ledger = _LEDGERS.get(store)
        if ledger is None:
            ledger = _LEDGERS[store] = _new_ledger(store)
        return ledger


def _default_store() -> OriginalStore:
    from headroom.api import default_store  # late: the api module imports the pipeline

    return default_store()


def record(source: str, tokens_before: int, tokens_after: int, store: OriginalStore | None = None) -> None:
    """Add one call to `source`'s savings in `store`'s ledger (default: the library's store).
    Never raises."""
    try:
        ledger = ledger_for(store if store is not None else _default_store())
    except Exception as exc:
        log.warning("savings ledger unavailable (%s: %s)", type(exc).__name__, exc)
        return
    ledger.record(source, tokens_before, tokens_after)


def totals(store: OriginalStore | None = None) -> dict[str, dict[str, Any]]:
    """Every source's savings as plain dicts, e.g. ``{"proxy": {"calls": 12, "tokens_saved": ...}}``."""
    ledger = ledger_for(store if store is not None else _default_store())
    return {source: row.as_dict() for source, row in ledger.totals().items()}
