"""The proxy's settings: one frozen object built by the CLI (or a test) and read everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from headroom.proxy._net import http_url

__all__ = ["DEFAULT_ANTHROPIC_UPSTREAM", "DEFAULT_OPENAI_UPSTREAM", "Mode", "ProxyConfig"]

DEFAULT_ANTHROPIC_UPSTREAM = "https://api.anthropic.com"
DEFAULT_OPENAI_UPSTREAM = "https://api.openai.com"


def _server_root(url: str) -> str:
    """The upstream the request paths (`/v1/...`) are appended to. Written with its API
    version (`http://host:8000/v1`, how Azure, vLLM and Ollama URLs are usually given), it means
    the same server as without: the `/v1` comes from the path, as a client naming the proxy
    with or without `/v1` reaches the same routes."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if urlsplit(url).path.endswith("/v1") else url


class Mode(str, Enum):
    """optimize: compress and forward; audit: forward the original, measure what compression
    would have saved (off the request path); off: a plain pass-through proxy."""

    OPTIMIZE = "optimize"
    AUDIT = "audit"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    mode: Mode = Mode.OPTIMIZE
    anthropic_upstream: str = DEFAULT_ANTHROPIC_UPSTREAM
    openai_upstream: str = DEFAULT_OPENAI_UPSTREAM
    store: str | None = None  # an `open_store` spec; None = the default SQLite file
    retrieval: bool = True  # answer `headroom_retrieve` calls inside the proxy
    max_retrieval_rounds: int = 3  # upstream continuations per client request
    # Compression budget per request. Past it the original request is sent (fail open); the
    # compression still finishes in the background, so the next turn finds its units cached.
    compress_timeout_ms: float = 2000.0
    # Requests below this size are compressed inline: a thread hop costs more than the work.
    inline_compress_bytes: int = 16_384
    compress_workers: int = 2
    edit_safety: bool = True  # never compress re-reads, ranged reads, reads of files being edited
    # Also compress documents the human pasted into earlier user turns (a one-time cache miss:
    # the pipeline leaves the latest user turn alone, so they change between turns 1 and 2).
    compress_user_documents: bool = False
    cache_align: bool = False  # move volatile system-prompt lines after the system breakpoints
    max_body_bytes: int = 64 * 1024 * 1024  # larger request bodies get 413
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 600.0  # between two bytes of the upstream response (long generations)
    max_connections: int = 1024  # upstream connection pool (streams hold a connection each)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", Mode(self.mode))
        object.__setattr__(self, "anthropic_upstream", _server_root(self.anthropic_upstream))
        object.__setattr__(self, "openai_upstream", _server_root(self.openai_upstream))
        if self.compress_timeout_ms <= 0:
            raise ValueError("compress_timeout_ms must be positive")
        if self.max_retrieval_rounds < 0:
            raise ValueError("max_retrieval_rounds must be >= 0")

    @property
    def url(self) -> str:
        return http_url(self.host, self.port)
