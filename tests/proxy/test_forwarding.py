"""What reaches the upstream is what the client sent: the proxy keeps no cookies between clients
and adds no headers of its own (in process: the app over httpx's ASGI transport, the upstream an
`httpx.MockTransport`)."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import httpx
import orjson
import pytest
from starlette.requests import Request

from headroom.ccr.base import MemoryStore
from headroom.proxy import ProxyConfig
from headroom.proxy.app import build_app
from headroom.proxy.handlers import _path_and_query
from tests.factories import anthropic_request

_MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "stop_reason": "end_turn"}


def _exchange(requests: list[tuple[str, str, bytes]]) -> list[httpx.Request]:
    """Each (method, path, body) from a fresh client without default headers, through one proxy
    app; the requests the upstream received."""
    received: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        received.append(request)
        # What Cloudflare in front of the providers sets on every response. A stream, as from
        # the network (`json=` would make a body already read, which cannot be relayed raw).
        headers = {"content-type": "application/json", "set-cookie": "__cf_bm=secret0; Path=/; HttpOnly"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(orjson.dumps(_MESSAGE)))

    config = ProxyConfig(anthropic_upstream="http://up", openai_upstream="http://up")
    app = build_app(config, store=MemoryStore(), transport=httpx.MockTransport(upstream))

    async def go() -> None:
        for method, path, body in requests:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
                for name in ("accept", "accept-encoding", "user-agent"):
                    del client.headers[name]
                headers = {"x-api-key": "k", "content-type": "application/json"} if body else {}
                response = await client.request(method, path, content=body, headers=headers)
                await response.aread()
                assert response.status_code == 200
                assert response.headers["set-cookie"].startswith("__cf_bm=")  # the client's to keep

    asyncio.run(go())
    return received


def test_an_upstream_cookie_never_reaches_another_clients_request() -> None:
    body = orjson.dumps(anthropic_request("hi"))
    received = _exchange([("POST", "/v1/messages", body), ("POST", "/v1/messages", body), ("GET", "/v1/models", b"")])
    assert all("cookie" not in request.headers for request in received)


def test_no_headers_of_the_proxys_own_reach_the_upstream() -> None:
    received = _exchange([("GET", "/v1/models", b""), ("POST", "/v1/messages", orjson.dumps(anthropic_request("x")))])
    passthrough, messages = received
    # A pass-through response is relayed raw: it must not come back compressed unasked.
    assert "accept-encoding" not in passthrough.headers
    assert messages.headers["accept-encoding"] == "identity"  # read by the proxy: uncompressed
    for request in received:
        assert "user-agent" not in request.headers and "accept" not in request.headers
        assert request.headers["host"] == "up"


@pytest.mark.parametrize(
    ("raw_path", "query", "expected"),
    [
        (b"/v1/messages", b"", ("/v1/messages", "")),
        # Escapes as the client sent them, even needless ones; an encoded ? or # stays in the path.
        (b"/v1/a%3Fb%23c%41", b"x=1&y=%20z", ("/v1/a%3Fb%23c%41", "x=1&y=%20z")),
        # Raw bytes httpx would refuse (non-ASCII, controls) are percent-encoded, # in a query too.
        ("/v1/files/\u00fcn".encode(), b"q=\xc3\xbc&r#s", ("/v1/files/%C3%BCn", "q=%C3%BC&r%23s")),
        (b"/v1/models/a..b/.c", b"", ("/v1/models/a..b/.c", "")),
        # httpx's ASGI transport passes the query in raw_path too.
        (b"/v1/models?limit=2", b"limit=2", ("/v1/models", "limit=2")),
    ],
)
def test_the_upstream_path_keeps_the_clients_escapes(raw_path: bytes, query: bytes, expected: tuple[str, str]) -> None:
    assert _path_and_query(Request(_scope(raw_path, query))) == expected


@pytest.mark.parametrize(
    "raw_path", [b"/v1/x/..", b"/v1/./x", b"/v1/%2e%2E/x", b"/v1/a%2fb", b"/v1/a%5cb", b"/v1/a\\b", b"/v1/a%00"]
)
def test_paths_that_could_leave_the_base_path_are_refused(raw_path: bytes) -> None:
    assert _path_and_query(Request(_scope(raw_path, b""))) is None


def _scope(raw_path: bytes, query: bytes) -> dict[str, object]:
    return {
        "type": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1:8787")],
        "scheme": "http",
        "server": ("127.0.0.1", 8787),
    }
