"""The savings ledger: how many tokens (and dollars) each headroom front end has saved.

Two parts. Cumulative counters per source ("library", "cli", "proxy", "mcp"), which only ever
grow. And one row per request (`RequestRecord`: time, source, client, model, provider, tokens
before/after per compressor, retrieval rounds, latency, fail-open reason, the cache reads and
writes the provider reported, the net dollars), with a sample of each compressed unit
(`UnitSample`: its compressed text, for `headroom inspect` and the dashboard's diff). Rows are
kept for `RETENTION_DAYS` and at most `MAX_REQUESTS` (oldest pruned first).

It lives in the same backend as the CCR store — a ``savings`` table in the SQLite file, a
``<prefix>savings`` hash in Redis — so every process sharing a store also shares one ledger, and
`headroom_stats` in the MCP server can report the proxy's savings next to its own.

Recording is best effort: a ledger write must never fail a compression, so `record` and
`record_request` log and swallow errors. Counters only ever grow (one upsert per call), which
keeps concurrent writers from different processes exact without any read-modify-write. The
per-request table carries a schema version (table `ledger_meta`): a file written by a newer
headroom keeps its rows, and this one only keeps counting.
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
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson

from headroom.ccr.base import MemoryStore, OriginalStore
from headroom.ccr.redis_store import RedisStore
from headroom.ccr.sqlite import SqliteStore
from headroom.errors import StoreError
from headroom.pricing import TokenCounts, input_price_per_mtok, net_saving

__all__ = [
    "MAX_REQUESTS",
    "RETENTION_DAYS",
    "RequestRecord",
    "SavingsLedger",
    "SourceTotals",
    "UnitSample",
    "ledger_for",
    "record",
    "record_request",
    "totals",
]

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

REQUESTS_SCHEMA_VERSION = 1
RETENTION_DAYS = 90
MAX_REQUESTS = 100_000
_MAX_UNIT_SAMPLES = 32  # compressed units kept per request
_MAX_SAMPLE_CHARS = 256 * 1024
_PRUNE_EVERY = 256  # writes between retention sweeps
_SQLITE_REQUESTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS savings_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            REAL NOT NULL,
    source        TEXT NOT NULL,
    record        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS savings_requests_at ON savings_requests (at);
CREATE TABLE IF NOT EXISTS savings_units (
    ref           TEXT PRIMARY KEY,
    at            REAL NOT NULL,
    sample        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS savings_units_at ON savings_units (at);
"""


@dataclass(frozen=True, slots=True)
class UnitSample:
    """One compressed unit as it went out (its original is in the CCR store under `ref`)."""

    ref: str
    location: str
    compressor: str
    tokens_before: int
    tokens_after: int
    compressed: str
    at: float = 0.0
    truncated: bool = False  # `compressed` was cut to _MAX_SAMPLE_CHARS for the ledger

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One compressed request (or text) in the ledger. Never holds message text or keys; the
    compressed units sent with it are in `units` (kept in a table of their own)."""

    source: str  # "library" | "cli" | "proxy" | "mcp"
    tokens_before: int
    tokens_after: int
    at: float = 0.0  # unix time; set when recorded
    client: str = ""  # user agent product (proxy), MCP client...
    model: str = ""
    provider: str = ""
    path: str = ""  # the proxied path (proxy only)
    # compressor name -> [units, tokens before, tokens after]
    compressors: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    retrieval_rounds: int = 0
    latency_ms: float = 0.0  # headroom's own time on the request
    fail_open: str = ""
    # As the provider reported them (proxy only): None when no usage came back.
    usage: TokenCounts | None = None
    cache_break_tokens: int = 0  # prompt tokens re-written because headroom changed cached bytes
    # Dollars, priced when recorded. `usd_saved` is net (cache effects included) when the usage
    # is known, else the saved tokens at the uncached input price; None: model not priced.
    usd_cost: float | None = None
    usd_saved: float | None = None
    usd_cache_break: float = 0.0
    units: tuple[UnitSample, ...] = ()  # when recording (stored apart, not read back with the row)
    refs: tuple[str, ...] = ()  # the refs of `units`, kept with the row
    id: int = 0

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    def as_dict(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "at": self.at,
            "source": self.source,
            "client": self.client,
            "model": self.model,
            "provider": self.provider,
            "path": self.path,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "tokens_saved": self.tokens_saved,
            "compressors": {name: list(v) for name, v in self.compressors.items()},
            "retrieval_rounds": self.retrieval_rounds,
            "latency_ms": self.latency_ms,
            "fail_open": self.fail_open,
            "usage": asdict(self.usage) if self.usage is not None else None,
            "cache_break_tokens": self.cache_break_tokens,
            "usd_cost": self.usd_cost,
            "usd_saved": self.usd_saved,
            "usd_cache_break": self.usd_cache_break,
            "refs": list(self.refs or (u.ref for u in self.units)),
        }
        return data

    def encode(self) -> bytes:
        """The row as stored (units apart)."""
        data = self.as_dict()
        del data["id"], data["tokens_saved"]
        return orjson.dumps(data)

    @staticmethod
    def decode(raw: bytes | str, row_id: int = 0) -> RequestRecord:
        data = orjson.loads(raw)
        usage = data.pop("usage", None)
        compressors = {str(k): (int(v[0]), int(v[1]), int(v[2])) for k, v in (data.pop("compressors") or {}).items()}
        refs = tuple(str(r) for r in data.pop("refs", ()) or ())
        known = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
        return RequestRecord(
            **known,
            refs=refs,
            compressors=compressors,
            usage=TokenCounts(**usage) if isinstance(usage, dict) else None,
            id=row_id,
        )


_RECORD_FIELDS = frozenset(RequestRecord.__dataclass_fields__) - {"compressors", "usage", "units", "refs", "id"}


def _encode_unit(unit: UnitSample) -> bytes:
    return orjson.dumps(unit.as_dict())


def _decode_unit(raw: bytes | str) -> UnitSample:
    return UnitSample(**orjson.loads(raw))


def _priced(rec: RequestRecord) -> RequestRecord:
    """`rec` with its dollars filled in from the price table."""
    if rec.usage is not None:
        saving = net_saving(rec.model, rec.provider, rec.usage, rec.tokens_saved, rec.cache_break_tokens)
        if saving is None:
            return rec
        return replace(
            rec,
            usd_cost=float(saving.cost_usd),
            usd_saved=float(saving.saved_usd),
            usd_cache_break=float(saving.cache_break_usd),
        )
    price = input_price_per_mtok(rec.model) if rec.model else None
    return rec if price is None else replace(rec, usd_saved=rec.tokens_saved * price / 1e6)


def _sample(unit: UnitSample, now: float) -> UnitSample:
    if len(unit.compressed) > _MAX_SAMPLE_CHARS:
        return replace(unit, compressed=unit.compressed[:_MAX_SAMPLE_CHARS], truncated=True, at=now)
    return replace(unit, at=now)


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

    def record_request(self, rec: RequestRecord) -> None:
        """Add one request: to its source's counters and as a row (best effort: failures are
        logged). Dollars are priced here, from the tokens and the usage."""
        try:
            now = time.time()
            before = max(0, int(rec.tokens_before))
            after = min(before, max(0, int(rec.tokens_after)))
            rec = replace(
                rec,
                source=_clean_source(rec.source),
                client=_clean_source(rec.client) if rec.client else "",
                tokens_before=before,
                tokens_after=after,
                at=rec.at or now,
                units=tuple(_sample(u, now) for u in rec.units[:_MAX_UNIT_SAMPLES]),
            )
            rec = replace(rec, refs=tuple(u.ref for u in rec.units))
            rec = _priced(rec)
            self._add(rec.source, before, after, now)
            self._add_request(rec)
        except Exception as exc:  # bookkeeping: it must never cost a request
            log.warning("savings ledger: could not record (%s: %s)", type(exc).__name__, exc)

    @abstractmethod
    def _add(self, source: str, tokens_before: int, tokens_after: int, now: float) -> None: ...

    @abstractmethod
    def _add_request(self, rec: RequestRecord) -> None: ...

    @abstractmethod
    def totals(self) -> dict[str, SourceTotals]:
        """Every source's cumulative counters, by source name."""

    @abstractmethod
    def requests(self, since: float | None = None, limit: int | None = None) -> list[RequestRecord]:
        """Recorded requests at or after `since`, newest first (at most `limit`). Raises StoreError."""

    @abstractmethod
    def unit(self, ref: str) -> UnitSample | None:
        """The last compressed form recorded for `ref`. Raises StoreError."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryLedger(SavingsLedger):
    """For the in-process store: counts live as long as the process."""

    def __init__(self) -> None:
        self._rows: dict[str, SourceTotals] = {}
        self._requests: deque[RequestRecord] = deque(maxlen=MAX_REQUESTS)
        self._units: dict[str, UnitSample] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    def _add_request(self, rec: RequestRecord) -> None:
        with self._lock:
            self._requests.append(replace(rec, id=self._next_id))
            self._next_id += 1
            for unit in rec.units:
                self._units.pop(unit.ref, None)
                self._units[unit.ref] = unit
            while len(self._units) > MAX_REQUESTS:
                del self._units[next(iter(self._units))]

    def requests(self, since: float | None = None, limit: int | None = None) -> list[RequestRecord]:
        with self._lock:
            rows = [r for r in reversed(self._requests) if since is None or r.at >= since]
        return rows[:limit] if limit is not None else rows

    def unit(self, ref: str) -> UnitSample | None:
        with self._lock:
            return self._units.get(ref)

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
        self._rows_ok = False  # the per-request tables are of a schema this version writes
        self._writes = 0

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
            conn.executescript(_SQLITE_REQUESTS_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO ledger_meta (name, value) VALUES ('requests_schema', ?)",
                (REQUESTS_SCHEMA_VERSION,),
            )
            version = conn.execute("SELECT value FROM ledger_meta WHERE name = 'requests_schema'").fetchone()[0]
            self._rows_ok = int(version) == REQUESTS_SCHEMA_VERSION
            if not self._rows_ok:
                log.warning("savings ledger in %s: request rows of schema %s are not written here", self.path, version)
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

    def _add_request(self, rec: RequestRecord) -> None:
        with self._lock:
            try:
                conn = self._connection()
                if not self._rows_ok:
                    return
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(
                        "INSERT INTO savings_requests (at, source, record) VALUES (?, ?, ?)",
                        (rec.at, rec.source, rec.encode()),
                    )
                    conn.executemany(
                        "INSERT OR REPLACE INTO savings_units (ref, at, sample) VALUES (?, ?, ?)",
                        [(u.ref, u.at, _encode_unit(u)) for u in rec.units],
                    )
                    self._writes += 1
                    if self._writes == 1 or self._writes % _PRUNE_EVERY == 0:
                        _prune_sqlite(conn, time.time())
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error:
                self._reset()
                raise

    def requests(self, since: float | None = None, limit: int | None = None) -> list[RequestRecord]:
        query = "SELECT id, record FROM savings_requests WHERE at >= ? ORDER BY id DESC"
        args: tuple[Any, ...] = (since if since is not None else float("-inf"),)
        if limit is not None:
            query, args = query + " LIMIT ?", (*args, max(0, int(limit)))
        rows = self._read(query, args)
        return [RequestRecord.decode(raw, int(row_id)) for row_id, raw in rows]

    def unit(self, ref: str) -> UnitSample | None:
        rows = self._read("SELECT sample FROM savings_units WHERE ref = ?", (ref,))
        return _decode_unit(rows[0][0]) if rows else None

    def _read(self, query: str, args: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            try:
                return self._connection().execute(query, args).fetchall()
            except (sqlite3.Error, OSError) as exc:
                self._reset()
                raise StoreError(f"savings ledger in {self.path} unavailable: {exc}") from exc

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


def _prune_sqlite(conn: sqlite3.Connection, now: float) -> None:
    """Retention: rows older than RETENTION_DAYS, and all but the newest MAX_REQUESTS."""
    horizon = now - RETENTION_DAYS * 86_400
    conn.execute("DELETE FROM savings_requests WHERE at < ?", (horizon,))
    conn.execute("DELETE FROM savings_requests WHERE id <= (SELECT MAX(id) FROM savings_requests) - ?", (MAX_REQUESTS,))
    conn.execute("DELETE FROM savings_units WHERE at < ?", (horizon,))
    conn.execute(
        "DELETE FROM savings_units WHERE at < (SELECT at FROM savings_units ORDER BY at DESC LIMIT 1 OFFSET ?)",
        (MAX_REQUESTS,),
    )


class RedisLedger(SavingsLedger):
    """One hash ``<prefix>savings`` with fields ``<source>|calls``, ``|before``, ``|after``, ...;
    HINCRBY keeps concurrent writers exact."""

    def __init__(self, url: str, prefix: str, connect_timeout: float = 1.0, timeout: float = 5.0) -> None:
        import redis

        self._errors: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError)
        self._client: Any = redis.Redis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)
        self.key = prefix + "savings"
        self.requests_key = prefix + "savings:requests"  # a list, newest first, trimmed to MAX_REQUESTS
        self.unit_prefix = prefix + "savings:unit:"  # one string per ref, expiring after RETENTION_DAYS
        self.id_key = prefix + "savings:next_id"

    def _add_request(self, rec: RequestRecord) -> None:
        row_id = int(self._client.incr(self.id_key))
        pipe = self._client.pipeline(transaction=True)
        pipe.lpush(self.requests_key, orjson.dumps({"id": row_id, "row": rec.encode().decode()}))
        pipe.ltrim(self.requests_key, 0, MAX_REQUESTS - 1)
        for unit in rec.units:
            pipe.set(self.unit_prefix + unit.ref, _encode_unit(unit), ex=RETENTION_DAYS * 86_400)
        pipe.execute()

    def requests(self, since: float | None = None, limit: int | None = None) -> list[RequestRecord]:
        try:
            raw = self._client.lrange(self.requests_key, 0, -1 if limit is None else max(0, limit) - 1)
        except self._errors as exc:
            raise StoreError(f"savings ledger {self.requests_key} unavailable: {exc}") from exc
        out: list[RequestRecord] = []
        horizon = time.time() - RETENTION_DAYS * 86_400
        for item in raw:
            entry = orjson.loads(item)
            rec = RequestRecord.decode(entry["row"], int(entry["id"]))
            if rec.at < horizon or (since is not None and rec.at < since):
                break  # newest first: the rest is older
            out.append(rec)
        return out

    def unit(self, ref: str) -> UnitSample | None:
        try:
            raw = self._client.get(self.unit_prefix + ref)
        except self._errors as exc:
            raise StoreError(f"savings ledger unit {ref} unavailable: {exc}") from exc
        return _decode_unit(raw) if raw is not None else None

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


def record(source: str, tokens_before: int, tokens_after: int, store: OriginalStore) -> None:
    """Add one call to `source`'s savings in `store`'s ledger. Never raises."""
    try:
        ledger = ledger_for(store)
    except Exception as exc:
        log.warning("savings ledger unavailable (%s: %s)", type(exc).__name__, exc)
        return
    ledger.record(source, tokens_before, tokens_after)


def record_request(rec: RequestRecord, store: OriginalStore) -> None:
    """Add one request to `store`'s ledger. Never raises."""
    try:
        ledger = ledger_for(store)
    except Exception as exc:
        log.warning("savings ledger unavailable (%s: %s)", type(exc).__name__, exc)
        return
    ledger.record_request(rec)


def totals(store: OriginalStore) -> dict[str, dict[str, Any]]:
    """Every source's savings as plain dicts, e.g. ``{"proxy": {"calls": 12, "tokens_saved": ...}}``."""
    ledger = ledger_for(store)
    return {source: row.as_dict() for source, row in ledger.totals().items()}
