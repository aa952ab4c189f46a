"""`headroom -v proxy` (DEBUG) logs one line of headroom's own per request: method, path, api,
status, units, tokens before -> after, the proxy's own time and any fail-open reason; never
message text nor keys (issue 12, #15). The real SDKs against the proxy over the network."""

from __future__ import annotations

import logging

import anthropic
import openai
import pytest

from headroom.proxy import ProxyServer
from headroom.proxy.redact import RedactingFilter
from tests.factories import USER_TASK, anthropic_request, openai_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
LOGGER = "headroom.proxy.handlers"


def _lines(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.getMessage().startswith(start)]


def _no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (ANTHROPIC_KEY, OPENAI_KEY, USER_TASK, HDFS_LOG.splitlines()[0]):
        assert secret not in text


def test_a_compressed_call_logs_one_line(
    proxy: ProxyServer, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="headroom")
    client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
    client.messages.create(**anthropic_request(HDFS_LOG))
    [line] = _lines(caplog, "POST /v1/messages ")
    fields = dict(part.split("=", 1) for part in line.split()[2:])
    assert fields["api"] == "anthropic" and fields["status"] == "200" and fields["units"] == "1"
    before, after = (int(n) for n in fields["tokens"].split("->"))
    assert after < before / 4
    assert float(fields["ms"]) >= 0 and fields["fail_open"] == "-"
    _no_secrets(caplog)


def test_the_fail_open_reason_is_in_the_line(
    upstream: FakeUpstream, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("compressor bug")

    caplog.set_level(logging.DEBUG, logger="headroom")
    with start_proxy(upstream.url) as proxy:  # type: ignore[attr-defined]
        monkeypatch.setattr(proxy.state.compressor, "compress_sync", broken)
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
        client.chat.completions.create(**openai_request(HDFS_LOG), stream=True).close()
    [line] = _lines(caplog, "POST /v1/chat/completions ")
    # Failed open per unit: the one (new) unit went whole.
    assert " api=openai " in line and " fail_open=error" in line and " units=1 " in line
    before, after = line.split(" tokens=")[1].split()[0].split("->")
    assert before == after  # nothing compressed
    _no_secrets(caplog)


def test_a_passthrough_call_logs_one_line(
    proxy: ProxyServer, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="headroom")
    openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0).models.list()
    [line] = _lines(caplog, "GET /v1/models ")
    assert " api=passthrough status=200 " in line
    _no_secrets(caplog)


def test_no_line_unless_debug(proxy: ProxyServer, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="headroom")
    openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0).models.list()
    assert _lines(caplog, "GET ") == []


def test_a_key_in_a_path_is_redacted_in_the_line(
    proxy: ProxyServer, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    # The query is never logged; a key pasted into the path itself is, and the redaction filter
    # (on every handler of `headroom -v proxy`) masks it.
    caplog.set_level(logging.DEBUG, logger="headroom")
    caplog.handler.addFilter(RedactingFilter())
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
    client.get(f"/files/{OPENAI_KEY}?key={OPENAI_KEY}", cast_to=object)
    [line] = _lines(caplog, "GET /v1/files/")
    assert "[redacted]" in line and OPENAI_KEY not in caplog.text


def test_requests_refused_before_forwarding_log_a_line_too(
    upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="headroom")
    with start_proxy(upstream.url, max_body_bytes=1000) as proxy:  # type: ignore[attr-defined]
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
        with pytest.raises(openai.BadRequestError):
            client.get("/models/%2e%2e/admin", cast_to=object)
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(**openai_request(HDFS_LOG))
    [bad_path] = _lines(caplog, "GET /v1/models/%2e%2e/admin ")
    assert " api=passthrough status=400 " in bad_path
    [too_large] = _lines(caplog, "POST /v1/chat/completions ")
    assert " api=openai status=413 " in too_large
    _no_secrets(caplog)
