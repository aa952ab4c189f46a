"""The proxy's own endpoints (/health, /stats, /metrics, /v1/compress) and its modes."""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest

from headroom.ccr.markers import find_refs
from headroom.proxy import ProxyServer, is_proxy_running
from tests.factories import anthropic_request, openai_request, responses_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY, ROWS, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_health(proxy: ProxyServer) -> None:
    body = httpx.get(proxy.url + "/health").json()
    assert body["status"] == "ok" and body["service"] == "headroom-proxy" and body["mode"] == "optimize"
    assert is_proxy_running(proxy.url)
    assert not is_proxy_running("http://127.0.0.1:9")


def test_stats_and_metrics(upstream: FakeUpstream) -> None:
    with start_proxy(upstream.url) as proxy:  # type: ignore[attr-defined]
        client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
        client.messages.create(**anthropic_request(HDFS_LOG))
        client.messages.create(**anthropic_request(HDFS_LOG))  # same prefix again: a cache hit upstream
        openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0).chat.completions.create(
            **openai_request(ROWS)
        )
        stats = httpx.get(proxy.url + "/stats").json()
        metrics = httpx.get(proxy.url + "/metrics").text
    assert stats["requests"] == {"anthropic_messages": 2, "openai_chat": 1}
    assert stats["responses"] == {"2xx": 3}
    assert stats["tokens_saved"] == stats["tokens_before"] - stats["tokens_after"] > 0
    assert stats["usd_saved_estimate"] > 0
    assert set(stats["transforms"]) >= {"logs", "json"}
    assert stats["models"]["claude-sonnet-4-5"]["requests"] == 2
    assert stats["models"]["claude-sonnet-4-5"]["cache_hit_rate"] > 0.4
    assert 0 < stats["cache"]["hit_rate"] < 1
    assert stats["latency_ms"]["compress"]["count"] == 3 and stats["latency_ms"]["overhead"]["p50"] is not None
    assert stats["store"]["backend"] == "memory" and stats["store"]["items"] >= 1
    assert 'headroom_proxy_requests_total{route="anthropic_messages"} 2.0' in metrics
    assert "headroom_proxy_tokens_total" in metrics and "headroom_proxy_compress_seconds_bucket" in metrics
    assert 'headroom_proxy_usage_tokens_total{kind="cache_read"}' in metrics


def test_compress_endpoint_request(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    request = anthropic_request(HDFS_LOG)
    body = httpx.post(proxy.url + "/v1/compress", json=request).json()
    assert body["format"] == "anthropic"
    compressed = body["request"]["messages"][2]["content"][0]["content"]
    assert find_refs(compressed) and len(compressed) < len(HDFS_LOG) / 4
    assert body["stats"]["tokens_after"] < body["stats"]["tokens_before"]
    wrapped = httpx.post(
        proxy.url + "/v1/compress", json={"request": responses_request(HDFS_LOG), "provider": "responses"}
    ).json()
    assert wrapped["format"] == "responses"
    assert not upstream.received  # nothing was forwarded


def test_compress_endpoint_text(proxy: ProxyServer) -> None:
    body = httpx.post(
        proxy.url + "/v1/compress",
        json={
            "text": HDFS_LOG,
            "tool_name": "Bash",
            "tool_arguments": {"command": "cat hdfs.log"},
            "query": "why did the block transfer fail?",
        },
    ).json()
    assert len(body["text"]) < len(HDFS_LOG) / 4 and "WARN" in body["text"]
    assert body["stats"]["transforms"]["logs"]["units"] == 1


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"hello": "world"}', 400),
        (b'{"messages": "nope"}', 200),
        (b'{"messages": true}', 200),  # tripped the edit-safety walk: was a 500
        (b'{"input": 5, "provider": "responses"}', 200),
        (b'{"messages": [{"role": "user", "content": "x"}], "seed": 123456789012345678901234567890}', 400),
    ],
)
def test_compress_endpoint_bad_input(proxy: ProxyServer, payload: bytes, status: int) -> None:
    response = httpx.post(proxy.url + "/v1/compress", content=payload)
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_compress_endpoint_fails_open_on_a_shape_it_trips_over(proxy: ProxyServer) -> None:
    response = httpx.post(proxy.url + "/v1/compress", json={"messages": True, "model": "m"})
    assert response.status_code == 200
    assert response.json()["request"] == {"messages": True, "model": "m"}  # unchanged


def test_audit_mode_measures_without_changing_requests(upstream: FakeUpstream) -> None:
    with start_proxy(upstream.url, mode="audit") as proxy:  # type: ignore[attr-defined]
        request = anthropic_request(HDFS_LOG)
        client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
        raw = client.messages.with_raw_response.create(**request)
        assert upstream.received[-1].json() == request  # sent as the client built it
        assert raw.http_response.content == upstream.sent[-1]
        deadline = time.monotonic() + 10
        while proxy.state.metrics.snapshot()["tokens_saved"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the measurement runs off the request path
        stats = proxy.state.metrics.snapshot()
        assert stats["tokens_saved"] > 0
        assert len(proxy.state.store) == 0  # audit keeps no originals


def test_off_mode_is_a_plain_proxy(upstream: FakeUpstream) -> None:
    with start_proxy(upstream.url, mode="off") as proxy:  # type: ignore[attr-defined]
        request = openai_request(HDFS_LOG)
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
        client.chat.completions.create(**request)
        assert upstream.received[-1].json() == request
        assert proxy.state.metrics.snapshot()["cache"]["input_tokens"] > 0  # usage is still reported


def test_compress_endpoint_refs_resolve_in_audit_mode(upstream: FakeUpstream) -> None:
    with start_proxy(upstream.url, mode="audit") as proxy:  # type: ignore[attr-defined]
        body = httpx.post(proxy.url + "/v1/compress", json={"text": HDFS_LOG, "tool_name": "Bash"}).json()
        refs = find_refs(body["text"])
        assert refs and all(proxy.state.store.get(ref) is not None for ref in refs)


def test_proxy_savings_reach_the_ledger(upstream: FakeUpstream) -> None:
    from headroom.ccr.ledger import ledger_for

    with start_proxy(upstream.url) as proxy:  # type: ignore[attr-defined]
        client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
        client.messages.create(**anthropic_request(HDFS_LOG))
        request = anthropic_request(HDFS_LOG)
        client.messages.count_tokens(model=request["model"], messages=request["messages"])  # not a model call
        store = proxy.state.store
    # Stopping the proxy waited for pending ledger writes.
    proxy_totals = ledger_for(store).totals()["proxy"]
    assert proxy_totals.calls == 1 and proxy_totals.tokens_saved > 1000


def test_startup_loads_the_models_and_shutdown_closes_its_own_store(upstream: FakeUpstream, monkeypatch) -> None:
    from headroom.ccr.base import MemoryStore
    from headroom.compressors import _embedding
    from headroom.proxy import ProxyConfig, app

    closed: list[bool] = []

    class Store(MemoryStore):
        def close(self) -> None:
            closed.append(True)

    monkeypatch.setattr(app, "_open_store", lambda config: Store())
    _embedding._load_once.cache_clear()  # as in a new process: the model not loaded yet
    config = ProxyConfig(port=0, anthropic_upstream=upstream.url, openai_upstream=upstream.url)  # type: ignore[attr-defined]
    with ProxyServer(config):
        assert _embedding._load_once.cache_info().currsize == 1  # by the lifespan, before any request
        assert not closed
    assert closed == [True]
