"""Compressing one text as a kind the caller names (``content_type="logs"``) instead of the detected one.

The pipeline always detects the kind itself. An agent calling `headroom_compress` often knows better
(a log file with few timestamps, code in an unusual language), so a hint routes the text straight to
that kind's compressor. The same safety rules as the pipeline apply: content that must not be touched
(binary, already compressed) ignores the hint, a compressor that fails or does not pay falls back, and
a lossy result is only kept when its original is safely stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from headroom.compressors.passthrough import normalize_whitespace
from headroom.pipeline import Pipeline
from headroom.results import UnitReport
from headroom.routing.detect import detect
from headroom.routing.router import NEVER_COMPRESSED, route
from headroom.segments import ContentKind, Segment, SegmentContext
from headroom.tokens import count_tokens

__all__ = ["CONTENT_TYPES", "compress_as"]

# What `content_type` may name: "auto" (detect) or a kind with a compressor behind it.
CONTENT_TYPES: dict[str, ContentKind | None] = {
    "auto": None,
    "json": ContentKind.JSON,
    "code": ContentKind.CODE,
    "logs": ContentKind.LOGS,
    "search": ContentKind.SEARCH,
    "diff": ContentKind.DIFF,
    "prose": ContentKind.PROSE,
    "text": ContentKind.TEXT,
}


def _with_note(report: UnitReport, note: str) -> UnitReport:
    diagnostic = f"{note}; {report.diagnostic}" if report.diagnostic else note
    return UnitReport(
        report.location,
        report.kind,
        report.compressor,
        report.tokens_before,
        report.tokens_after,
        report.ref,
        diagnostic,
        report.time_ms,
        report.notes,
    )


def compress_as(
    pipeline: Pipeline,
    text: str,
    context: SegmentContext,
    kind: ContentKind,
    *,
    original_stored: Callable[[], bool],
) -> tuple[str, UnitReport, bool]:
    """(compressed text, report, lossy) for `text` compressed as `kind`.

    `original_stored()` is asked only when the result is lossy; it must store the original under
    the text's ref and say whether that worked (if not, the lossless form is returned)."""
    config = pipeline.config
    detected = detect(text)
    if detected.kind in NEVER_COMPRESSED or detected.kind == kind or len(text) > config.max_unit_chars:
        # Nothing to force: the pipeline's own path gives the same (or the only safe) answer.
        output, report = pipeline.compress_text(text, context, location="content")
        if detected.kind in NEVER_COMPRESSED and detected.kind != kind:
            report = _with_note(report, f"content_type={kind.value} ignored: content is {detected.kind.value}")
        return output, report, report.ref is not None

    started = time.perf_counter()
    encoding = config.encoding
    tokens_before = count_tokens(text, encoding)
    compressor = route(kind, json_text=text.lstrip()[:1] in ("{", "["))
    if tokens_before < config.min_tokens or compressor is None:
        output, report = pipeline.compress_text(text, context, location="content")
        if compressor is None:
            report = _with_note(report, f"no compressor for content_type={kind.value}; detected kind used")
        return output, report, report.ref is not None

    name, diagnostic, lossy = compressor.name, None, False
    try:
        result = compressor.compress(Segment(text, context, kind))
        output, tokens_after, lossy = result.text, count_tokens(result.text, encoding), result.lossy
        if lossy and (tokens_after > tokens_before * (1 - config.min_lossy_savings) or not original_stored()):
            # A lossy result that saves little, or whose original could not be stored: lossless only.
            output = result.lossless_text if result.lossless_text is not None else normalize_whitespace(text)
            tokens_after, lossy = count_tokens(output, encoding), False
    except Exception as exc:  # the hint did not fit this content: fall back to detection
        output, report = pipeline.compress_text(text, context, location="content")
        note = f"content_type={kind.value} failed ({type(exc).__name__}: {str(exc)[:120]}); detected kind used"
        return output, _with_note(report, note), report.ref is not None
    if tokens_after >= tokens_before:  # never more than the original
        output, tokens_after, lossy = text, tokens_before, False
        diagnostic = f"{name} did not shrink this content as {kind.value}"
    report = UnitReport(
        location="content",
        kind=kind.value,
        compressor=name if output != text else "passthrough",
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        ref=Segment(text).ref if lossy else None,
        diagnostic=diagnostic,
        time_ms=(time.perf_counter() - started) * 1000,
        notes=dict(result.notes) if output != text else {},
    )
    return output, report, lossy
