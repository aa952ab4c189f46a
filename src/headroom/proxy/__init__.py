"""`headroom proxy`: a local HTTP proxy that compresses Anthropic and OpenAI requests.

from headroom.proxy import ProxyConfig, ProxyServer, build_app
with ProxyServer(ProxyConfig(port=0)) as proxy:
    client = anthropic.Anthropic(base_url=proxy.url)

The server parts need the `proxy` extra (starlette, uvicorn, httpx); they are imported when
first named, so the CLI (which reads `Mode` and the loopback helpers at start-up) and the
library work without it.
"""

from __future__ import annotations

import importlib
from typing import Any

from headroom.proxy.config import Mode, ProxyConfig

__all__ = ["BackgroundServer", "Mode", "ProxyConfig", "ProxyServer", "build_app", "is_proxy_running"]

_SERVER_PARTS = {
    "build_app": "headroom.proxy.app",
    "BackgroundServer": "headroom.proxy.server",
    "ProxyServer": "headroom.proxy.server",
    "is_proxy_running": "headroom.proxy.server",
}


def __getattr__(name: str) -> Any:
    module = _SERVER_PARTS.get(name)
    if module is None:
        raise AttributeError(f"module 'headroom.proxy' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
