"""A fourth wire format is one module and one registry line: the library and the proxy (routes,
edit safety, the retrieval tool, the upstream, usage) take it from `FORMATS`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from headroom import CompressConfig, Pipeline, compress
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import TOOL_NAME
from headroom.formats import FORMATS
from headroom.proxy import ProxyConfig, ProxyServer
from tests.adapters.toy_format import ENDPOINT, ToyFormat
from tests.fake_provider import FakeProvider, serve

FIXTURES = Path(__file__).parent.parent / "fixtures"
HDFS_LOG = (FIXTURES / "logs" / "hdfs.log").read_text()
SOURCE = (FIXTURES / "code" / "ratelimit_client.py").read_text()  # compressed when not protected


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToyFormat]:
    fmt = ToyFormat()
    monkeypatch.setitem(FORMATS, "toy", fmt)  # the registry line
    yield fmt


def _call(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"role": "model", "parts": [{"functionCall": {"id": call_id, "name": name, "args": args}}]}


def _result(call_id: str, name: str, output: str) -> dict[str, Any]:
    response = {"id": call_id, "name": name, "response": {"output": output}}
    return {"role": "user", "parts": [{"functionResponse": response}]}


def _contents() -> list[dict[str, Any]]:
    return [
        {"role": "user", "parts": [{"text": "Why did the HDFS job fail? Then fix the rate limiter."}]},
        _call("c1", "read_file", {"path": "logs/hdfs.log"}),
        _result("c1", "read_file", HDFS_LOG),
        _call("c2", "read_file", {"path": "src/ratelimit_client.py", "offset": 1, "limit": 400}),  # a ranged read
        _result("c2", "read_file", SOURCE),
    ]


def _output(request: dict[str, Any], turn: int) -> str:
    output = request["contents"][turn]["parts"][0]["functionResponse"]["response"]["output"]
    assert isinstance(output, str)
    return output


def test_the_library_compresses_a_registered_format(toy: ToyFormat) -> None:
    store = MemoryStore()
    result = compress(_contents(), format="toy", pipeline=Pipeline(CompressConfig(), store))
    assert result.stats.format == "toy"
    assert [u.location for u in result.stats.units][:1] == ["contents[2].parts[0].functionResponse.response.output"]
    compressed = result[2]["parts"][0]["functionResponse"]["response"]["output"]
    assert len(compressed) < len(HDFS_LOG) / 2
    refs = find_refs(compressed)
    assert refs and store.get(refs[0]) is not None and store.get(refs[0]).text == HDFS_LOG  # type: ignore[union-attr]
    assert result[0] == _contents()[0]  # everything but the units as it came
    assert len(_output({"contents": result}, 4)) < len(SOURCE)  # no edit safety in the library


def test_the_old_provider_keyword_still_names_the_format(toy: ToyFormat) -> None:
    result = compress(_contents(), provider="toy", pipeline=Pipeline(CompressConfig(), MemoryStore()))
    assert result.stats.format == "toy" and result.stats.tokens_after < result.stats.tokens_before


def test_the_proxy_serves_a_registered_format(toy: ToyFormat) -> None:
    answer = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "A datanode died."}]}}],
        "usageMetadata": {"promptTokenCount": 1200, "candidatesTokenCount": 6},
    }
    upstream = FakeProvider({ENDPOINT: answer})
    with serve(upstream) as url:
        config = ProxyConfig(port=0, anthropic_upstream=url, openai_upstream=url)
        with ProxyServer(config, store=MemoryStore()) as proxy:  # routes are built from FORMATS
            body = {"contents": _contents(), "tools": [{"functionDeclarations": [{"name": "read_file"}]}]}
            reply = httpx.post(proxy.url + ENDPOINT, json=body, timeout=60)
            stats = httpx.get(proxy.url + "/stats", timeout=60).json()
    assert reply.status_code == 200 and reply.json() == answer
    [(path, sent)] = upstream.requests
    assert path == ENDPOINT
    assert len(_output(sent, 2)) < len(HDFS_LOG) / 2 and find_refs(_output(sent, 2))  # compressed, with refs
    assert _output(sent, 4) == SOURCE  # edit safety read the toy's tool events: a ranged read of source stays whole
    assert sent["tools"][-1] == toy.retrieval_tool()  # the retrieval tool, in the toy's spelling
    assert sent["tools"][-1]["functionDeclarations"][0]["name"] == TOOL_NAME
    assert json.dumps(sent["contents"][:2]) == json.dumps(_contents()[:2])
    assert stats["requests"]["toy_generate"] == 1
    assert (stats["cache"]["input_tokens"], stats["cache"]["output_tokens"]) == (1200, 6)  # the toy's usage


def test_usage_and_errors_come_from_the_format(toy: ToyFormat) -> None:
    usage = toy.usage({"usageMetadata": {"promptTokenCount": 1200, "candidatesTokenCount": 6}})
    assert usage is not None and (usage.input_tokens, usage.output_tokens) == (1200, 6)
    assert json.loads(toy.error_body(502, "upstream unreachable"))["error"]["message"] == "upstream unreachable"
