"""What the ledger's rows add up to: the one report behind `headroom stats`, the proxy's /stats
("ledger") and /dashboard, so all three show the same numbers.

Also: building a ledger row from a compression's stats (`request_record`), and reading
`--since` values ("7d", "12h", "2025-06-01").
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from headroom.ccr.ledger import RequestRecord, UnitSample
from headroom.formats import FORMATS
from headroom.pricing import TokenCounts
from headroom.results import CompressStats

__all__ = ["parse_since", "report", "request_record", "text_at"]

_LOCATION_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_SINCE_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def text_at(request: Any, location: str) -> str | None:
    """The string at a unit's location (`messages[3].content[0].content`) in `request`."""
    node = request
    for index, key in _LOCATION_PART.findall(location):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node if isinstance(node, str) else None


def request_record(
    source: str,
    stats: CompressStats,
    compressed: Mapping[str, Any] | None = None,
    *,
    model: str | None = None,
    provider: str | None = None,
    client: str = "",
    path: str = "",
    latency_ms: float | None = None,
    fail_open: str = "",
    retrieval_rounds: int = 0,
    usage: TokenCounts | None = None,
    cache_break_tokens: int = 0,
    unit_texts: Mapping[str, str] | None = None,
) -> RequestRecord:
    """A ledger row for one compression. Compressed units (those with a ref) are sampled from
    `compressed` (the request as sent) by location, or from `unit_texts` (location -> text)."""
    samples: list[UnitSample] = []
    for unit in stats.units:
        if unit.ref is None:
            continue
        text = (unit_texts or {}).get(unit.location)
        if text is None and compressed is not None:
            text = text_at(compressed, unit.location)
        if text is not None:
            samples.append(
                UnitSample(unit.ref, unit.location, unit.compressor, unit.tokens_before, unit.tokens_after, text)
            )
    return RequestRecord(
        source=source,
        tokens_before=stats.tokens_before,
        tokens_after=stats.tokens_after,
        client=client,
        model=model or "",
        provider=provider or _provider_of(stats.format),
        path=path,
        compressors={t.name: (t.units, t.tokens_before, t.tokens_after) for t in stats.transforms.values()},
        retrieval_rounds=retrieval_rounds,
        latency_ms=round(stats.time_ms if latency_ms is None else latency_ms, 3),
        fail_open=fail_open,
        usage=usage,
        cache_break_tokens=cache_break_tokens,
        units=tuple(samples),
    )


def _provider_of(format_name: str) -> str:
    """The upstream that speaks a wire format ("" for text, which no API carries)."""
    wire_format = FORMATS.get(format_name)
    return wire_format.provider if wire_format is not None else ""


def parse_since(text: str, now: float | None = None) -> float:
    """`7d`, `12h`, `30m`, `2w` (ago), or a date / date-time (`2025-06-01`, local time) -> unix time.
    Raises ValueError with the accepted forms."""
    now = time.time() if now is None else now
    match = _SINCE.match(text)
    if match:
        return now - float(match.group(1)) * _SINCE_SECONDS[match.group(2).lower()]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(f"cannot read {text!r}: use 30m, 12h, 7d, 2w or a date like 2025-06-01") from None


def _percentile(ordered: Sequence[float], q: float) -> float | None:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else None


def _group() -> dict[str, Any]:
    return {"requests": 0, "tokens_before": 0, "tokens_after": 0, "tokens_saved": 0, "usd_saved": 0.0}


def _add(group: dict[str, Any], rec: RequestRecord) -> None:
    group["requests"] += 1
    group["tokens_before"] += rec.tokens_before
    group["tokens_after"] += rec.tokens_after
    group["tokens_saved"] += rec.tokens_saved
    group["usd_saved"] += rec.usd_saved or 0.0


def _finish(groups: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for group in groups.values():
        before = group["tokens_before"]
        group["savings_percent"] = round(100.0 * group["tokens_saved"] / before, 2) if before else 0.0
        group["usd_saved"] = round(group["usd_saved"], 6)
    return dict(sorted(groups.items()))


def _day(at: float) -> tuple[str, int]:
    moment = datetime.fromtimestamp(at)
    return moment.date().isoformat(), moment.hour


def report(records: Iterable[RequestRecord], *, since: float | None = None) -> dict[str, Any]:
    """Totals and breakdowns (by source, day, model, client, compressor) of ledger rows.

    Days are local dates; each day has `hourly`, tokens saved per hour (for sparklines)."""
    rows = sorted(records, key=lambda r: (r.at, r.id))
    total = _group()
    by_source: dict[str, dict[str, Any]] = {}
    by_day: dict[str, dict[str, Any]] = {}
    by_model: dict[str, dict[str, Any]] = {}
    by_client: dict[str, dict[str, Any]] = {}
    by_compressor: dict[str, dict[str, Any]] = {}
    fail_open: dict[str, int] = {}
    usage = {"requests": 0, "input_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 0}
    latencies: list[float] = []
    usd_cost = usd_break = 0.0
    unpriced = breaks = break_tokens = rounds = 0
    for rec in rows:
        _add(total, rec)
        _add(by_source.setdefault(rec.source, _group()), rec)
        _add(by_model.setdefault(rec.model or "unknown", _group()), rec)
        _add(by_client.setdefault(rec.client or rec.source, _group()), rec)
        date, hour = _day(rec.at)
        day = by_day.setdefault(date, {**_group(), "hourly": [0] * 24})
        _add(day, rec)
        day["hourly"][hour] += rec.tokens_saved
        for name, (units, before, after) in rec.compressors.items():
            entry = by_compressor.setdefault(name, {"units": 0, "tokens_before": 0, "tokens_after": 0})
            entry["units"] += units
            entry["tokens_before"] += before
            entry["tokens_after"] += after
        if rec.fail_open:
            for reason in rec.fail_open.split(","):
                fail_open[reason] = fail_open.get(reason, 0) + 1
        if rec.usage is not None:
            usage["requests"] += 1
            usage["input_tokens"] += rec.usage.input_tokens
            usage["cache_read_tokens"] += rec.usage.cache_read_tokens
            usage["cache_write_tokens"] += rec.usage.cache_write_tokens
            usage["output_tokens"] += rec.usage.output_tokens
        if rec.usd_saved is None:
            unpriced += rec.tokens_saved
        usd_cost += rec.usd_cost or 0.0
        if rec.cache_break_tokens:
            breaks += 1
            break_tokens += rec.cache_break_tokens
            usd_break += rec.usd_cache_break
        rounds += rec.retrieval_rounds
        latencies.append(rec.latency_ms)
    for entry in by_compressor.values():
        entry["tokens_saved"] = entry["tokens_before"] - entry["tokens_after"]
    prompt = usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]
    latencies.sort()
    totals = _finish({"all": total})["all"]
    totals.update(
        usd_cost=round(usd_cost, 6),
        tokens_saved_unpriced=unpriced,
        retrieval_rounds=rounds,
        cache_breaks=breaks,
        cache_break_tokens=break_tokens,
        usd_cache_break=round(usd_break, 6),
    )
    return {
        "since": since,
        "first_at": rows[0].at if rows else None,
        "last_at": rows[-1].at if rows else None,
        "totals": totals,
        "by_source": _finish(by_source),
        "by_day": _finish(by_day),
        "by_model": _finish(by_model),
        "by_client": _finish(by_client),
        "by_compressor": dict(sorted(by_compressor.items())),
        "fail_open": dict(sorted(fail_open.items())),
        "cache": {**usage, "hit_rate": round(usage["cache_read_tokens"] / prompt, 4) if prompt else 0.0},
        "latency_ms": {
            "p50": _percentile(latencies, 0.5),
            "p90": _percentile(latencies, 0.9),
            "p99": _percentile(latencies, 0.99),
            "count": len(latencies),
        },
    }
