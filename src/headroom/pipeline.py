"""The pipeline: adapter -> router -> compressor -> CCR store -> stats.

It knows no wire format and no content format; adapters and compressors do. Every unit is
compressed independently, as a pure function of the unit and the context before it, so a
request re-sent with one more turn compresses its old part to the same bytes (prompt-cache safe).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cachetools import LRUCache

from headroom.ccr.base import OriginalStore, put_original
from headroom.ccr.markers import marker
from headroom.ccr.retrieval import TOOL_NAME as RETRIEVE_TOOL_NAME
from headroom.compressors._short_ids import shorten_line_sources, shorten_repeated_ids
from headroom.compressors.base import Registry
from headroom.envelopes import TRUNCATION_NOTE, Envelope, open_envelope
from headroom.errors import CompressorError
from headroom.formats import Unit, adapter_for, replace_paths
from headroom.history import CodeReads, Histories, JsonPages, LogPages, UnitHistory
from headroom.results import CompressedRequest, CompressStats, TransformStats, UnitReport
from headroom.routing.detect import detect
from headroom.routing.router import NEVER_COMPRESSED, route
from headroom.segments import ContentKind, Segment, SegmentContext, content_ref, text_digest
from headroom.tokens import DEFAULT_ENCODING, count_tokens

__all__ = ["CompressConfig", "Pipeline"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompressConfig:
    min_tokens: int = 250  # units smaller than this pass through untouched
    # A lossy result must save at least this share of a unit's tokens, else the lossless form
    # is sent: dropping content for a few tokens is a bad trade.
    min_lossy_savings: float = 0.10
    lossy: bool = True  # False: only lossless transforms (nothing needs the store)
    encoding: str = DEFAULT_ENCODING
    cache_size: int = 4096  # compressed units remembered (agents re-send every turn)
    max_unit_chars: int = 4_000_000  # bigger units pass through untouched (bounded work per request)
    # Large documents the human pasted into *earlier* user turns. Off by default: a pasted
    # document is the latest turn (never altered) when first sent, so compressing it on the
    # next turn would change bytes the provider has already cached.
    compress_user_documents: bool = False
    # Per-compressor options by compressor name, e.g. {"prose": ProseOptions(learned=False)}: the
    # pipeline's registry builds each compressor with its own (the others keep their defaults).
    compressor_options: Mapping[str, object] = field(default_factory=dict)


class _LeaveAlone(Exception):
    """A unit that must pass through untouched, with the reason as diagnostic."""


@dataclass(frozen=True, slots=True)
class _Applied:
    """What one compressor run produced for a unit."""

    name: str
    text: str
    tokens: int
    ref: str | None = None
    diagnostic: str | None = None
    notes: Mapping[str, int] = field(default_factory=dict)
    derived: tuple[tuple[str, str], ...] = ()  # (ref, text) stored beside the original, cited by markers


_CacheKey = tuple[bytes, SegmentContext, ContentKind | None]


def _cache_key(unit_digest: bytes, context: SegmentContext, kind: ContentKind | None) -> _CacheKey:
    # `unit_digest` is `text_digest(text)`. The context holds the digests of the earlier units
    # of its kind (log pages, JSON pages): another history, another key. The digests only: a
    # cached key keeps no summaries alive.
    return unit_digest, context.without_summaries(), kind


@dataclass(frozen=True, slots=True)
class _UnitOutcome:
    text: str
    report: UnitReport
    derived: tuple[tuple[str, str], ...] = ()


class Pipeline:
    """Compresses units and whole requests. Thread-safe; holds the store and a unit cache."""

    def __init__(self, config: CompressConfig | None = None, store: OriginalStore | None = None) -> None:
        self.config = config or CompressConfig()
        self.store = store
        self.registry = Registry(self.config.compressor_options)
        # Compressed units remembered (agents re-send every turn), least recently used out first.
        self._cache: LRUCache[_CacheKey, _UnitOutcome] = LRUCache(maxsize=self.config.cache_size)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe
        # What each log, JSON or code unit showed, for the units of its kind after it in a request.
        kinds = (LogPages(self.registry), JsonPages(), CodeReads())
        self._history = UnitHistory(self.registry, self.config.cache_size, kinds, self.config.max_unit_chars)

    # -- units ----------------------------------------------------------------------------

    def compress_text(
        self,
        text: str,
        context: SegmentContext | None = None,
        *,
        location: str = "text",
        provenance: Mapping[str, str] | None = None,
        kind: ContentKind | None = None,
        unit_digest: bytes | None = None,
    ) -> tuple[str, UnitReport]:
        """Compress one unit of content; never raises on content, never returns a longer text.

        `provenance` (agent_id, session_id, parent_ref, ...) is recorded with the stored original
        the first time it is stored. `kind` overrides detection (a caller that knows the content
        type); binary or already-compressed content ignores it, and a compressor that cannot take
        the content falls back to the detected kind. `unit_digest`: `text_digest(text)` when the
        caller has it already (`compress_request` hashes each unit once per request)."""
        context = context or SegmentContext()
        if len(text) < self.config.min_tokens:  # fewer chars than tokens: surely under the bar
            return text, self._untouched(location, count_tokens(text, self.config.encoding))
        key = _cache_key(unit_digest or text_digest(text), context, kind)
        found = self._cached(key, text, location)
        if found is not None:
            return found
        outcome = self._compress_uncached(text, context, location, provenance or {}, kind)
        with self._lock:
            self._cache[key] = outcome
        return outcome.text, outcome.report

    def _cached(self, key: _CacheKey, text: str, location: str) -> tuple[str, UnitReport] | None:
        """The output this unit got before, if it is remembered (and its original still stored)."""
        with self._lock:
            cached = self._cache.get(key)  # a hit makes it the most recently used
        if cached is not None and self._still_stored(cached.report.ref, text, cached.derived):
            return cached.text, _relocated(cached.report, location)
        return None

    def already_compressed(
        self, text: str, context: SegmentContext, *, location: str = "text", unit_digest: bytes | None = None
    ) -> tuple[str, UnitReport] | None:
        """The output `compress_text(text, context)` gave before, without compressing anything;
        None when this unit was never compressed (or is forgotten)."""
        if len(text) < self.config.min_tokens:
            return text, self._untouched(location, count_tokens(text, self.config.encoding))
        return self._cached(_cache_key(unit_digest or text_digest(text), context, None), text, location)

    def _still_stored(self, ref: str | None, text: str, derived: tuple[tuple[str, str], ...] = ()) -> bool:
        """A remembered lossy result is only reusable while its original (and the texts its
        markers cite beside it) are in the store: the store may have expired or evicted them
        since. Putting them again refreshes them (cheap when present); a store that fails now
        means compressing afresh (lossless)."""
        if ref is None:
            return True
        try:
            assert self.store is not None
            self.store.put(ref, text)
            for derived_ref, derived_text in derived:
                self.store.put(derived_ref, derived_text)
        except Exception:
            return False
        return True

    def _compress_uncached(
        self,
        text: str,
        context: SegmentContext,
        location: str,
        provenance: Mapping[str, str],
        kind_hint: ContentKind | None = None,
    ) -> _UnitOutcome:
        started = time.perf_counter()
        encoding = self.config.encoding
        tokens_before = count_tokens(text, encoding)
        if tokens_before < self.config.min_tokens:
            return _UnitOutcome(text, self._untouched(location, tokens_before))

        kind = ContentKind.TEXT
        applied = _Applied("passthrough", text, tokens_before)
        diagnostic: str | None = None
        try:
            if len(text) > self.config.max_unit_chars:
                raise _LeaveAlone(f"unit of {len(text):,} chars exceeds max_unit_chars: left untouched")
            # Line numbers, a command header, a reminder trailer: compress what is inside.
            envelope = open_envelope(text)
            wrapped = not envelope.bare and not envelope.terminal_codes  # codes are waste to take out
            if wrapped and count_tokens(envelope.body, encoding) < self.config.min_tokens:
                # The bar is for what a compressor would see: a Codex header or Read's numbers
                # must not lift a short output over it (the same grep, 240 tokens, passed whole
                # from Claude Code and was cut from Codex).
                return _UnitOutcome(text, self._untouched(location, tokens_before))
            detection = detect(envelope.body, context.file_path, self.registry)
            kind, language, diagnostic = detection.kind, detection.language, detection.note
            hinted = False
            if kind_hint is not None and kind_hint != kind:
                if kind in NEVER_COMPRESSED:
                    diagnostic = f"kind hint {kind_hint.value} ignored: content is {kind.value}"
                elif kind in _RECOGNIZED_SHAPES and kind_hint != ContentKind.TEXT:
                    # The content has a structure the sniffers are sure of (a log, a table, a
                    # diff...): another compressor would misread it (prose on a log keeps a line).
                    # "text" (leave it as plain text) is always honoured.
                    diagnostic = f"kind hint {kind_hint.value} does not fit: content is {kind.value}, compressed so"
                else:
                    try:  # the caller knows better than the sniffers, unless the content disagrees
                        segment = _segment(text, envelope, context, kind_hint, language)
                        applied = self._apply(segment, envelope, text, tokens_before, provenance)
                    except CompressorError as failed:
                        reason = type(failed.cause).__name__
                        diagnostic = f"kind hint {kind_hint.value} did not fit ({reason}); detected kind used"
                    else:
                        # Unless the caller asked for plain text, a hinted compressor that saved
                        # nothing on the unit gives way to the detected kind's (reported as such).
                        if applied.tokens >= tokens_before and kind_hint != ContentKind.TEXT:
                            diagnostic = f"kind hint {kind_hint.value} changed nothing; detected kind {kind.value} used"
                        else:
                            kind, hinted = kind_hint, True
            if not hinted:
                segment = _segment(text, envelope, context, kind, language)
                applied = self._apply(segment, envelope, text, tokens_before, provenance)
            diagnostic = applied.diagnostic or diagnostic
        except _LeaveAlone as why:
            diagnostic = str(why)
        except Exception as exc:  # a compressor bug must never cost the user their content
            name, error = (exc.compressor, exc.cause) if isinstance(exc, CompressorError) else ("pipeline", exc)
            log.warning("%s failed on %s (%s): %s", name, location, kind.value, type(error).__name__)
            diagnostic = f"{name} failed: {type(error).__name__}: {str(error)[:200]}"
            applied = _Applied(name, text, tokens_before)
        if applied.tokens >= tokens_before:  # never send more than the original
            applied = _Applied(applied.name, text, tokens_before)
        output = applied.text
        report = UnitReport(
            location=location,
            kind=kind.value,
            compressor=applied.name if output != text else "passthrough",
            tokens_before=tokens_before,
            tokens_after=applied.tokens,
            ref=applied.ref,
            diagnostic=diagnostic,
            time_ms=(time.perf_counter() - started) * 1000,
            notes=dict(applied.notes),
        )
        return _UnitOutcome(output, report, applied.derived if output != text else ())

    def _apply(
        self,
        segment: Segment,
        envelope: Envelope,
        original: str,
        tokens_before: int,
        provenance: Mapping[str, str],
    ) -> _Applied:
        """Run the compressor routed for `segment.kind` on the envelope's body and close the
        envelope around its output; any error of the compressor is raised as `CompressorError`."""
        compressor = route(segment.kind, json_text=segment.text.lstrip()[:1] in ("{", "["), registry=self.registry)
        if compressor is None:
            return _Applied("passthrough", original, tokens_before)
        try:
            result = compressor.compress(segment)
        except CompressorError as exc:  # the compressor declined the input itself
            raise CompressorError(str(exc), compressor=compressor.name, cause=exc.cause) from exc
        except Exception as exc:
            raise CompressorError(str(exc), compressor=compressor.name, cause=exc) from exc

        def close(body: str, *, shortened: bool) -> str:
            if envelope.bare:
                return body
            # Code keeps its own numbers; JSON is re-laid out, so no line keeps its number.
            return envelope.close(body, renumber=segment.kind not in _RENUMBERS_ITSELF, compact=shortened)

        lossy, notes = result.lossy, result.notes
        body = _keep_truncation_note(segment.text, result.text) if lossy else result.text
        if envelope.terminal_codes:
            # The codes are gone from whatever the compressor wrote: the original keeps them.
            marked = _note_terminal_codes(body, segment.ref)
            if marked is None:
                return _Applied("passthrough", original, tokens_before, diagnostic=_CODES_KEPT)
            body, lossy, notes = marked, True, {**notes, "terminal_codes": envelope.terminal_codes}
        text = close(body, shortened=lossy)
        if segment.kind in _SHORTENS_IDS:
            text, shortened = _shorten_ids(text, envelope, segment, lossy)
            if shortened:
                lossy, notes = True, {**notes, "ids_shortened": shortened}
        tokens_after = count_tokens(text, self.config.encoding)
        if not lossy:
            return _Applied(compressor.name, text, tokens_after, notes=notes)

        def lossless() -> str:  # computed only when the lossy form cannot be used
            if result.lossless_text is None or envelope.terminal_codes:
                return original
            return close(result.lossless(segment.text), shortened=False)

        text, tokens, ref, diagnostic, derived = self._settle_lossy(
            segment, original, text, lossless, tokens_before, tokens_after, provenance, result.derived
        )
        return _Applied(compressor.name, text, tokens, ref, diagnostic, notes, derived)

    def _settle_lossy(
        self,
        segment: Segment,
        original: str,
        lossy: str,
        lossless: Callable[[], str],
        tokens_before: int,
        tokens_after: int,
        provenance: Mapping[str, str],
        derived: Mapping[str, str],
    ) -> tuple[str, int, str | None, str | None, tuple[tuple[str, str], ...]]:
        """Keep a lossy output only if it pays and the unit's original (and the `derived` texts
        its markers cite) are safely stored; else the best lossless rendering. Returns (text,
        tokens, ref, diagnostic, the derived texts as stored)."""
        if tokens_after > tokens_before * (1 - self.config.min_lossy_savings):
            return self._lossless(lossless(), None)
        if not self.config.lossy:
            return self._lossless(lossless(), "lossy compression disabled")
        if self.store is None:
            return self._lossless(lossless(), "no store configured: lossless only")
        stored: list[tuple[str, str]] = []
        try:
            meta = {**provenance, "tool": segment.context.tool_name or "", "kind": segment.kind.value}
            cited = {segment.ref: put_original(self.store, segment.ref, original, meta)}
            for derived_ref, derived_text in derived.items():
                cited[derived_ref] = put_original(self.store, derived_ref, derived_text, meta)
                stored.append((cited[derived_ref], derived_text))
        except Exception as exc:  # store down / disk full: never drop what cannot be fetched back
            log.warning("CCR store unavailable (%s): falling back to lossless", type(exc).__name__)
            diagnostic = f"store unavailable ({type(exc).__name__}): lossless only"
            return self._lossless(lossless(), diagnostic)
        for asked, given in cited.items():
            if given != asked:  # the short ref holds other content: markers cite the long one
                lossy = lossy.replace(f"ref={asked}]", f"ref={given}]")
                tokens_after = count_tokens(lossy, self.config.encoding)
        return lossy, tokens_after, cited[segment.ref], None, tuple(stored)

    def _lossless(
        self, text: str, diagnostic: str | None
    ) -> tuple[str, int, None, str | None, tuple[tuple[str, str], ...]]:
        # Without a compressor's own lossless rendering, the original exactly: even whitespace
        # can matter (string literals in code, markdown line breaks).
        return text, count_tokens(text, self.config.encoding), None, diagnostic, ()

    @staticmethod
    def _untouched(location: str, tokens: int) -> UnitReport:
        return UnitReport(location, ContentKind.TEXT.value, "passthrough", tokens, tokens)

    # -- requests -------------------------------------------------------------------------

    def compress_request(
        self,
        request: Mapping[str, Any],
        provider: str = "auto",
        *,
        protect: Callable[[Unit], bool] | None = None,
        provenance: Mapping[str, str] | None = None,
        not_compressed: list[Unit] | None = None,
    ) -> CompressedRequest:
        """Compress every unit of a whole request; returns a new request (the input is untouched).

        `protect(unit)` returning True keeps that unit whole (e.g. the proxy's edit-safety policy
        for a file read right before an edit). With `not_compressed` (a list), nothing new is
        compressed: units compressed before get their earlier output, the others stay whole and
        are appended to it (the proxy's fail-open path once the time budget is spent)."""
        started = time.perf_counter()
        format_name, adapter = adapter_for(provider, request)
        encoding = self.config.encoding
        try:
            # `messages` is always a list; a Responses `input` may also be one plain string.
            if "messages" in request and not isinstance(request["messages"], list):
                raise TypeError("messages is not a list")
            if "input" in request and not isinstance(request["input"], (list, str)):
                raise TypeError("input is not a list or a string")
            split = adapter.split(request, min_chars=self.config.min_tokens)
        except Exception as exc:  # a request shape the adapter cannot walk: sent exactly as it came
            log.warning("%s adapter could not read the request: %s", format_name, type(exc).__name__)
            note = f"request not readable as {format_name} ({type(exc).__name__}): left untouched"
            stats = CompressStats(
                0, 0, (time.perf_counter() - started) * 1000, format_name, encoding, diagnostics=(note,)
            )
            return CompressedRequest(dict(request), stats)
        fixed_tokens = sum(count_tokens(t, encoding) for t in split.fixed_texts)
        replacements: dict[tuple[str | int, ...], str] = {}
        reports: list[UnitReport] = []
        # The earlier units of each kind with a history (log pages, JSON pages): a later page
        # does not repeat what they showed.
        earlier: Histories = {}
        for unit in split.units:
            # Only units of a kind with a history read the units before them: others keep their key.
            unit_digest = text_digest(unit.text)  # once: the history and the unit cache both key on it
            of_kind = self._history.member(unit.text, unit.context.file_path, unit_digest)
            context = self._history.context(unit.context, earlier, of_kind)
            # Originals fetched back through CCR are what the model asked for: never re-compressed.
            if (
                unit.context.tool_name == RETRIEVE_TOOL_NAME
                or (unit.role == "document" and not self.config.compress_user_documents)
                or (protect is not None and protect(unit))
            ):
                tokens = count_tokens(unit.text, encoding)
                reports.append(UnitReport(_location(unit), "protected", "passthrough", tokens, tokens))
                earlier = self._history.after(earlier, of_kind, unit.text, unit.text)
                continue
            if not_compressed is not None:
                found = self.already_compressed(unit.text, context, location=_location(unit), unit_digest=unit_digest)
                if found is None:
                    not_compressed.append(unit)
                    tokens = count_tokens(unit.text, encoding)
                    reports.append(UnitReport(_location(unit), "pending", "passthrough", tokens, tokens))
                    earlier = self._history.after(earlier, of_kind, unit.text, unit.text)
                    continue
                output, report = found
            else:
                output, report = self.compress_text(
                    unit.text, context, location=_location(unit), provenance=provenance, unit_digest=unit_digest
                )
            reports.append(report)
            earlier = self._history.after(earlier, of_kind, unit.text, output)
            if output != unit.text:
                replacements[unit.path] = output
        new_request = replace_paths(request, replacements) if replacements else dict(request)
        stats = CompressStats(
            tokens_before=fixed_tokens + sum(r.tokens_before for r in reports),
            tokens_after=fixed_tokens + sum(r.tokens_after for r in reports),
            time_ms=(time.perf_counter() - started) * 1000,
            format=format_name,
            tokenizer=encoding,
            transforms=_by_transform(reports),
            units=tuple(reports),
            diagnostics=split.notes + tuple(f"{r.location}: {r.diagnostic}" for r in reports if r.diagnostic),
        )
        return CompressedRequest(new_request, stats)


# Kinds detected from a structure the sniffers verify (not guessed from word statistics).
_RECOGNIZED_SHAPES = frozenset(
    {
        ContentKind.JSON,
        ContentKind.JSON_PAGE,
        ContentKind.LOGS,
        ContentKind.SEARCH,
        ContentKind.DIFF,
        ContentKind.COMMITS,
        ContentKind.DIAGNOSTICS,
        ContentKind.TEST_REPORT,
        ContentKind.TABLE,
        ContentKind.PATHS,
        ContentKind.HTML,
        ContentKind.XML,
        ContentKind.YAML,
        ContentKind.REPEATS,
    }
)

# Kinds whose compressor output is not a subset of the body's lines. Search lines carry their
# own `path:line` (the reader's numbers of a saved grep output say nothing more), and their
# indentation is trimmed, so only some would match back: none get one, rather than a few. An
# HTML page comes back as Markdown: a line that happens to match would carry a misleading number.
_RENUMBERS_ITSELF = frozenset({ContentKind.CODE, ContentKind.JSON, ContentKind.SEARCH, ContentKind.HTML})


# Kinds whose repeated hex ids (request UUIDs, hashes) are shortened after their first use.
_SHORTENS_IDS = frozenset({ContentKind.LOGS, ContentKind.SEARCH})


def _shorten_ids(text: str, envelope: Envelope, segment: Segment, lossy: bool) -> tuple[str, int]:
    """`text` (a closed envelope) with the repeated ids of its body shortened; a marker with
    the ref says so when the compressor dropped nothing else (and so wrote none)."""
    head, tail = ("", "") if envelope.bare else (envelope.head, envelope.tail)
    body = text[len(head) : len(text) - len(tail)]
    body, shortened = shorten_repeated_ids(body, segment.text)
    if segment.kind == ContentKind.LOGS:
        body, sources = shorten_line_sources(body, segment.text)
        shortened += sources
    if shortened and not lossy:
        note = marker(f"{shortened} repeated ids shortened to their first characters and …", segment.ref)
        body = f"{body}\n{note}" if body and not body.endswith("\n") else f"{body}{note}\n"
    return head + body + tail, shortened


def _keep_truncation_note(body: str, compressed: str) -> str:
    """The compressed body, telling the model the client cut the output when the compressor
    dropped the client's own note saying so (a Codex note falls mid-line, inside a record)."""
    note = TRUNCATION_NOTE.search(body)
    if note is None or note.group(0) in compressed:
        return compressed
    if _parses_as_json(compressed):  # a JSON unit, search hits given as JSON: it must stay JSON
        return compressed
    return marker(f"the client had already cut this output: {note.group(0)}", None) + "\n" + compressed


_CODES_KEPT = "terminal codes kept: the output is JSON with no marker to say they were taken out"


def _note_terminal_codes(body: str, ref: str) -> str | None:
    """A compressed body whose envelope's terminal codes were taken out, with a marker citing
    the original unless one already does; None when it is JSON, which no marker line may
    precede."""
    if f"ref={ref}]" in body:
        return body
    if _parses_as_json(body):
        return None
    return marker("what a terminal does not show (control codes, overwritten progress) removed", ref) + "\n" + body


def _parses_as_json(text: str) -> bool:
    if text.lstrip()[:1] not in ("{", "["):
        return False
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _segment(
    text: str, envelope: Envelope, context: SegmentContext, kind: ContentKind, language: str | None
) -> Segment:
    """What the compressor sees: the unit itself, or the body of its envelope, whose markers
    point at the whole unit's original (what the store keeps) by the line numbers shown."""
    if envelope.bare:
        return Segment(text, context, kind, language)
    body = envelope.numbered_body() if kind == ContentKind.CODE else envelope.body
    return Segment(
        body,
        context,
        kind,
        language,
        parent_ref=content_ref(text),
        first_line=envelope.first_line,
        numbered=envelope.prefixes is not None,
    )


def _location(unit: Unit) -> str:
    head, *rest = unit.path
    return str(head) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)


def _relocated(report: UnitReport, location: str) -> UnitReport:
    if report.location == location:
        return report
    return UnitReport(
        location,
        report.kind,
        report.compressor,
        report.tokens_before,
        report.tokens_after,
        report.ref,
        report.diagnostic,
        0.0,
        report.notes,
    )


def _by_transform(reports: list[UnitReport]) -> dict[str, TransformStats]:
    totals: dict[str, list[int]] = {}
    for report in reports:
        entry = totals.setdefault(report.compressor, [0, 0, 0])
        entry[0] += 1
        entry[1] += report.tokens_before
        entry[2] += report.tokens_after
    return {name: TransformStats(name, *values) for name, values in sorted(totals.items())}
