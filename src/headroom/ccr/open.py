"""`open_store(spec)`: turn a `HEADROOM_STORE` / `--store` value into a store.

Specs:
- ``None`` or ``""``: the default SQLite file, ``$XDG_DATA_HOME/headroom/ccr.db``
  (``~/.local/share/headroom/ccr.db`` when unset)
- ``sqlite:///abs/path.db``, ``sqlite:////abs/path.db``, ``sqlite://rel/path.db`` or a plain path
- ``redis://[:password@]host:port/db`` or ``rediss://...`` (TLS)
- ``memory``: the in-process store (nothing persists)

Any spec may carry ``?ttl=7d&max_size=512MB`` (redis also ``&prefix=...``). When absent,
``HEADROOM_STORE_TTL`` / ``HEADROOM_STORE_MAX_SIZE`` apply, then the backend's defaults. A TTL or
size of ``0``/``none`` disables expiry or the cap. This is the only CCR module that reads the
environment; the stores themselves take everything as arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from headroom.ccr.base import MemoryStore, OriginalStore

__all__ = ["default_store_path", "open_store", "parse_size", "parse_ttl"]

_SECONDS = {
    **dict.fromkeys(["", "s", "sec", "secs", "second", "seconds"], 1),
    **dict.fromkeys(["m", "min", "mins", "minute", "minutes"], 60),
    **dict.fromkeys(["h", "hr", "hrs", "hour", "hours"], 3600),
    **dict.fromkeys(["d", "day", "days"], 86400),
    **dict.fromkeys(["w", "week", "weeks"], 604800),
}
_BYTES = {
    **dict.fromkeys(["", "b"], 1),
    **dict.fromkeys(["k", "kb", "kib"], 1 << 10),
    **dict.fromkeys(["m", "mb", "mib"], 1 << 20),
    **dict.fromkeys(["g", "gb", "gib"], 1 << 30),
    **dict.fromkeys(["t", "tb", "tib"], 1 << 40),
}
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
_OFF = {"0", "none", "off", "never", "unlimited"}
_OPTIONS = {"ttl", "max_size", "prefix"}
_UNSET: Any = object()


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    env = environ or {}
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "headroom" / "ccr.db"


def _amount(value: str, units: dict[str, int], example: str) -> float | None:
    text = value.strip().lower()
    if text in _OFF:
        return None
    match = _AMOUNT.match(text)
    if match is None or match.group(2) not in units:
        raise ValueError(f"cannot parse {value!r} (use e.g. {example})")
    return float(match.group(1)) * units[match.group(2)]


def parse_ttl(value: str) -> float | None:
    """``"3600"``, ``"90m"``, ``"12h"``, ``"7d"`` -> seconds; ``"0"``/``"none"`` -> no expiry."""
    return _amount(value, _SECONDS, "3600, 90m, 12h, 7d")


def parse_size(value: str) -> int | None:
    """``"1048576"``, ``"512MB"``, ``"1g"``, ``"2GiB"`` -> bytes; ``"0"``/``"none"`` -> no cap."""
    amount = _amount(value, _BYTES, "1048576, 512MB, 1GB")
    return None if amount is None else int(amount)


def _split_options(spec: str) -> tuple[str, dict[str, str], str]:
    """Separate headroom's own query options from the rest (which redis-py may understand)."""
    base, _, query = spec.partition("?")
    ours: dict[str, str] = {}
    theirs: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in _OPTIONS:
            ours[key] = value
        else:
            theirs.append((key, value))
    return base, ours, urlencode(theirs)


def open_store(
    spec: str | None,
    *,
    ttl_seconds: float | None = _UNSET,
    max_bytes: int | None = _UNSET,
    environ: Mapping[str, str] | None = None,
) -> OriginalStore:
    """The store `spec` names. Raises ValueError for a malformed spec; an unreachable store
    is only detected on first use (`StoreError` from put/get), so startup never blocks on it.

    `environ` is the environment the edge (CLI, proxy, `headroom.api`) passes in for
    HEADROOM_STORE_TTL / HEADROOM_STORE_MAX_SIZE / XDG_DATA_HOME; none is read here."""
    env = environ or {}
    base, options, rest = _split_options((spec or "").strip())
    limits: dict[str, Any] = {}
    ttl_text = options.get("ttl") or env.get("HEADROOM_STORE_TTL")
    size_text = options.get("max_size") or env.get("HEADROOM_STORE_MAX_SIZE")
    if ttl_seconds is not _UNSET:
        limits["ttl_seconds"] = ttl_seconds
    elif ttl_text:
        limits["ttl_seconds"] = parse_ttl(ttl_text)
    if max_bytes is not _UNSET:
        limits["max_bytes"] = max_bytes
    elif size_text:
        limits["max_bytes"] = parse_size(size_text)

    scheme = base.partition("://")[0].lower() if "://" in base else ""
    if base.lower() == "memory":
        return MemoryStore()
    if scheme in {"redis", "rediss"}:
        from headroom.ccr.redis_store import RedisStore

        url = f"{base}?{rest}" if rest else base
        if "prefix" in options:
            limits["prefix"] = options["prefix"]
        return RedisStore(url, **limits)
    if scheme not in {"", "sqlite", "file"}:
        raise ValueError(f"unknown store {spec!r}: use a path, sqlite:///path, redis://host:port/db or memory")

    from headroom.ccr.sqlite import SqliteStore

    if not base:
        return SqliteStore(default_store_path(env), **limits)
    path = base.partition("://")[2] if scheme else base
    if scheme and path.startswith("//"):
        path = path[1:]  # sqlite:////abs/path (SQLAlchemy's absolute form)
    if not path:
        raise ValueError(f"store spec {spec!r} names no file")
    return SqliteStore(Path(path).expanduser(), **limits)
