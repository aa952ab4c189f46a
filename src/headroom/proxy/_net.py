"""Addresses: URLs for a host (IPv6 in brackets), loopback checks, and the Host-header guard that
keeps a loopback-bound proxy out of reach of DNS rebinding.

A web page the user visits can point a name it controls at 127.0.0.1 and then talk to the local
proxy as a same-origin server (spending the user's keys, reading /stats). Its requests carry
that name in `Host`; a loopback-bound proxy answers only requests addressed to a loopback name.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["LoopbackHostGuard", "host_of", "http_url", "is_loopback"]

# ASGI aliases of our own rather than starlette.types: the CLI imports this module at start-up
# (loopback checks), and `headroom compress` must work without the proxy extra installed.
_Scope = dict[str, Any]
_ASGI = Callable[[_Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def http_url(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 host in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1), bracketed or not."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# RFC 9110 Host = uri-host [ ":" port ]: a registered name or IPv4 address, or an IPv6 address
# in brackets; the port, when there is a colon, is 1-5 digits. Nothing else (no userinfo, no
# path, no second colon) may follow: a lenient split let `127.0.0.1:1@evil.com` through.
_HOST = re.compile(r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._~-]+))(?::(?P<port>[0-9]{1,5}))?")


def host_of(header: str) -> str | None:
    """The host part of a Host header value ("[::1]:8787" -> "[::1]", "a:80" -> "a"), or None
    when the value is not a well-formed host with an optional numeric port."""
    match = _HOST.fullmatch(header)
    if match is None or (match["port"] is not None and int(match["port"]) > 65535):
        return None
    if match["ip6"] is not None:
        try:
            if ipaddress.ip_address(match["ip6"]).version != 6:
                return None
        except ValueError:
            return None
        return f"[{match['ip6']}]"
    return match["name"]


class LoopbackHostGuard:
    """ASGI middleware: HTTP requests whose Host is not a loopback name get 400."""

    def __init__(self, app: _ASGI) -> None:
        self.app = app

    async def __call__(self, scope: _Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            name = host_of(host)
            if name is None or not is_loopback(name):
                body = b"headroom proxy: Host must be a loopback name (localhost, 127.0.0.1, [::1])"
                headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 400, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
