"""`headroom proxy`: a local HTTP proxy that compresses Anthropic and OpenAI requests.

from headroom.proxy import ProxyConfig, ProxyServer, build_app
with ProxyServer(ProxyConfig(port=0)) as proxy:
    client = anthropic.Anthropic(base_url=proxy.url)
"""

from __future__ import annotations

from headroom.proxy.app import build_app
from headroom.proxy.config import Mode, ProxyConfig
from headroom.proxy.server import BackgroundServer, ProxyServer, is_proxy_running

__all__ = ["BackgroundServer", "Mode", "ProxyConfig", "ProxyServer", "build_app", "is_proxy_running"]
