"""What the MCP tools do, as plain Python over the pipeline and the CCR store (no MCP types here).

`HeadroomTools` holds one pipeline, the store it shares with the proxy and the library, and the
savings ledger beside that store. Its methods are thread-safe (the SDK runs sync tools on worker
threads) and raise `ToolInputError` for input the caller must fix; the server turns that into an
``isError`` result.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from headroom.ccr.base import OriginalStore, put_original
from headroom.ccr.ledger import RequestRecord, SavingsLedger, UnitSample, ledger_for
from headroom.ccr.retrieval import RetrievalResult, retrieve
from headroom.compressors.base import all_compressors
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import ContentKind, SegmentContext, content_ref
from headroom.tokens import count_tokens

__all__ = ["CONTENT_TYPES", "LEDGER_SOURCE", "CompressOutcome", "HeadroomTools", "ToolInputError"]

# Kinds the router finds on its own but a caller never names: a page of a JSON file, content
# left alone, and headroom's own output.
_INTERNAL_KINDS = frozenset({ContentKind.JSON_PAGE, ContentKind.BINARY, ContentKind.COMPRESSED})
# What `content_type` may name: "auto" (detect) or a kind a registered compressor takes.
CONTENT_TYPES: dict[str, ContentKind | None] = {
    "auto": None,
    **{
        kind.value: kind
        for kind in ContentKind
        if kind not in _INTERNAL_KINDS and any(kind in c.kinds for c in all_compressors().values())
    },
}

log = logging.getLogger(__name__)

LEDGER_SOURCE = "mcp"  # this server's name in the shared savings ledger


class ToolInputError(ValueError):
    """Arguments the caller has to change; the message says how."""


@dataclass(frozen=True, slots=True)
class CompressOutcome:
    compressed: str
    ref: str | None  # None only when the store is unavailable (then `compressed` is lossless)
    tokens_before: int
    tokens_after: int
    compressor: str
    kind: str
    lossy: bool  # something was dropped: markers in `compressed` point at `ref`
    over_budget: bool  # max_tokens was given and the result is still larger
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        saved = self.tokens_before - self.tokens_after
        return {
            "compressed": self.compressed,
            "ref": self.ref,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "tokens_saved": saved,
            "savings_percent": round(100.0 * saved / self.tokens_before, 2) if self.tokens_before else 0.0,
            "compressor": self.compressor,
            "kind": self.kind,
            "lossy": self.lossy,
            "over_budget": self.over_budget,
            "notes": list(self.notes),
        }


@dataclass
class _Counters:
    compress_calls: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    retrieve_calls: int = 0
    retrieve_misses: int = 0
    rejected_calls: int = 0


class HeadroomTools:
    """The three tools' logic. One instance serves every session of a server process."""

    def __init__(
        self,
        store: OriginalStore,
        *,
        config: CompressConfig | None = None,
        ledger: SavingsLedger | None = None,
        max_content_chars: int | None = None,
    ) -> None:
        self.store = store
        self.pipeline = Pipeline(config or CompressConfig(), store)
        self.ledger = ledger if ledger is not None else ledger_for(store)
        # Bigger units would pass through the pipeline untouched anyway; refusing them says so.
        self.max_content_chars = max_content_chars or self.pipeline.config.max_unit_chars
        self.started_at = time.time()
        self._counters = _Counters()
        self._lock = threading.Lock()
        self._warm = False
        self._warm_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the tokenizer (~0.5 s) and the compressors once. Their loaders are not locked, so
        twenty concurrent first calls would otherwise each load them, twenty times slower."""
        if self._warm:
            return
        with self._warm_lock:
            if not self._warm:
                count_tokens("headroom", self.pipeline.config.encoding)
                all_compressors()
                self._warm = True

    def _reject(self, message: str) -> ToolInputError:
        with self._lock:
            self._counters.rejected_calls += 1
        return ToolInputError(message)

    # -- headroom_compress ------------------------------------------------------------------------

    def compress(
        self,
        content: object,
        content_type: str = "auto",
        query: str | None = None,
        max_tokens: int | None = None,
    ) -> CompressOutcome:
        """Compress `content`; its original is always stored under the returned ref."""
        if not isinstance(content, str):
            raise self._reject(f"content must be a string, not {type(content).__name__}")
        hint = (content_type or "auto").strip().lower()
        if hint not in CONTENT_TYPES:
            raise self._reject(f"unknown content_type {content_type!r}; use one of: {', '.join(CONTENT_TYPES)}")
        if len(content) > self.max_content_chars:
            raise self._reject(
                f"content is {len(content):,} characters; the limit is {self.max_content_chars:,}. "
                "Split it into parts (e.g. by file or by section) and compress each."
            )
        if max_tokens is not None and max_tokens < 1:
            raise self._reject("max_tokens must be a positive number of tokens")

        self.warm_up()
        context = SegmentContext(user_query=(query or "").strip())
        ref = content_ref(content)
        notes: list[str] = []
        stored_as = self._store_original(ref, content, hint, notes)
        stored, ref = stored_as is not None, stored_as or ref
        output, report = self.pipeline.compress_text(content, context, location="content", kind=CONTENT_TYPES[hint])
        lossy = report.ref is not None
        if report.diagnostic:
            notes.append(report.diagnostic)
        if lossy and not stored:  # the pipeline's own put worked after all (a transient failure)
            notes = [n for n in notes if not n.startswith("store unavailable")]

        over_budget = max_tokens is not None and report.tokens_after > max_tokens
        if over_budget:
            notes.append(
                f"the result is {report.tokens_after:,} tokens, above max_tokens={max_tokens:,}; "
                "nothing was truncated. Compress smaller parts, pass a narrower query, "
                "or read slices with headroom_retrieve(ref, lines=...)."
            )
        with self._lock:
            self._counters.compress_calls += 1
            self._counters.tokens_before += report.tokens_before
            self._counters.tokens_after += report.tokens_after
        self.ledger.record_request(
            RequestRecord(
                LEDGER_SOURCE,
                report.tokens_before,
                report.tokens_after,
                compressors={report.compressor: (1, report.tokens_before, report.tokens_after)},
                latency_ms=round(report.time_ms, 3),
                units=(
                    UnitSample(
                        report.ref, "content", report.compressor, report.tokens_before, report.tokens_after, output
                    ),
                )
                if report.ref is not None
                else (),
            )
        )
        return CompressOutcome(
            compressed=output,
            ref=ref if stored or lossy else None,
            tokens_before=report.tokens_before,
            tokens_after=report.tokens_after,
            compressor=report.compressor,
            kind=report.kind,
            lossy=lossy,
            over_budget=over_budget,
            notes=tuple(notes),
        )

    def _store_original(self, ref: str, content: str, hint: str, notes: list[str]) -> str | None:
        # Stored up front, even when compression turns out lossless, so the ref always resolves
        # to the exact input (a repeat put only refreshes its expiry). Returns the ref it is
        # stored under (a longer one when the short ref holds other content), None on failure.
        meta = {"tool": "headroom_compress", "source": LEDGER_SOURCE, "hint": hint}
        try:
            return put_original(self.store, ref, content, meta)
        except Exception as exc:
            log.warning("CCR store unavailable (%s): compressing losslessly", type(exc).__name__)
            notes.append(f"store unavailable ({type(exc).__name__}: {str(exc)[:160]}): no ref, lossless only")
            return None

    # -- headroom_retrieve ------------------------------------------------------------------------

    def retrieve(self, ref: object, query: str | None = None, lines: str | None = None) -> RetrievalResult:
        """The original (or a slice); ``found=False`` with a message for an unknown or expired ref."""
        if not isinstance(ref, str) or not ref.strip():
            raise self._reject("ref must be a non-empty string such as 'h_3f9a1c2b0d4e'")
        result = retrieve(self.store, ref, query=query, lines=lines)
        with self._lock:
            self._counters.retrieve_calls += 1
            self._counters.retrieve_misses += not result.found
        return result

    # -- headroom_stats ---------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """This process's counters, the shared ledger (every source using this store) and the store."""
        with self._lock:
            c = _Counters(**vars(self._counters))
        saved = c.tokens_before - c.tokens_after
        report: dict[str, Any] = {
            "this_server": {
                "started_at": self.started_at,
                "compress_calls": c.compress_calls,
                "tokens_before": c.tokens_before,
                "tokens_after": c.tokens_after,
                "tokens_saved": saved,
                "savings_percent": round(100.0 * saved / c.tokens_before, 2) if c.tokens_before else 0.0,
                "retrieve_calls": c.retrieve_calls,
                "retrieve_misses": c.retrieve_misses,
                "rejected_calls": c.rejected_calls,
            }
        }
        try:
            sources = {name: row.as_dict() for name, row in self.ledger.totals().items()}
            before = sum(row["tokens_before"] for row in sources.values())
            after = sum(row["tokens_after"] for row in sources.values())
            report["by_source"] = sources
            report["all_sources"] = {
                "calls": sum(row["calls"] for row in sources.values()),
                "tokens_before": before,
                "tokens_after": after,
                "tokens_saved": before - after,
                "savings_percent": round(100.0 * (before - after) / before, 2) if before else 0.0,
            }
        except Exception as exc:
            report["by_source"] = {"error": f"savings ledger unavailable ({type(exc).__name__}: {str(exc)[:160]})"}
        try:
            s = self.store.stats()
            report["store"] = {
                "backend": s.backend,
                "location": s.location,
                "items": s.items,
                "stored_bytes": s.stored_bytes,
                "max_bytes": s.max_bytes,
                "ttl_seconds": s.ttl_seconds,
            }
        except Exception as exc:
            report["store"] = {"error": f"CCR store unavailable ({type(exc).__name__}: {str(exc)[:160]})"}
        return report
