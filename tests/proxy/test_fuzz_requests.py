"""Property: whatever JSON a client sends to a proxied endpoint, and whatever path segment or
header bytes come with it, the proxy never answers a 500 of its own (issue 12, #4). A body it
cannot compress goes to the upstream as sent; a path it must not forward is a 400. In process
(the app over httpx's ASGI transport, the upstream an `httpx.MockTransport`), bounded."""

from __future__ import annotations

import asyncio
import string
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.base import MemoryStore
from headroom.proxy import ProxyConfig
from headroom.proxy.app import build_app

_KEYS = [
    "role", "content", "type", "name", "tool_calls", "function", "id", "tool_use_id", "tool_call_id", "call_id",
    "input", "output", "messages", "tools", "text", "arguments", "model", "stream", "tool_choice", "system",
]  # fmt: skip
_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**62), 2**62), st.floats(allow_nan=False), st.text(max_size=16)
)
_JSON = st.recursive(
    _LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=5)),
    max_leaves=30,
)
_PATHS = ["/v1/messages", "/v1/chat/completions", "/v1/responses", "/v1/messages/count_tokens", "/az/chat/completions"]
_SEGMENT = st.text(alphabet=string.ascii_letters + string.digits + "%.\\-_~:@!$&'()*+,;=", max_size=12)
# Header value bytes as a client may send them: visible ASCII and obs-text (>= 0x80).
_HEADER = st.binary(max_size=12).map(lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F))


def _upstream(received: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=httpx.ByteStream(b"{}"))

    return httpx.MockTransport(handler)


_RECEIVED: list[httpx.Request] = []
_APP = build_app(
    ProxyConfig(anthropic_upstream="http://up/base", openai_upstream="http://up/base"),
    store=MemoryStore(),
    transport=_upstream(_RECEIVED),
)


async def _send(method: str, path: str, body: bytes, header: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=_APP, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
        headers = {"content-type": "application/json", "x-title": header}
        return await client.request(method, path, content=body, headers=headers)


@settings(max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(_PATHS), _JSON, _HEADER)
def test_any_json_body_is_forwarded_never_a_500(path: str, body: Any, header: bytes) -> None:
    _RECEIVED.clear()
    response = asyncio.run(_send("POST", path, orjson.dumps(body), header))
    assert response.status_code == 200, response.content[:300]
    assert len(_RECEIVED) == 1 and _RECEIVED[0].url.path == "/base" + path
    assert (b"x-title", header) in _RECEIVED[0].headers.raw  # the client's bytes


@settings(max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_SEGMENT, min_size=1, max_size=4), st.sampled_from(["GET", "POST"]))
def test_any_path_is_forwarded_under_the_base_or_refused(segments: list[str], method: str) -> None:
    _RECEIVED.clear()
    path = "/v1/models/" + "/".join(segments)
    try:
        response = asyncio.run(_send(method, path, b"{}", b""))
    except httpx.InvalidURL:  # the test's own client refused it: nothing to ask the proxy
        return
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert orjson.loads(response.content)["error"]["type"] == "invalid_request_error" and not _RECEIVED
    else:
        assert _RECEIVED[0].url.raw_path.startswith(b"/base/v1/models/")
