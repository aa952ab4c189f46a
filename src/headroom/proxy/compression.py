"""Compressing a request inside the proxy: edit-safety policy, time budget, fail open per unit.

`compress_request` runs in a worker thread (inline for small bodies) under a time budget. When
the budget runs out (or every worker is busy), the request goes out at once with each unit as
the pipeline already has it: units compressed on earlier turns keep the exact bytes they were
sent with (the provider's cached prefix stays valid), units not compressed yet go whole and
stay whole on every later turn. The proxy may fail to save tokens on a unit, never to deliver a
request nor to keep a prefix. A timed-out compression keeps running in its thread and fills the
pipeline's unit cache, so the *new* units of the next turns compress quickly. An unexpected
error is handled the same way; only if that pass fails too does the original request go out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import anyio

from headroom.api import compress_request
from headroom.ccr.base import OriginalStore, StoredOriginal
from headroom.formats import Unit
from headroom.pipeline import CompressConfig, Pipeline
from headroom.proxy._sent_whole import SentWhole
from headroom.proxy.edit_safety import protected_results
from headroom.results import CompressStats
from headroom.tokens import encoding_for_model

__all__ = ["CompressionOutcome", "RequestCompressor"]

log = logging.getLogger(__name__)


class _DiscardStore(OriginalStore):
    """Audit mode measures lossy savings without keeping originals nobody will retrieve."""

    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None:
        return None

    def get(self, ref: str) -> StoredOriginal | None:
        return None


@dataclass(frozen=True, slots=True)
class CompressionOutcome:
    request: dict[str, Any]  # what to send (the original when `failed`)
    stats: CompressStats | None
    # "timeout" / "busy" / "error": units not compressed yet went whole, the rest as on earlier
    # turns (the original request only if even that pass failed).
    failed: str | None = None
    elapsed_ms: float = 0.0
    protected: int = 0
    # Any unit's text differs from the client's (even only in whitespace, at an equal token
    # count): then the rewritten request is sent. Decided from the texts, not from compressor
    # names, so a unit goes out the same way on every turn, whatever the other units do.
    changed: bool = False

    @property
    def refs(self) -> tuple[str, ...]:
        return self.stats.refs if self.stats is not None else ()


class RequestCompressor:
    def __init__(
        self,
        store: OriginalStore,
        *,
        edit_safety: bool = True,
        compress_documents: bool = False,
        timeout_ms: float = 2000.0,
        inline_bytes: int = 16_384,
        workers: int = 2,
        audit: bool = False,
        pipeline_config: CompressConfig | None = None,
    ) -> None:
        self.store: OriginalStore = _DiscardStore() if audit else store
        self.edit_safety = edit_safety
        self.compress_documents = compress_documents
        self.timeout_s = timeout_ms / 1000
        self.inline_bytes = inline_bytes
        # The pipeline keeps pasted documents whole unless its config says otherwise: the
        # proxy's --compress-user-documents must reach it (the `protect` rule below is not enough).
        self._base_config = dataclasses.replace(
            pipeline_config or CompressConfig(), compress_user_documents=compress_documents
        )
        self._pipelines: dict[str, Pipeline] = {}
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="headroom-compress")
        self._backlog = threading.BoundedSemaphore(4 * max(1, workers))  # audit jobs queued or running
        # Request-path jobs running, abandoned ones included (a timed-out job keeps its thread).
        # All busy: the request fails open at once rather than queueing behind them.
        self._free = threading.BoundedSemaphore(max(1, workers))
        self.sent_whole = SentWhole()

    def pipeline(self, model: str | None) -> Pipeline:
        encoding = encoding_for_model(model)
        pipeline = self._pipelines.get(encoding)
        if pipeline is None:
            config = dataclasses.replace(self._base_config, encoding=encoding)
            pipeline = self._pipelines.setdefault(encoding, Pipeline(config, self.store))
        return pipeline

    # -- the work (any thread) -------------------------------------------------------------

    def compress_sync(self, request: dict[str, Any], format_name: str) -> CompressionOutcome:
        """Compress one request; tool results the edit-safety policy protects stay whole."""
        return self._compress(request, format_name)

    def _compress(
        self, request: dict[str, Any], format_name: str, not_compressed: list[Unit] | None = None
    ) -> CompressionOutcome:
        """With `not_compressed`, only earlier outputs are reused and the other units are
        listed there."""
        started = time.perf_counter()
        pipeline = self.pipeline(request.get("model") if isinstance(request.get("model"), str) else None)
        protected = [p.path for p in protected_results(request, format_name)] if self.edit_safety else []

        def protect(unit: Unit) -> bool:
            # Text the human wrote is left alone: the pipeline never alters the latest user turn,
            # so a pasted document would go out whole on its first turn and compressed on the
            # next, a prefix change (a provider cache miss from that message on).
            if unit.role == "document" and not self.compress_documents:
                return True
            if unit in self.sent_whole:  # went out whole on an earlier turn (failed open)
                return True
            # A tool result's content, or one text part of it.
            return any(unit.path[: len(path)] == path for path in protected)

        if not_compressed is None:
            result = compress_request(request, format_name, pipeline=pipeline, protect=protect, ledger_source=None)
        else:
            result = pipeline.compress_request(request, format_name, protect=protect, not_compressed=not_compressed)
        elapsed = (time.perf_counter() - started) * 1000
        changed = result.request != request  # C-speed; unchanged subtrees are the same objects
        return CompressionOutcome(
            result.request, result.stats, elapsed_ms=elapsed, protected=len(protected), changed=changed
        )

    # -- on the event loop -----------------------------------------------------------------

    async def compress(self, request: dict[str, Any], format_name: str, body_size: int) -> CompressionOutcome:
        """Compress within the time budget; the original request on timeout or error."""
        started = time.perf_counter()
        try:
            if body_size <= self.inline_bytes:
                return self.compress_sync(request, format_name)
            if not self._free.acquire(blocking=False):
                log.warning("every compression worker is busy: sending the original request")
                failed = "busy"
            else:
                return await asyncio.wait_for(self._submit(request, format_name), self.timeout_s)
        except (asyncio.TimeoutError, TimeoutError):
            log.warning("compression exceeded %.0f ms: sending the original request", self.timeout_s * 1000)
            failed = "timeout"
        except Exception as exc:  # never let a compression bug cost the user a request
            log.warning("compression failed (%s): sending the original request", type(exc).__name__)
            failed = "error"
        # Also after an error: units sent compressed on earlier turns must keep their bytes.
        try:  # walking and hashing megabytes of units: not on the event loop
            partial = await anyio.to_thread.run_sync(self._as_far_as_done, request, format_name)
            return dataclasses.replace(partial, failed=failed, elapsed_ms=(time.perf_counter() - started) * 1000)
        except Exception as exc:
            log.warning("fail-open pass failed (%s): sending the original request", type(exc).__name__)
        if body_size <= self.inline_bytes:
            self.remember_whole(request, format_name)
        else:  # hashing megabytes of units: not on the event loop (anyio's own threads, not ours)
            await anyio.to_thread.run_sync(self.remember_whole, request, format_name)
        return CompressionOutcome(request, None, failed, (time.perf_counter() - started) * 1000)

    def _as_far_as_done(self, request: dict[str, Any], format_name: str) -> CompressionOutcome:
        """The request with every unit compressed before as it was sent then, and the others
        whole, remembered so that they stay whole (the same bytes) on later turns."""
        not_compressed: list[Unit] = []
        outcome = self._compress(request, format_name, not_compressed)
        self.sent_whole.remember_units(not_compressed)
        return outcome

    def _submit(self, request: dict[str, Any], format_name: str) -> asyncio.Future[CompressionOutcome]:
        """Run on a worker; the worker slot is released when the job ends, even abandoned."""

        def job() -> CompressionOutcome:
            try:
                return self.compress_sync(request, format_name)
            finally:
                self._free.release()

        try:
            future = self._executor.submit(job)
        except BaseException:
            self._free.release()
            raise
        # Cancelled before a worker picked it up: `job` never runs, so its slot is freed here.
        future.add_done_callback(lambda f: self._free.release() if f.cancelled() else None)
        return asyncio.wrap_future(future)

    def remember_whole(self, request: dict[str, Any], format_name: str) -> None:
        """The request goes out as the client sent it: its units stay whole on later turns."""
        self.sent_whole.remember(request, format_name, self._base_config.min_tokens)

    def audit(self, request: dict[str, Any], format_name: str, done: Any) -> bool:
        """Measure compression off the request path; `done(outcome)` runs in the worker thread.
        Returns False when the backlog is full (the request is simply not measured)."""
        if not self._backlog.acquire(blocking=False):
            return False

        def job() -> None:
            try:
                done(self.compress_sync(request, format_name))
            except Exception as exc:
                log.warning("audit compression failed (%s)", type(exc).__name__)
            finally:
                self._backlog.release()

        self._executor.submit(job)
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
