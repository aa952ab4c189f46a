"""The log pages that came before a unit in a request: what its log compression may take as seen.

Agents read a big log in pages (Claude Code's Read with offset/limit, `sed -n`, `tail`), one tool
result each. `compress_request` walks a request's units in order and hands each one the log
pages before it (`SegmentContext.earlier_logs`), so page 2 does not show again the templates page
1 showed. A page's summary (`headroom.compressors.logs.log_page`) is a pure function of the
unit's text and of its text as it was sent, so a request re-sent with one more turn gives every
earlier unit the same history, hence the same bytes (prompt-cache safe). Summaries are kept by
content hash in a bounded LRU: a 30-turn session parses each page once, not on every request.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

from cachetools import LRUCache

from headroom.compressors.base import Registry
from headroom.compressors.logs import log_page
from headroom.envelopes import open_envelope
from headroom.routing.detect import detect, sniffed_as
from headroom.segments import ContentKind, EarlierLogs, LogPage

__all__ = ["LogHistory"]

log = logging.getLogger(__name__)

# A line number a numbered read (`cat -n`, Claude Code's Read) put before a kept line.
_LINE_NUMBER = re.compile(r"^ *\d{1,9}(?:\t|→)", re.MULTILINE)

_PageKey = tuple[bytes, bytes]


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class LogHistory:
    """Summaries of the log units seen, by content; thread-safe."""

    def __init__(self, registry: Registry, maxsize: int) -> None:
        self._registry = registry
        self._logs: LRUCache[tuple[bytes, str | None], bool] = LRUCache(maxsize=maxsize)
        self._pages: LRUCache[_PageKey, LogPage | None] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    def log_unit(self, text: str, file_path: str | None) -> bytes | None:
        """The digest of `text` when the unit is a log (detected as the pipeline detects it);
        None for any other unit, whose compression the history does not concern."""
        digest = _digest(text)
        key = (digest, file_path)
        with self._lock:
            found = self._logs.get(key)  # a hit makes it the most recently used
        if found is None:
            found = self._is_log(text, file_path)
            with self._lock:
                self._logs[key] = found
        return digest if found else None

    def after(self, earlier: EarlierLogs, text: str, text_digest: bytes, sent: str) -> EarlierLogs:
        """`earlier` followed by this log unit (`text`, of digest `text_digest`, sent as
        `sent`); `earlier` itself if the unit cannot be read as a page."""
        sent_digest = text_digest if sent == text else _digest(sent)
        key = (text_digest, sent_digest)
        with self._lock:
            known = key in self._pages
            page = self._pages.get(key)  # a hit makes it the most recently used
        if not known:
            page = self._summarize(text, sent)
            with self._lock:
                self._pages[key] = page
        if page is None:
            return earlier
        return earlier.then(page, text_digest + sent_digest)

    def _is_log(self, text: str, file_path: str | None) -> bool:
        """Never raises: a unit that cannot be read is no log (the same answer every time)."""
        try:
            body = open_envelope(text).body
            # The log sniffers first: most units are no log, and full detection parses JSON.
            if not sniffed_as(ContentKind.LOGS, body, self._registry):
                return False
            return detect(body, file_path, self._registry).kind == ContentKind.LOGS
        except Exception as exc:
            log.warning("log detection failed (%s): unit not taken as a log", type(exc).__name__)
            return False

    @staticmethod
    def _summarize(text: str, sent: str) -> LogPage | None:
        """The page a log unit makes; None (no page) if it cannot be read, every time alike."""
        try:
            envelope = open_envelope(text)
            return log_page(envelope.body, _sent_body(sent, envelope.head, envelope.tail, envelope.prefixes))
        except Exception as exc:
            log.warning("log page summary failed (%s): unit not taken as a log page", type(exc).__name__)
            return None


def _sent_body(sent: str, head: str, tail: str, prefixes: tuple[str, ...] | None) -> str:
    """The body of a unit as sent: its envelope's head and tail off, and the line numbers the
    kept lines carry (markers carry none)."""
    if head and sent.startswith(head):
        sent = sent[len(head) :]
    if tail and sent.endswith(tail):
        sent = sent[: len(sent) - len(tail)]
    return _LINE_NUMBER.sub("", sent) if prefixes is not None else sent
