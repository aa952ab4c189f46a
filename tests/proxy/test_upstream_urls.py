"""Upstream URLs are accepted with and without their `/v1` (issue 12, #11): OpenAI-compatible
servers (Azure, vLLM, Ollama) are usually written `http://host/v1`, and the proxy appends the
request's own `/v1/...` path. The real SDKs against the proxy over the network."""

from __future__ import annotations

import anthropic
import openai
import pytest

from headroom.proxy import ProxyConfig
from tests.factories import anthropic_request, openai_request, responses_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FORMS = ["", "/v1", "/v1/"]  # how an upstream URL is written: bare, with /v1, with /v1/


@pytest.mark.parametrize("form", FORMS)
def test_openai_upstream_with_or_without_v1(upstream: FakeUpstream, form: str) -> None:
    with start_proxy(upstream.url, openai_upstream=upstream.url + form) as proxy:  # type: ignore[attr-defined]
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
        chat = client.chat.completions.create(**openai_request(HDFS_LOG))
        response = client.responses.create(**responses_request("hi"))
        models = client.models.list()
    assert chat.choices[0].message.content == "Hello from the fake upstream."
    assert response.output_text == "Hello from the fake upstream."
    assert models.data[0].id == "gpt-4o"
    assert [r.path for r in upstream.received] == ["/v1/chat/completions", "/v1/responses", "/v1/models"]


@pytest.mark.parametrize("form", FORMS)
def test_anthropic_upstream_with_or_without_v1(upstream: FakeUpstream, form: str) -> None:
    with start_proxy(upstream.url, anthropic_upstream=upstream.url + form) as proxy:  # type: ignore[attr-defined]
        client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
        message = client.messages.create(**anthropic_request(HDFS_LOG))
        count = client.messages.count_tokens(**{k: v for k, v in anthropic_request("hi").items() if k != "max_tokens"})
    assert message.content[0].text == "Hello from the fake upstream."
    assert count.input_tokens > 0
    assert [r.path for r in upstream.received] == ["/v1/messages", "/v1/messages/count_tokens"]


def test_an_upstream_base_path_ending_in_v1_keeps_its_prefix(upstream: FakeUpstream) -> None:
    # Azure's v1 API: https://NAME.openai.azure.com/openai/v1 -> .../openai/v1/models
    with start_proxy(upstream.url, openai_upstream=upstream.url + "/openai/v1") as proxy:  # type: ignore[attr-defined]
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
        client.files.list()
    assert upstream.received[-1].path == "/openai/v1/files"


def test_a_path_outside_v1_goes_to_the_servers_root(upstream: FakeUpstream) -> None:
    # `http://host:11434/v1` names Ollama's OpenAI API: its native /api/tags sits at the root,
    # as with the upstream written `http://host:11434`. The two forms mean the same server.
    with start_proxy(upstream.url, openai_upstream=upstream.url + "/v1") as proxy:  # type: ignore[attr-defined]
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url, max_retries=0)
        client.get("/api/tags", cast_to=object)
    assert upstream.received[-1].path == "/api/tags"


def test_a_host_named_v1_is_not_a_path() -> None:
    assert ProxyConfig(openai_upstream="http://v1").openai_upstream == "http://v1"
    assert ProxyConfig(openai_upstream="http://h/api/v1x").openai_upstream == "http://h/api/v1x"
