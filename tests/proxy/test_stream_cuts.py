"""An upstream that drops the connection in the middle of an SSE event (issue 12, #5): the half
event never reaches the client; the proxy's error event does, and each SDK raises its normal
API error instead of a JSONDecodeError. The real `anthropic` and `openai` SDKs, streaming, over
the network, with and without the retrieval loop in the path."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from headroom.proxy import ProxyServer
from tests.factories import anthropic_request, openai_request, responses_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY
from tests.proxy.fake_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TEXT = "Hello from the fake upstream, streamed in pieces."
BROKE = "upstream stream broke"
# A small tool output: nothing to compress, no retrieval tool offered, the stream is relayed as
# is. HDFS_LOG: markers, so the proxy offers headroom_retrieve and reads the stream event by event.
CONTENTS = {"relayed": "tiny tool output", "retrieval loop": HDFS_LOG}


def _cut(upstream: FakeUpstream, after: int) -> None:
    upstream.brain = lambda api, request: Reply(text=TEXT, cut_after=after)


@pytest.mark.parametrize("content", CONTENTS.values(), ids=CONTENTS.keys())
def test_anthropic_sdk_raises_its_api_error(proxy: ProxyServer, upstream: FakeUpstream, content: str) -> None:
    _cut(upstream, 4)  # message_start, ping, content_block_start, one delta; then half a delta
    client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        for event in client.messages.create(**anthropic_request(content), stream=True):
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                seen.append(event.delta.text)
    assert BROKE in caught.value.message
    assert seen == [TEXT[:12]]  # what came before the cut, whole
    assert upstream.streams_aborted == 1


@pytest.mark.parametrize("content", CONTENTS.values(), ids=CONTENTS.keys())
def test_openai_chat_sdk_raises_its_api_error(proxy: ProxyServer, upstream: FakeUpstream, content: str) -> None:
    _cut(upstream, 2)  # the role chunk, one content chunk; then half a chunk
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
    seen: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client.chat.completions.create(**openai_request(content), stream=True):
            seen += [c.delta.content for c in chunk.choices if c.delta.content]
    assert BROKE in caught.value.message
    assert seen == [TEXT[:12]]


@pytest.mark.parametrize("content", CONTENTS.values(), ids=CONTENTS.keys())
def test_openai_responses_sdk_raises_its_api_error(proxy: ProxyServer, upstream: FakeUpstream, content: str) -> None:
    _cut(upstream, 5)  # created, in_progress, item added, part added, one delta; then half one
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
    seen: list[Any] = []
    with pytest.raises(openai.APIError) as caught:
        for event in client.responses.create(**responses_request(content), stream=True):
            seen.append(event.type)
    assert BROKE in caught.value.message
    assert seen[-1] == "response.output_text.delta" and "error" not in seen
