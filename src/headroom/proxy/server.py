"""Running the proxy: in the foreground (the CLI) or in a background thread (tests, benchmarks,
`headroom wrap`, embedding in another program)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from headroom.proxy._net import http_url
from headroom.proxy.app import build_app
from headroom.proxy.config import ProxyConfig

__all__ = ["BackgroundServer", "ProxyServer", "is_proxy_running", "uvicorn_config"]


def uvicorn_config(
    app: Any, host: str, port: int, *, log_level: str = "warning", access_log: bool = False
) -> uvicorn.Config:
    # No server/date headers of our own: the upstream's reach the client unchanged.
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        server_header=False,
        date_header=False,
        timeout_keep_alive=75,  # above the SDKs' idle pool timeouts: fewer reconnects
        lifespan="on",
    )


class BackgroundServer:
    """Any ASGI app served by uvicorn on a loopback port in a daemon thread.

    `with BackgroundServer(app) as server: httpx.get(server.url + "/health")`"""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning") -> None:
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))  # bound now, so the port is known and cannot be taken
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(app, host, self.port, log_level=log_level))
        self.thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self.sock])

    @property
    def url(self) -> str:
        return http_url(self.host, self.port)

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ProxyServer(BackgroundServer):
    """The headroom proxy in a background thread, on `config.port` (0 = any free port)."""

    def __init__(self, config: ProxyConfig | None = None, **build_kwargs: Any) -> None:
        config = config or ProxyConfig(port=0)
        self.app = build_app(config, **build_kwargs)
        super().__init__(self.app, config.host, config.port)

    @property
    def state(self) -> Any:
        """The proxy's live state (config, metrics, store, compressor)."""
        return self.app.state.proxy


def is_proxy_running(url: str, timeout: float = 0.5) -> bool:
    """True when a headroom proxy answers on `url` (what `headroom wrap` checks first)."""
    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=timeout, trust_env=False)
        body = response.json() if response.status_code == 200 else None
        return isinstance(body, dict) and body.get("service") == "headroom-proxy"
    except (httpx.HTTPError, ValueError):
        return False
