"""What the proxy counts: /stats (JSON) and /metrics (Prometheus).

Every app gets its own Prometheus registry, so several proxies (tests, benchmarks) can live in
one process. Aggregates are updated from the event loop and from compression threads (audit
mode), hence the lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from headroom.formats.usage import Usage
from headroom.pricing import input_price_per_mtok
from headroom.results import CompressStats

__all__ = ["ProxyMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SAMPLES = 4096  # recent latencies kept for percentiles


def _percentiles(samples: Iterable[float]) -> dict[str, float | None]:
    ordered = sorted(samples)
    if not ordered:
        return {"p50": None, "p90": None, "p99": None, "count": 0}

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "count": len(ordered)}


def _child(children: dict[str, Counter], parent: Counter, label: str) -> Counter:
    child = children.get(label)
    if child is None:  # a race only creates the same child twice (prometheus keeps one)
        child = children[label] = parent.labels(label)
    return child


@dataclass(slots=True)
class _ModelTotals:
    requests: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    usage: Usage = field(default_factory=Usage)


class ProxyMetrics:
    def __init__(self) -> None:
        self.started = time.time()
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.statuses: dict[str, int] = {}
        self.fail_open: dict[str, int] = {}
        self.models: dict[str, _ModelTotals] = {}
        self.transforms: dict[str, list[int]] = {}  # name -> [units, before, after]
        self.usage = Usage()
        self.protected_units = 0
        self.retrieval_calls = 0
        self.retrieval_rounds = 0
        self.compress_ms: deque[float] = deque(maxlen=_SAMPLES)
        self.overhead_ms: deque[float] = deque(maxlen=_SAMPLES)
        self.ttfb_ms: deque[float] = deque(maxlen=_SAMPLES)

        self.registry = CollectorRegistry()
        r = self.registry
        self._p_requests = Counter("headroom_proxy_requests", "Requests by route", ["route"], registry=r)
        self._p_responses = Counter("headroom_proxy_responses", "Responses by status", ["status"], registry=r)
        self._p_fail_open = Counter("headroom_proxy_fail_open", "Originals sent uncompressed", ["reason"], registry=r)
        self._p_tokens = Counter("headroom_proxy_tokens", "Request tokens (o200k)", ["stage"], registry=r)
        self._p_usage = Counter("headroom_proxy_usage_tokens", "Provider-reported tokens", ["kind"], registry=r)
        self._p_retrieval = Counter("headroom_proxy_retrieval_calls", "headroom_retrieve calls answered", registry=r)
        self._p_protected = Counter("headroom_proxy_protected_units", "Units kept whole (edit safety)", registry=r)
        self._p_compress = Histogram(
            "headroom_proxy_compress_seconds", "Compression time", buckets=_LATENCY_BUCKETS, registry=r
        )
        self._p_overhead = Histogram(
            "headroom_proxy_overhead_seconds",
            "Time from request received to upstream request sent",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # Children by label value: `labels()` validates and looks them up under a lock each time.
        self._c_requests: dict[str, Counter] = {}
        self._c_responses: dict[str, Counter] = {}

    # -- recording ----------------------------------------------------------------------------

    def request(self, route: str) -> None:
        with self._lock:
            self.requests[route] = self.requests.get(route, 0) + 1
        _child(self._c_requests, self._p_requests, route).inc()

    def response(self, status: int) -> None:
        key = f"{status // 100}xx"
        with self._lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1
        _child(self._c_responses, self._p_responses, key).inc()

    def failed_open(self, reason: str) -> None:
        with self._lock:
            self.fail_open[reason] = self.fail_open.get(reason, 0) + 1
        self._p_fail_open.labels(reason).inc()

    def compression(self, model: str | None, stats: CompressStats, elapsed_ms: float, protected: int = 0) -> None:
        with self._lock:
            totals = self.models.setdefault(model or "unknown", _ModelTotals())
            totals.requests += 1
            totals.tokens_before += stats.tokens_before
            totals.tokens_after += stats.tokens_after
            for name, t in stats.transforms.items():
                entry = self.transforms.setdefault(name, [0, 0, 0])
                entry[0] += t.units
                entry[1] += t.tokens_before
                entry[2] += t.tokens_after
            self.protected_units += protected
            self.compress_ms.append(elapsed_ms)
        self._p_tokens.labels("before").inc(stats.tokens_before)
        self._p_tokens.labels("after").inc(stats.tokens_after)
        self._p_protected.inc(protected)
        self._p_compress.observe(elapsed_ms / 1000)

    def overhead(self, elapsed_ms: float) -> None:
        with self._lock:
            self.overhead_ms.append(elapsed_ms)
        self._p_overhead.observe(elapsed_ms / 1000)

    def first_byte(self, elapsed_ms: float) -> None:
        with self._lock:
            self.ttfb_ms.append(elapsed_ms)

    def usage_report(self, model: str | None, usage: Usage) -> None:
        with self._lock:
            self.usage = self.usage + usage
            totals = self.models.setdefault(model or "unknown", _ModelTotals())
            totals.usage = totals.usage + usage
        for kind, value in (
            ("input", usage.input_tokens),
            ("cache_read", usage.cache_read_tokens),
            ("cache_write", usage.cache_write_tokens),
            ("output", usage.output_tokens),
        ):
            self._p_usage.labels(kind).inc(value)

    def retrieval(self, calls: int, rounds: int) -> None:
        with self._lock:
            self.retrieval_calls += calls
            self.retrieval_rounds += rounds
        self._p_retrieval.inc(calls)

    # -- reading ------------------------------------------------------------------------------

    def prometheus(self) -> bytes:
        return generate_latest(self.registry)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            before = sum(m.tokens_before for m in self.models.values())
            after = sum(m.tokens_after for m in self.models.values())
            dollars, unpriced = 0.0, 0
            per_model: dict[str, Any] = {}
            for name, m in sorted(self.models.items()):
                price = input_price_per_mtok(name)
                saved = m.tokens_before - m.tokens_after
                if price is None:
                    unpriced += saved
                else:
                    dollars += saved * price / 1e6
                per_model[name] = {
                    "requests": m.requests,
                    "tokens_before": m.tokens_before,
                    "tokens_after": m.tokens_after,
                    "tokens_saved": saved,
                    "usd_saved": None if price is None else round(saved * price / 1e6, 6),
                    "cache_hit_rate": round(m.usage.hit_rate, 4),
                }
            return {
                "uptime_s": round(time.time() - self.started, 1),
                "requests": dict(self.requests),
                "responses": dict(self.statuses),
                "fail_open": dict(self.fail_open),
                "tokens_before": before,
                "tokens_after": after,
                "tokens_saved": before - after,
                "savings_percent": round(100 * (before - after) / before, 2) if before else 0.0,
                # Saved tokens valued at the uncached input price: an upper bound.
                "usd_saved_estimate": round(dollars, 6),
                "tokens_saved_unpriced": unpriced,
                "cache": {
                    "input_tokens": self.usage.input_tokens,
                    "cache_read_tokens": self.usage.cache_read_tokens,
                    "cache_write_tokens": self.usage.cache_write_tokens,
                    "output_tokens": self.usage.output_tokens,
                    "hit_rate": round(self.usage.hit_rate, 4),
                },
                "transforms": {
                    name: {"units": u, "tokens_before": b, "tokens_after": a, "tokens_saved": b - a}
                    for name, (u, b, a) in sorted(self.transforms.items())
                },
                "protected_units": self.protected_units,
                "retrieval": {"calls": self.retrieval_calls, "rounds": self.retrieval_rounds},
                "models": per_model,
                "latency_ms": {
                    "compress": _percentiles(self.compress_ms),
                    "overhead": _percentiles(self.overhead_ms),
                    "upstream_first_byte": _percentiles(self.ttfb_ms),
                },
            }
