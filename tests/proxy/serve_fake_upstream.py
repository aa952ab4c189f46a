"""`python -m tests.proxy.serve_fake_upstream`: the fake provider upstream as a process, for tests
written in other languages (sdk/typescript's Node tests). Prints its base URL as one line once it
answers, serves until its standard input closes (so it ends with the test that started it), and
lists what it received at `GET /__test__/received` (path and JSON body of each POST)."""

from __future__ import annotations

import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from headroom.proxy import BackgroundServer
from tests.proxy.fake_upstream import FakeUpstream


def build_app(fake: FakeUpstream) -> Starlette:
    async def received(request: Request) -> Response:
        posts = [r for r in fake.received if r.method == "POST"]
        return JSONResponse([{"path": r.path, "body": r.json()} for r in posts])

    return Starlette(routes=[Route("/__test__/received", received), Mount("/", app=fake.app)])


def main() -> None:
    fake = FakeUpstream()
    with BackgroundServer(build_app(fake)) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # returns when the parent closes the pipe or exits


if __name__ == "__main__":
    main()
