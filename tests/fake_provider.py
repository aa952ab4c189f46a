"""A tiny local HTTP server that plays an LLM provider: it records each request body and
answers with a canned JSON body (the providers' real response shapes)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeProvider:
    def __init__(self, responses: dict[str, dict[str, Any]]) -> None:
        self.responses = responses  # path suffix -> JSON body
        self.requests: list[tuple[str, dict[str, Any]]] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.requests]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                provider.requests.append((self.path, body))
                reply = next((r for suffix, r in provider.responses.items() if self.path.endswith(suffix)), None)
                data = json.dumps(reply or {"error": {"message": "unknown path"}}).encode()
                self.send_response(200 if reply else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def serve(provider: FakeProvider) -> Iterator[str]:
    """Run the provider on a free loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), provider.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
