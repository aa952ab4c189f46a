"""The shared CCR store: Redis, for several proxy instances (or machines) behind one store.

Same semantics as `SqliteStore`: content-addressed puts (a repeat put refreshes access time and
expiry, first provenance wins), sliding TTL via PEXPIRE, and a size cap with LRU eviction down to
90% of the cap. Layout under a key prefix (default ``headroom:ccr:``):

- ``<prefix>o:<ref>``: hash ``blob`` (codec byte + compressed text), ``created``, ``meta`` (JSON)
- ``<prefix>p:<ref>``: list of the original's producers (JSON, newest first), same expiry
- ``<prefix>lru``: sorted set ref -> last access (server time, microseconds)
- ``<prefix>sizes``: hash ref -> stored blob bytes; ``<prefix>bytes``: their running total

Every put/get is one Lua script, so bookkeeping stays consistent with many writers and uses the
server clock (no skew between hosts). The scripts touch keys derived from the prefix, which is
fine on a standalone server or one cluster slot (put the prefix in a ``{hash tag}`` for cluster).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from headroom.ccr._codec import decode_blob, decode_meta, encode_blob, encode_meta
from headroom.ccr.base import MAX_PRODUCERS, OriginalStore, StoredOriginal, StoreStats
from headroom.errors import StoreError

__all__ = ["DEFAULT_REDIS_MAX_BYTES", "DEFAULT_REDIS_TTL_SECONDS", "RedisStore"]

DEFAULT_REDIS_TTL_SECONDS: float = 7 * 24 * 3600.0
DEFAULT_REDIS_MAX_BYTES: int = 256 << 20  # memory is dearer than disk

# Shared Lua helpers. `forget` drops one ref and its bookkeeping and returns the new total;
# `housekeep` forgets refs whose key already expired, then evicts LRU refs down to the watermark.
_LUA_COMMON = """
local prefix, lru, sizes, bytes = ARGV[1], KEYS[1], KEYS[2], KEYS[3]
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function forget(ref)
  redis.call('DEL', prefix .. 'o:' .. ref, prefix .. 'p:' .. ref)
  local size = tonumber(redis.call('HGET', sizes, ref) or '0')
  redis.call('HDEL', sizes, ref)
  redis.call('ZREM', lru, ref)
  return redis.call('DECRBY', bytes, size)
end
local function housekeep(now, ttl_ms, max_bytes, keep)
  local removed = 0
  local total = tonumber(redis.call('GET', bytes) or '0')
  if ttl_ms > 0 then
    local cutoff = string.format('%.0f', now - ttl_ms * 1000)
    for _, ref in ipairs(redis.call('ZRANGEBYSCORE', lru, '-inf', cutoff, 'LIMIT', 0, 256)) do
      if redis.call('EXISTS', prefix .. 'o:' .. ref) == 0 then
        total = forget(ref)
        removed = removed + 1
      end
    end
  end
  if max_bytes > 0 and total > max_bytes then
    local target = math.floor(max_bytes * 0.9)
    while total > target do
      local batch = redis.call('ZRANGE', lru, 0, 255)
      local progressed = false
      for _, ref in ipairs(batch) do
        if ref ~= keep then
          total = forget(ref)
          removed = removed + 1
          progressed = true
          if total <= target then break end
        end
      end
      if not progressed then break end
    end
  end
  return removed
end
"""

# KEYS: lru, sizes, bytes, object. ARGV: prefix, ref, blob, meta, ttl_ms, max_bytes.
# Returns 0 (refreshed), 1 (stored) or -1 (larger than the cap: refused).
_PUT = (
    _LUA_COMMON
    + """
local key, ref, ttl_ms, max_bytes = KEYS[4], ARGV[2], tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_us()
local score = string.format('%.0f', now)
if redis.call('EXISTS', key) == 1 then
  if ttl_ms > 0 then redis.call('PEXPIRE', key, ttl_ms) else redis.call('PERSIST', key) end
  if ttl_ms > 0 then redis.call('PEXPIRE', prefix .. 'p:' .. ref, ttl_ms) end
  redis.call('ZADD', lru, score, ref)
  return 0
end
local size = string.len(ARGV[3])
if max_bytes > 0 and size > max_bytes then return -1 end
local stale = redis.call('HGET', sizes, ref)
if stale then redis.call('DECRBY', bytes, stale) end
redis.call('HSET', key, 'blob', ARGV[3], 'created', string.format('%.6f', now / 1000000), 'meta', ARGV[4])
if ttl_ms > 0 then redis.call('PEXPIRE', key, ttl_ms) end
redis.call('ZADD', lru, score, ref)
redis.call('HSET', sizes, ref, size)
redis.call('INCRBY', bytes, size)
housekeep(now, ttl_ms, max_bytes, ref)
return 1
"""
)

# KEYS: lru, sizes, bytes, object. ARGV: prefix, ref, ttl_ms. Returns {blob, created, meta} or nil.
_GET = (
    _LUA_COMMON
    + """
local key, ref, ttl_ms = KEYS[4], ARGV[2], tonumber(ARGV[3])
local found = redis.call('HMGET', key, 'blob', 'created', 'meta')
if not found[1] then return false end
redis.call('ZADD', lru, string.format('%.0f', now_us()), ref)
if ttl_ms > 0 then
  redis.call('PEXPIRE', key, ttl_ms)
  redis.call('PEXPIRE', prefix .. 'p:' .. ref, ttl_ms)
end
return found
"""
)

# KEYS: lru, sizes, bytes. ARGV: prefix, ttl_ms, max_bytes. Returns how many refs were removed.
_PRUNE = (
    _LUA_COMMON
    + """
return housekeep(now_us(), tonumber(ARGV[2]), tonumber(ARGV[3]), '')
"""
)


class RedisStore(OriginalStore):
    """Originals in Redis. Connects lazily; every failure surfaces as `StoreError`."""

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float | None = DEFAULT_REDIS_TTL_SECONDS,
        max_bytes: int | None = DEFAULT_REDIS_MAX_BYTES,
        prefix: str = "headroom:ccr:",
        connect_timeout: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        try:
            import redis
        except ImportError as exc:
            raise StoreError(
                "a redis:// store needs the 'redis' package (the 'redis' extra: pip install -e '.[redis]')"
            ) from exc
        self.url = url
        self.ttl_seconds = ttl_seconds if ttl_seconds and ttl_seconds > 0 else None
        self.max_bytes = max_bytes if max_bytes and max_bytes > 0 else None
        self.prefix = prefix
        self._errors: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError)
        # A proxy must not hang on a dead Redis: short timeouts, then the pipeline falls back.
        self._client: Any = redis.Redis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)
        self._put = self._client.register_script(_PUT)
        self._get = self._client.register_script(_GET)
        self._prune = self._client.register_script(_PRUNE)
        self._keys = [prefix + "lru", prefix + "sizes", prefix + "bytes"]

    def __repr__(self) -> str:
        return f"RedisStore({self._safe_url()!r}, prefix={self.prefix!r})"

    def _safe_url(self) -> str:
        # Never echo a password from the URL into logs or error messages.
        scheme, sep, rest = self.url.partition("://")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else self.url

    def _ttl_ms(self) -> int:
        return int(self.ttl_seconds * 1000) if self.ttl_seconds else 0

    def _fail(self, action: str, exc: Exception) -> StoreError:
        return StoreError(f"CCR store {self._safe_url()} unavailable ({action}): {exc}")

    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None:
        blob, _ = encode_blob(text)
        keys = [*self._keys, f"{self.prefix}o:{ref}"]
        args: list[str | bytes | int] = [self.prefix, ref, blob, encode_meta(meta), self._ttl_ms(), self.max_bytes or 0]
        try:
            outcome = self._put(keys=keys, args=args)
        except self._errors as exc:
            raise self._fail("put", exc) from exc
        if int(outcome) < 0:
            raise StoreError(f"original {ref} ({len(blob)} bytes) exceeds the store cap")

    def add_producer(self, ref: str, meta: dict[str, str]) -> None:
        record = encode_meta({**meta, "at": f"{time.time():.6f}"})
        key = f"{self.prefix}p:{ref}"
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.lpush(key, record).ltrim(key, 0, MAX_PRODUCERS - 1)
            if self.ttl_seconds:
                pipe.pexpire(key, self._ttl_ms())
            pipe.execute()
        except self._errors as exc:
            raise self._fail("add_producer", exc) from exc

    def producers(self, ref: str) -> list[dict[str, str]]:
        try:
            records = self._client.lrange(f"{self.prefix}p:{ref}", 0, MAX_PRODUCERS - 1)
        except self._errors:
            return []  # provenance is best effort; the original itself is what must be served
        return [decode_meta(record) for record in records]

    def get(self, ref: str) -> StoredOriginal | None:
        keys = [*self._keys, f"{self.prefix}o:{ref}"]
        try:
            found = self._get(keys=keys, args=[self.prefix, ref, self._ttl_ms()])
        except self._errors as exc:
            raise self._fail("get", exc) from exc
        if not found:
            return None
        blob, created, meta = found
        try:
            text = decode_blob(bytes(blob))
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreError(f"CCR store {self._safe_url()}: original {ref} is corrupt: {exc}") from exc
        return StoredOriginal(ref, text, float(created or 0.0), decode_meta(meta))

    def stats(self) -> StoreStats:
        try:
            pipe = self._client.pipeline(transaction=False)
            items, size = pipe.zcard(self._keys[0]).get(self._keys[2]).execute()
        except self._errors as exc:
            raise self._fail("stats", exc) from exc
        location = f"{self._safe_url()} {self.prefix}"
        return StoreStats("redis", location, int(items), int(size or 0), self.max_bytes, self.ttl_seconds)

    def check_writable(self) -> None:
        # A key of our own, set and deleted in one transaction: refused as a put would be by a
        # read-only replica, an ACL without write rights or a full server (maxmemory noeviction).
        key = f"{self.prefix}doctor"
        try:
            self._client.pipeline(transaction=True).set(key, b"", px=60_000).delete(key).execute()
        except self._errors as exc:
            raise self._fail("write check", exc) from exc

    def prune(self) -> int:
        try:
            return int(self._prune(keys=self._keys, args=[self.prefix, self._ttl_ms(), self.max_bytes or 0]))
        except self._errors as exc:
            raise self._fail("prune", exc) from exc

    def close(self) -> None:
        with contextlib.suppress(*self._errors):
            self._client.close()
