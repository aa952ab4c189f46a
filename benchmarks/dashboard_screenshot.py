"""Replay the shared benchmark cases through a proxy and take a screenshot of its dashboard.

    python benchmarks/dashboard_screenshot.py [--out docs/dashboard.png] [--cases ../shared/bench/cases]

Each case goes through the proxy twice with the real SDKs (the Anthropic request, then the same
request again: a prompt-cache hit upstream; and the OpenAI request), to the local fake upstream,
with a SQLite store in a temporary directory; a few cases also go through the library and the
MCP server's tool, so every source shows. Debian's chromium (scripts/ensure-chromium.sh) draws
the page.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/dashboard_screenshot.py` from the project root
    sys.path.insert(0, str(ROOT))

import anthropic  # noqa: E402
import openai  # noqa: E402
import orjson  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from rich.progress import Progress  # noqa: E402
from tests.proxy.fake_upstream import FakeUpstream  # noqa: E402
from tests.stats.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

from headroom import compress  # noqa: E402
from headroom.ccr.sqlite import SqliteStore  # noqa: E402
from headroom.mcp_server.tools import HeadroomTools  # noqa: E402
from headroom.pipeline import CompressConfig, Pipeline  # noqa: E402
from headroom.proxy import BackgroundServer, ProxyConfig, ProxyServer  # noqa: E402

DEFAULT_CASES = ROOT.parent / "shared" / "bench" / "cases"


def _tool_output(case: dict[str, Any]) -> str:
    for message in case["openai"]["messages"]:
        if message.get("role") == "tool" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def replay(cases: list[dict[str, Any]], store: SqliteStore, upstream_url: str) -> ProxyServer:
    config = ProxyConfig(port=0, anthropic_upstream=upstream_url, openai_upstream=upstream_url)
    proxy = ProxyServer(config, store=store).start()
    claude = anthropic.Anthropic(api_key="sk-ant-screenshot", base_url=proxy.url, max_retries=0)
    gpt = openai.OpenAI(api_key="sk-screenshot", base_url=proxy.url + "/v1", max_retries=0)
    pipeline = Pipeline(CompressConfig(), store)
    tools = HeadroomTools(store)
    with Progress(transient=True) as progress:
        task = progress.add_task("replaying cases", total=len(cases))
        for index, case in enumerate(cases):
            claude.messages.create(**case["anthropic"])
            claude.messages.create(**case["anthropic"])
            gpt.chat.completions.create(**case["openai"])
            if index % 3 == 0:
                compress(case["openai"]["messages"], model=case["openai"]["model"], pipeline=pipeline)
            if index % 4 == 1:
                tools.compress(_tool_output(case))
            progress.advance(task)
    proxy.state.flush_ledger()
    return proxy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    args = parser.parse_args()
    files = sorted(args.cases.glob("*.json"))
    if not files:
        print(f"no cases in {args.cases} (the shared benchmark cases live in ../shared/bench/cases)", file=sys.stderr)
        return 2
    cases = [orjson.loads(f.read_bytes()) for f in files]
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "ccr.db")
        fake = FakeUpstream()
        with BackgroundServer(fake.app) as upstream:
            proxy = replay(cases, store, upstream.url)
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    page = browser.new_page(viewport={"width": 1500, "height": 1200}, device_scale_factor=1)
                    page.goto(proxy.url + "/dashboard")
                    page.wait_for_selector("#unit-compressed span.marker")
                    page.screenshot(path=str(args.out), full_page=True)
                    browser.close()
            finally:
                proxy.stop()
        store.close()
    print(f"{len(cases)} cases replayed; screenshot in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
