"""Odd client input the proxy can forward is forwarded, never answered with a 500 of its own;
a path it must not forward gets a 400 in the provider's error shape (issue 12, #4 and #7).
The real `anthropic` and `openai` SDKs against the proxy over the network."""

from __future__ import annotations

import copy
import http.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import anthropic
import httpx
import httpx2
import openai
import orjson
import pytest

from headroom.proxy import ProxyServer
from tests.factories import anthropic_request, openai_request, responses_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# What OpenRouter-style clients send (`X-Title: Café`), as UTF-8 bytes on the wire. The SDKs
# only send ASCII header values of their own, so the bytes ride on their HTTP client.
TITLE = "Café".encode()
BASE = "/openai/deployments/d1"  # an Azure-style upstream with a base path


def _anthropic(url: str, **headers: bytes) -> anthropic.Anthropic:
    client = httpx2.Client(headers=headers)
    return anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=url, max_retries=0, http_client=client)


def _openai(url: str, **headers: bytes) -> openai.OpenAI:
    client = httpx.Client(headers=headers)
    return openai.OpenAI(api_key=OPENAI_KEY, base_url=url + "/v1", max_retries=0, http_client=client)


# -- #4: a non-ASCII header value is forwarded byte for byte ---------------------------------


def test_a_non_ascii_header_reaches_the_upstream_on_a_compressed_call(
    proxy: ProxyServer, upstream: FakeUpstream
) -> None:
    message = _anthropic(proxy.url, **{"X-Title": TITLE}).messages.create(**anthropic_request(HDFS_LOG))
    assert message.content[0].text == "Hello from the fake upstream."
    assert upstream.received[-1].headers["x-title"].encode("latin-1") == TITLE


def test_a_non_ascii_header_reaches_the_upstream_on_a_passthrough_call(
    proxy: ProxyServer, upstream: FakeUpstream
) -> None:
    models = _openai(proxy.url, **{"X-Title": TITLE}).models.list()
    assert models.data[0].id == "gpt-4o"
    assert upstream.received[-1].headers["x-title"].encode("latin-1") == TITLE


def test_a_non_ascii_header_reaches_the_upstream_on_a_stream(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    client = _openai(proxy.url, **{"X-Title": TITLE})
    stream = client.chat.completions.create(**openai_request(HDFS_LOG), stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello from the fake upstream."
    assert upstream.received[-1].headers["x-title"].encode("latin-1") == TITLE


# -- #4: a tool name that is not a string fails open for that unit only ----------------------


def _two_units(api: str, name: Any) -> dict[str, Any]:
    """A request with two big tool results: the first call's name is `name`, the second's a
    string."""
    if api == "anthropic":
        request = anthropic_request(HDFS_LOG)
        second = copy.deepcopy(request["messages"][1:3])
        request["messages"][1]["content"][1]["name"] = name
        second[0]["content"][1]["id"] = second[1]["content"][0]["tool_use_id"] = "toolu_2"
        request["messages"][3:3] = second
    elif api == "openai":
        request = openai_request(HDFS_LOG)
        second = copy.deepcopy(request["messages"][2:4])
        request["messages"][2]["tool_calls"][0]["function"]["name"] = name
        second[0]["tool_calls"][0]["id"] = second[1]["tool_call_id"] = "call_2"
        request["messages"][4:4] = second
    else:
        request = responses_request(HDFS_LOG)
        second = copy.deepcopy(request["input"][1:3])
        request["input"][1]["name"] = name
        second[0]["call_id"] = second[1]["call_id"] = "call_2"
        request["input"][3:3] = second
    return request


def _tool_outputs(api: str, body: dict[str, Any]) -> list[str]:
    if api == "anthropic":
        return [
            block["content"]
            for message in body["messages"]
            if isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
    if api == "openai":
        return [m["content"] for m in body["messages"] if m.get("role") == "tool"]
    return [item["output"] for item in body["input"] if item.get("type") == "function_call_output"]


@pytest.mark.parametrize("name", [{"name": "Read"}, ["Read"], 7, None])
@pytest.mark.parametrize("api", ["anthropic", "openai", "responses"])
def test_a_non_string_tool_name_still_compresses_every_unit(
    proxy: ProxyServer, upstream: FakeUpstream, api: str, name: Any
) -> None:
    request = _two_units(api, name)
    if api == "anthropic":
        _anthropic(proxy.url).messages.create(**request)
    elif api == "openai":
        _openai(proxy.url).chat.completions.create(**request)
    else:
        _openai(proxy.url).responses.create(**request)
    sent = upstream.received[-1].json()
    outputs = _tool_outputs(api, sent)
    assert len(outputs) == 2 and all(len(text) < len(HDFS_LOG) / 4 for text in outputs)


# -- #7 (and the NUL of #4): paths stay under the upstream's base path ------------------------


@pytest.fixture
def based(upstream: FakeUpstream) -> Iterator[ProxyServer]:
    with start_proxy(upstream.url + BASE) as server:  # type: ignore[attr-defined]
        yield server


_ESCAPES = [
    "/models/%2e%2e/%2e%2e/%2e%2e/%2e%2e/admin",  # the issue's: reached /openai/admin
    "/models/%2E%2E/admin",
    "/models/./admin".replace(".", "%2e"),
    "/models/a%2Fb",  # an encoded slash would be forwarded as a separator
    "/models/a%2fb",
    "/models/a%5Cb",  # a backslash, a separator to some servers
    "/models/a%00b",  # NUL: was a plain-text 500
    "/models/..%2F..%2Fadmin",
]


@pytest.mark.parametrize("path", _ESCAPES)
def test_escaping_paths_are_a_400_in_the_openai_shape(based: ProxyServer, upstream: FakeUpstream, path: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _openai(based.url).get(path, cast_to=httpx.Response)
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert "path" in caught.value.message
    assert upstream.received == []  # nothing forwarded


@pytest.mark.parametrize("path", _ESCAPES[:1] + _ESCAPES[3:4] + _ESCAPES[6:7])
def test_escaping_paths_are_a_400_in_the_anthropic_shape(based: ProxyServer, upstream: FakeUpstream, path: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        _anthropic(based.url).get("/v1" + path, cast_to=httpx2.Response)
    assert caught.value.status_code == 400
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert upstream.received == []


@pytest.mark.parametrize("api", ["openai", "responses"])
def test_an_escaping_llm_path_is_a_400_not_forwarded(based: ProxyServer, upstream: FakeUpstream, api: str) -> None:
    # A suffix-routed POST (an Azure deployment path) is compressed and forwarded: its path too.
    client = openai.OpenAI(
        api_key=OPENAI_KEY, base_url=f"{based.url}/openai/deployments/%2e%2e/%2e%2e/x", max_retries=0
    )
    with pytest.raises(openai.BadRequestError):
        if api == "openai":
            client.chat.completions.create(**openai_request("hi"))
        else:
            client.responses.create(**responses_request("hi"))
    assert upstream.received == []


def _raw_get(url: str, path: str) -> tuple[int, bytes]:
    """A request line exactly as written (clients normalize `..` away; curl --path-as-is does not)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    try:
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{parts.port}"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/v1/models/../../../../admin", "/v1/models/./a", "/v1/models/a\\b"])
def test_literal_dot_segments_are_a_400(based: ProxyServer, upstream: FakeUpstream, path: str) -> None:
    status, body = _raw_get(based.url, path)
    assert status == 400 and orjson.loads(body)["error"]["type"] == "invalid_request_error"
    assert upstream.received == []


@pytest.mark.parametrize(
    "path",
    [
        "/models/a%20b",
        "/models/caf%C3%A9",
        "/models/a%3Fb%23c",  # an encoded ? and # stay part of the path
        "/models/%2e%2ea",  # dots inside a segment are a name, not a step up
        "/models/a..b/c.d",
        "/models/%41b",  # an escape the client did not need still goes out as sent
    ],
)
def test_other_paths_are_forwarded_with_their_escapes_as_sent(
    based: ProxyServer, upstream: FakeUpstream, path: str
) -> None:
    response = _openai(based.url).get(path, cast_to=httpx.Response)
    assert response.status_code == 200
    assert upstream.received[-1].raw_path == (BASE + "/v1" + path).encode()


def test_the_query_is_forwarded_as_sent(based: ProxyServer, upstream: FakeUpstream) -> None:
    response = _openai(based.url).get("/models/x?a=%20b&c=d%26e", cast_to=httpx.Response)
    assert response.status_code == 200
    assert upstream.received[-1].query == "a=%20b&c=d%26e"
