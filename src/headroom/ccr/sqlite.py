"""The default CCR store: one SQLite file, shared safely by every local process.

Design choices:
- WAL journal + a busy timeout: many proxies/CLIs read and write the same file at once;
  writers take the write lock up front (`BEGIN IMMEDIATE`) and hold it for one short
  statement batch, so nobody waits long and no upgrade deadlock (SQLITE_BUSY) can occur.
- `synchronous=NORMAL` in WAL mode: a committed `put` survives a crash or SIGKILL of the
  process (the OS has the WAL pages); only a power cut can lose the last commits. Pass
  ``synchronous="FULL"`` to fsync every commit.
- Content-addressed: a second `put` of a ref only refreshes its access time and expiry;
  the first producer's provenance (meta) is kept.
- Expiry is sliding (`ttl_seconds` after the last put/get) and the size cap (`max_bytes` of
  compressed blobs) evicts least-recently-used rows down to 90% of the cap, so eviction runs
  rarely rather than on every insert. Running totals live in a one-row table kept exact by
  triggers, so checking the cap costs one lookup, not a scan.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from headroom.ccr._codec import decode_blob, decode_meta, encode_blob, encode_meta
from headroom.ccr.base import MAX_PRODUCERS, OriginalStore, StoredOriginal, StoreStats
from headroom.errors import StoreError

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TTL_SECONDS", "SqliteStore"]

DEFAULT_TTL_SECONDS: float = 7 * 24 * 3600.0
DEFAULT_MAX_BYTES: int = 1 << 30
_SCHEMA_VERSION = 2  # 2: producers of shared originals
_LOW_WATERMARK = 0.9
_SWEEP_INTERVAL = 60.0  # seconds between opportunistic deletions of expired rows
_EVICT_BATCH = 256

_SELECT = "SELECT blob, created_at, expires_at, meta FROM originals WHERE ref = ?"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    ref          TEXT PRIMARY KEY,
    blob         BLOB NOT NULL,
    stored_bytes INTEGER NOT NULL,
    raw_bytes    INTEGER NOT NULL,
    created_at   REAL NOT NULL,
    accessed_ns  INTEGER NOT NULL,
    expires_at   REAL,
    meta         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS originals_lru ON originals(accessed_ns);
CREATE INDEX IF NOT EXISTS originals_expiry ON originals(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS totals (
    id    INTEGER PRIMARY KEY CHECK (id = 0),
    items INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals (id, items, bytes) VALUES (0, 0, 0);
CREATE TRIGGER IF NOT EXISTS originals_added AFTER INSERT ON originals BEGIN
    UPDATE totals SET items = items + 1, bytes = bytes + NEW.stored_bytes WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS originals_removed AFTER DELETE ON originals BEGIN
    UPDATE totals SET items = items - 1, bytes = bytes - OLD.stored_bytes WHERE id = 0;
END;
CREATE TABLE IF NOT EXISTS producers (
    ref  TEXT NOT NULL,
    at   REAL NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS producers_by_ref ON producers(ref, at);
CREATE TRIGGER IF NOT EXISTS originals_producers_removed AFTER DELETE ON originals BEGIN
    DELETE FROM producers WHERE ref = OLD.ref;
END;
"""


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class SqliteStore(OriginalStore):
    """Originals in a SQLite file. Thread-safe; one lazily opened connection per process."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl_seconds: float | None = DEFAULT_TTL_SECONDS,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        busy_timeout: float = 10.0,
        synchronous: str = "NORMAL",
    ) -> None:
        if synchronous.upper() not in {"NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = Path(path).expanduser()
        self.ttl_seconds = ttl_seconds if ttl_seconds and ttl_seconds > 0 else None
        self.max_bytes = max_bytes if max_bytes and max_bytes > 0 else None
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous.upper()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._last_sweep = 0.0

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- connection ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        # A connection must never cross a fork: the child opens its own.
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # Originals are tool outputs (a `cat .env` among them): private to the user. A new data
        # dir is 0700 and a new database file 0600 (SQLite gives its -wal/-shm files the same mode).
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the store file ({exc.strerror})") from exc
        # SQLite skips the busy handler where waiting could deadlock (switching the journal mode
        # while another first opener does the same): such "database is locked" errors are
        # retried here until the busy timeout, so concurrent writers wait their turn.
        deadline, pause = time.monotonic() + self._busy_timeout, 0.005
        while True:
            try:
                conn = self._open()
                break
            except sqlite3.OperationalError as exc:
                if not _is_lock_error(exc) or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            # auto_vacuum only takes effect before the first table exists; prune() uses it.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise StoreError(f"{self.path}: could not switch the database to WAL mode")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise StoreError(f"{self.path}: written by a newer headroom (schema {version})")
            if version < _SCHEMA_VERSION:
                # Idempotent DDL in one write transaction: racing first openers are harmless.
                # (executescript, because the triggers hold semicolons; it runs outside Python's
                # implicit transaction handling, so BEGIN/COMMIT are part of the script.)
                try:
                    conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {_SCHEMA_VERSION};COMMIT;")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except BaseException:
            conn.close()
            raise
        return conn

    def _fail(self, action: str, exc: Exception) -> StoreError:
        # Drop the connection so the next call retries from scratch (e.g. after disk space returns).
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None
        return StoreError(f"CCR store {self.path} unavailable ({action}): {exc}")

    # -- OriginalStore --------------------------------------------------------------------------

    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None:
        now = time.time()
        expires = now + self.ttl_seconds if self.ttl_seconds else None
        with self._lock:
            try:
                conn = self._connection()
                # Common case: the same unit is compressed again on every turn of a conversation.
                touched = conn.execute(
                    "UPDATE originals SET accessed_ns = ?, expires_at = ? WHERE ref = ?",
                    (time.time_ns(), expires, ref),
                )
                if touched.rowcount:
                    return
            except (sqlite3.Error, OSError) as exc:
                raise self._fail("put", exc) from exc
            blob, raw_size = encode_blob(text)
            if self.max_bytes is not None and len(blob) > self.max_bytes:
                raise StoreError(f"original {ref} ({len(blob)} bytes) exceeds the store cap")
            with self._write("put") as conn:
                conn.execute(
                    "INSERT INTO originals (ref, blob, stored_bytes, raw_bytes, created_at,"
                    " accessed_ns, expires_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(ref) DO UPDATE SET accessed_ns = excluded.accessed_ns,"
                    " expires_at = excluded.expires_at",
                    (ref, blob, len(blob), raw_size, now, time.time_ns(), expires, encode_meta(meta)),
                )
                if now - self._last_sweep > _SWEEP_INTERVAL:
                    self._delete_expired(conn, now)
                    self._last_sweep = now
                self._evict(conn, keep=ref)

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (the caller holds the lock): BEGIN IMMEDIATE, COMMIT, or a
        rollback on any error; SQLite and OS errors become StoreError."""
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.rollback()
                raise
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(action, exc) from exc

    def get(self, ref: str) -> StoredOriginal | None:
        now = time.time()
        with self._lock:
            try:
                conn = self._connection()
                row = conn.execute(_SELECT, (ref,)).fetchone()
            except (sqlite3.Error, OSError, StoreError) as exc:
                # A full disk, a read-only file or directory: what was handed out stays readable.
                failure = exc if isinstance(exc, StoreError) else self._fail("get", exc)
                row = self._read_only_row(ref)
                if row is False:
                    raise failure from exc
                conn = None
            if row is None or (row[2] is not None and row[2] <= now):
                return None
            if conn is None:
                return self._decode(ref, row)
            try:
                # LRU/expiry bookkeeping is best effort: a busy or read-only file still serves reads.
                expires = now + self.ttl_seconds if self.ttl_seconds else None
                conn.execute(
                    "UPDATE originals SET accessed_ns = ?, expires_at = ? WHERE ref = ?",
                    (time.time_ns(), expires, ref),
                )
            except sqlite3.OperationalError:
                pass
        return self._decode(ref, row)

    def _decode(self, ref: str, row: tuple[Any, ...]) -> StoredOriginal:
        try:
            text = decode_blob(row[0])
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreError(f"CCR store {self.path}: original {ref} is corrupt: {exc}") from exc
        return StoredOriginal(ref, text, float(row[1]), decode_meta(row[3]))

    def _read_only_row(self, ref: str) -> tuple[Any, ...] | Literal[False] | None:
        """The row read without writing anything (no WAL switch, no schema, no bookkeeping);
        False when the file cannot be read that way either."""
        if not self.path.is_file():
            return False
        location = urllib.parse.quote(str(self.path.resolve()))
        # mode=ro still needs the -shm file of a WAL database; immutable=1 reads the file as it
        # is (right for a directory nobody can write to, where no writer can be active).
        for options in ("mode=ro", "immutable=1"):
            try:
                conn = sqlite3.connect(f"file:{location}?{options}", uri=True, timeout=self._busy_timeout)
            except sqlite3.Error:
                continue
            try:
                row: tuple[Any, ...] | None = conn.execute(_SELECT, (ref,)).fetchone()
                return row
            except sqlite3.Error:
                continue
            finally:
                conn.close()
        return False

    def add_producer(self, ref: str, meta: dict[str, str]) -> None:
        with self._lock, self._write("add_producer") as conn:
            conn.execute(
                "INSERT INTO producers (ref, at, meta) VALUES (?, ?, ?)", (ref, time.time(), encode_meta(meta))
            )
            conn.execute(
                "DELETE FROM producers WHERE ref = ? AND rowid NOT IN"
                " (SELECT rowid FROM producers WHERE ref = ? ORDER BY at DESC, rowid DESC LIMIT ?)",
                (ref, ref, MAX_PRODUCERS),
            )

    def producers(self, ref: str) -> list[dict[str, str]]:
        with self._lock:
            try:
                rows = (
                    self._connection()
                    .execute("SELECT at, meta FROM producers WHERE ref = ? ORDER BY at DESC, rowid DESC", (ref,))
                    .fetchall()
                )
            except (sqlite3.Error, OSError, StoreError):
                return []  # provenance is best effort; the original itself is what must be served
        return [{**decode_meta(meta), "at": f"{at:.6f}"} for at, meta in rows]

    def stats(self) -> StoreStats:
        with self._lock:
            try:
                items, size = self._connection().execute("SELECT items, bytes FROM totals").fetchone()
            except (sqlite3.Error, OSError) as exc:
                raise self._fail("stats", exc) from exc
        return StoreStats("sqlite", str(self.path), int(items), int(size), self.max_bytes, self.ttl_seconds)

    def prune(self) -> int:
        with self._lock:
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    removed = self._delete_expired(conn, time.time())
                    removed += self._evict(conn, keep=None)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.rollback()
                    raise
                # Give freed pages back to the filesystem and fold the WAL into the main file.
                conn.execute("PRAGMA incremental_vacuum")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except (sqlite3.Error, OSError) as exc:
                raise self._fail("prune", exc) from exc
        return removed

    def check_writable(self) -> None:
        # Takes the write lock (BEGIN IMMEDIATE) and commits nothing: fails as a put would on a
        # read-only file or directory (no room for the -wal file), a full disk or a foreign lock.
        with self._lock, self._write("write check"):
            pass

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    # -- maintenance (inside the caller's write transaction) -------------------------------------

    @staticmethod
    def _delete_expired(conn: sqlite3.Connection, now: float) -> int:
        return conn.execute("DELETE FROM originals WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)).rowcount

    def _evict(self, conn: sqlite3.Connection, keep: str | None) -> int:
        """Drop least-recently-used rows once the cap is exceeded, down to the low watermark."""
        if self.max_bytes is None:
            return 0
        total = conn.execute("SELECT bytes FROM totals").fetchone()[0]
        if total <= self.max_bytes:
            return 0
        target = int(self.max_bytes * _LOW_WATERMARK)
        removed = 0
        while total > target:
            rows = conn.execute(
                "SELECT ref, stored_bytes FROM originals WHERE ref IS NOT ? ORDER BY accessed_ns LIMIT ?",
                (keep, _EVICT_BATCH),
            ).fetchall()
            if not rows:
                break
            victims = []
            for ref, size in rows:
                victims.append((ref,))
                total -= size
                if total <= target:
                    break
            conn.executemany("DELETE FROM originals WHERE ref = ?", victims)
            removed += len(victims)
        return removed
