"""Fixtures: one fake upstream and one proxy (uvicorn, loopback) shared by the session; tests
that need other settings start their own proxy with `start_proxy`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from headroom.ccr.base import MemoryStore
from headroom.proxy import BackgroundServer, ProxyConfig, ProxyServer
from tests.factories import customer_rows
from tests.proxy.fake_upstream import FakeUpstream, default_brain

FIXTURES = Path(__file__).parent.parent / "fixtures"
HDFS_LOG = (FIXTURES / "logs" / "hdfs.log").read_text()  # compresses lossily (markers, refs)
ROWS = json.dumps(customer_rows(300))  # compresses losslessly (columnar JSON)
ANTHROPIC_KEY = "sk-ant-api03-Secret0Key0Never0Logged0AAAAAAAAAAAA"
OPENAI_KEY = "sk-proj-Secret0Key0Never0Logged0BBBBBBBBBBBBBBBB"


@pytest.fixture(scope="session")
def _upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    with BackgroundServer(fake.app) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def upstream(_upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    _upstream.reset()
    _upstream.brain = default_brain
    yield _upstream
    _upstream.brain = default_brain


@contextmanager
def start_proxy(upstream_url: str, store: Any = None, **overrides: Any) -> Iterator[ProxyServer]:
    upstreams = {"anthropic_upstream": upstream_url, "openai_upstream": upstream_url}
    config = ProxyConfig(port=0, **{**upstreams, **overrides})
    with ProxyServer(config, store=store if store is not None else MemoryStore()) as server:
        yield server


@pytest.fixture(scope="session")
def _proxy(_upstream: FakeUpstream) -> Iterator[ProxyServer]:
    with start_proxy(_upstream.url) as server:  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def proxy(_proxy: ProxyServer, upstream: FakeUpstream) -> ProxyServer:
    return _proxy
