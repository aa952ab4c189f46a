"""What the Node package (sdk/typescript) relies on: `POST /v1/retrieve` gives back the originals
behind the refs `/v1/compress` hands out, and `/v1/compress` takes bare message lists."""

from __future__ import annotations

import httpx
import pytest

from headroom.ccr.markers import find_refs
from headroom.proxy import ProxyServer
from tests.factories import anthropic_request, openai_request, responses_request
from tests.proxy.conftest import HDFS_LOG

UNKNOWN_REF = "h_0123456789ab"


def _compressed_refs(proxy: ProxyServer, text: str) -> list[str]:
    body = httpx.post(proxy.url + "/v1/compress", json={"text": text, "tool_name": "Bash"}).json()
    refs = find_refs(body["text"])
    assert refs, "the fixture must compress lossily for these tests to mean anything"
    return refs


def test_retrieve_gives_back_the_original(proxy: ProxyServer) -> None:
    ref = _compressed_refs(proxy, HDFS_LOG)[0]
    response = httpx.post(proxy.url + "/v1/retrieve", json={"ref": ref})
    assert response.status_code == 200
    body = response.json()
    assert body["found"] is True and body["ref"] == ref
    assert body["text"] == proxy.state.store.get(ref).text  # byte for byte what the store keeps
    assert body["text"] in HDFS_LOG and len(body["text"]) > len(HDFS_LOG) / 2


def test_retrieve_narrows_by_query_and_lines(proxy: ProxyServer) -> None:
    ref = _compressed_refs(proxy, HDFS_LOG)[0]
    original = proxy.state.store.get(ref).text
    lines = httpx.post(proxy.url + "/v1/retrieve", json={"ref": ref, "lines": "3-5"}).json()
    assert lines["text"] == "\n".join(original.split("\n")[2:5])
    as_list = httpx.post(proxy.url + "/v1/retrieve", json={"ref": ref, "lines": [3, 5]}).json()
    assert as_list["text"] == lines["text"]
    term = "PacketResponder"
    matching = httpx.post(proxy.url + "/v1/retrieve", json={"ref": ref, "query": term}).json()
    assert matching["found"] and matching["text"]
    assert term in matching["text"] and len(matching["text"]) < len(original)


def test_retrieve_a_ref_from_a_proxied_request(proxy: ProxyServer) -> None:
    """Refs the proxy made while forwarding resolve too: one store behind both."""
    body = httpx.post(proxy.url + "/v1/compress", json=openai_request(HDFS_LOG)).json()
    refs = find_refs("\n".join(str(m.get("content")) for m in body["request"]["messages"]))
    assert refs
    for ref in refs:
        assert httpx.post(proxy.url + "/v1/retrieve", json={"ref": ref}).json()["found"]


@pytest.mark.parametrize("ref", [UNKNOWN_REF, "not-a-ref"])
def test_unknown_ref_is_a_404_with_a_json_error(proxy: ProxyServer, ref: str) -> None:
    response = httpx.post(proxy.url + "/v1/retrieve", json={"ref": ref})
    assert response.status_code == 404
    body = response.json()
    assert body["found"] is False and body["text"] == ""
    assert body["error"]["type"] == "not_found_error" and body["error"]["message"] == body["message"]
    assert ref.lower() in body["message"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [(b"{not json", 400), (b"[1, 2]", 400), (b'{"ref": 7}', 400), (b'{"ref": "  "}', 400), (b"{}", 400)],
)
def test_bad_retrieve_bodies_are_400s(proxy: ProxyServer, payload: bytes, status: int) -> None:
    response = httpx.post(proxy.url + "/v1/retrieve", content=payload)
    assert response.status_code == status
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("request_body", "key", "expected"),
    [
        (openai_request(HDFS_LOG), "messages", "openai"),
        (anthropic_request(HDFS_LOG), "messages", "anthropic"),
        (responses_request(HDFS_LOG), "input", "responses"),
    ],
)
def test_compress_takes_a_bare_list_in_each_format(
    proxy: ProxyServer, request_body: dict[str, object], key: str, expected: str
) -> None:
    """`{"request": [...]}` with provider auto: the format comes from the items' shape, and
    Responses items are compressed as `input` (not misread as chat messages)."""
    items = request_body[key]
    body = httpx.post(proxy.url + "/v1/compress", json={"request": items, "model": "gpt-4o"}).json()
    assert body["format"] == expected
    assert body["request"]["model"] == "gpt-4o"
    assert body["stats"]["tokens_after"] < body["stats"]["tokens_before"] / 2
    assert find_refs(str(body["request"][key])) == body["stats"]["refs"]
