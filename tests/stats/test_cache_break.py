"""A cache break headroom causes, seen end to end: a document pasted in the latest turn goes
whole (it is the human's turn), and on the next turn `--compress-user-documents` compresses it,
changing bytes the provider had cached. The proxy notices, and the ledger costs it."""

from __future__ import annotations

from pathlib import Path

import anthropic

from headroom.ccr.ledger import RequestRecord, ledger_for
from headroom.ccr.sqlite import SqliteStore
from headroom.proxy import BackgroundServer
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

MODEL = "claude-sonnet-4-5"


def _turns(client: anthropic.Anthropic) -> None:
    pasted = [{"role": "user", "content": f"Here is our datanode log:\n\n{HDFS_LOG}"}]
    client.messages.create(model=MODEL, max_tokens=64, messages=pasted)
    later = [*pasted, {"role": "assistant", "content": "I have read it."}, {"role": "user", "content": "What failed?"}]
    client.messages.create(model=MODEL, max_tokens=64, messages=later)


def _rows(tmp_path: Path, **proxy_settings: bool) -> list[RequestRecord]:
    store = SqliteStore(tmp_path / f"ccr-{len(proxy_settings)}.db")
    fake = FakeUpstream()
    with BackgroundServer(fake.app) as upstream, start_proxy(upstream.url, store=store, **proxy_settings) as proxy:
        _turns(anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0))
        proxy.state.flush_ledger()
    rows = sorted(ledger_for(store).requests(), key=lambda row: row.at)
    store.close()
    return rows


def test_a_break_headroom_causes_is_reported_and_costed(tmp_path: Path) -> None:
    first, second = _rows(tmp_path, compress_user_documents=True)
    assert first.cache_break_tokens == 0 and first.tokens_after == first.tokens_before  # the human's turn: whole
    assert second.tokens_after < second.tokens_before  # the document, compressed on its second turn
    assert second.usage is not None and second.usage.cache_read_tokens == 0  # the provider's cache missed
    assert second.cache_break_tokens > 0
    assert second.usd_cache_break > 0  # the report says what the break cost


def test_without_the_option_nothing_breaks(tmp_path: Path) -> None:
    first, second = _rows(tmp_path)
    assert second.tokens_after == second.tokens_before  # the pasted document stays as it was sent
    assert second.usage is not None and second.usage.cache_read_tokens > 0  # the cached prefix is read
    assert first.cache_break_tokens == second.cache_break_tokens == 0 and second.usd_cache_break == 0
