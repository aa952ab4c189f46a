"""The dashboard in a real browser (Debian's chromium, driven by Playwright; no browser is ever
downloaded) after real traffic: the openai and anthropic SDKs through a proxy with a SQLite
store, to the local fake upstream. Its numbers must equal /stats and `headroom stats --json`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from playwright.sync_api import Browser, sync_playwright

from headroom.ccr.sqlite import SqliteStore
from headroom.proxy import BackgroundServer, ProxyServer
from tests.factories import anthropic_request, openai_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY, ROWS, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if binary is None:
        pytest.skip("chromium is not installed and scripts/ensure-chromium.sh (run by make test) could not install it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def send_traffic(proxy: ProxyServer) -> None:
    """Two Anthropic turns (the second hits the upstream's prompt cache), one streamed, and one
    OpenAI chat completion, through the real SDKs."""
    claude = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
    claude.messages.create(**anthropic_request(HDFS_LOG))
    claude.messages.create(**anthropic_request(HDFS_LOG))
    with claude.messages.stream(**anthropic_request(ROWS)) as stream:
        stream.get_final_message()
    gpt = openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0)
    gpt.chat.completions.create(**openai_request(ROWS))


def cli_stats(store_path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "headroom.cli.main", "stats", "--json", "--store", str(store_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_dashboard_shows_what_stats_says(browser: Browser, tmp_path: Path) -> None:
    store_path = tmp_path / "ccr.db"
    fake = FakeUpstream()
    with BackgroundServer(fake.app) as upstream, start_proxy(upstream.url, store=SqliteStore(store_path)) as proxy:
        send_traffic(proxy)
        proxy.state.flush_ledger()
        stats = httpx.get(proxy.url + "/stats").json()
        ledger = stats["ledger"]
        assert ledger == cli_stats(store_path)
        recent = httpx.get(proxy.url + "/stats/requests?limit=10").json()["requests"]

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(proxy.url + "/dashboard")
        # A selector, not wait_for_function: polling a JS predicate evaluates a string, which the
        # dashboard's CSP forbids (it failed whenever the first render came after the first check).
        page.wait_for_selector("body[data-renders]", state="attached")
        page.wait_for_selector("#unit-compressed span.marker")

        totals = ledger["totals"]
        assert totals["requests"] == 4 and totals["tokens_saved"] > 0
        assert page.inner_text("#total-saved") == f"{totals['tokens_saved']:,}"
        assert page.inner_text("#requests") == str(totals["requests"])
        assert page.inner_text("#usd-saved") == f"${totals['usd_saved']:.4f}"
        assert page.inner_text("#hit-rate") == f"{100 * ledger['cache']['hit_rate']:.1f}%"
        assert ledger["cache"]["cache_read_tokens"] > 0  # the second turn hit the upstream's cache

        def bars(chart: str) -> dict[str, int]:
            found = page.eval_on_selector_all(
                f"#{chart} rect.bar", "els => els.map(e => [e.dataset.label, Number(e.dataset.value)])"
            )
            return {label: value for label, value in found}

        assert sum(bars("timeline").values()) == totals["tokens_saved"]
        assert bars("compressors") == {k: v["tokens_saved"] for k, v in ledger["by_compressor"].items()}
        assert bars("clients") == {k: v["tokens_saved"] for k, v in ledger["by_client"].items()}
        assert set(bars("clients")) == {"Anthropic/Python", "OpenAI/Python"}

        rows = page.eval_on_selector_all("#recent tbody tr", "els => els.map(e => Number(e.dataset.id))")
        assert rows == [r["id"] for r in recent]

        # The side-by-side diff: the original exactly as the store keeps it, beside what went out.
        ref = page.get_attribute("#unit-compressed", "data-ref")
        unit = httpx.get(f"{proxy.url}/stats/unit/{ref}").json()
        original = page.eval_on_selector_all("#unit-original span", "els => els.map(e => e.textContent)")
        assert "\n".join(line if line != " " else "" for line in original) == unit["original"]
        assert unit["original"] in (HDFS_LOG, ROWS)
        assert len(unit["compressed"]) < len(unit["original"])
        assert page.locator("#timeline rect.bar").count() > 0
        page.close()
