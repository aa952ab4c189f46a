"""`/dashboard` and the ledger's JSON endpoints it reads.

- `GET /dashboard`: one static page (HTML, CSS and vanilla JS with inline SVG charts; no build
  step, nothing fetched from elsewhere) that polls the endpoints below.
- `GET /stats/requests?limit=N&since=T`: the last N ledger rows, newest first.
- `GET /stats/unit/{ref}`: one compressed unit as it went out, with its original from the store.

The ledger part of `/stats` (`ledger_report`) is the same report `headroom stats --json` prints.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from headroom.proxy.handlers import ProxyState
from headroom.savings import report

__all__ = ["dashboard_routes", "ledger_report"]

_MAX_LIMIT = 1000


def _page() -> str:
    return resources.files("headroom.proxy").joinpath("dashboard.html").read_text(encoding="utf-8")


def _number(value: str | None, default: float | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


async def ledger_report(state: ProxyState, since: float | None = None) -> dict[str, Any]:
    """The ledger's report (every source sharing the store), or {"error": ...}."""
    ledger = state.ledger
    if ledger is None:
        return {"error": "no savings ledger"}
    try:
        await anyio.to_thread.run_sync(state.flush_ledger)  # this proxy's own rows, up to now
        rows = await anyio.to_thread.run_sync(lambda: ledger.requests(since=since))
    except Exception as exc:  # a store outage must not break the stats page
        return {"error": type(exc).__name__}
    return report(rows, since=since)


def dashboard_routes(state: ProxyState) -> list[Route]:
    page = _page()

    async def dashboard(request: Request) -> Response:
        # The page has no external resources; the policy makes sure it never gets any.
        headers = {
            "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            "cache-control": "no-store",
        }
        return HTMLResponse(page, headers=headers)

    async def recent(request: Request) -> Response:
        limit = int(_number(request.query_params.get("limit"), 50) or 0)
        since = _number(request.query_params.get("since"), None)
        ledger = state.ledger
        if ledger is None:
            return JSONResponse({"requests": []})
        try:
            await anyio.to_thread.run_sync(state.flush_ledger)
            rows = await anyio.to_thread.run_sync(
                lambda: ledger.requests(since=since, limit=max(0, min(limit, _MAX_LIMIT)))
            )
        except Exception as exc:
            return JSONResponse({"error": type(exc).__name__}, status_code=503)
        return JSONResponse({"requests": [row.as_dict() for row in rows]})

    async def unit(request: Request) -> Response:
        ref = request.path_params["ref"]
        ledger = state.ledger
        if ledger is None:
            return JSONResponse({"error": "no savings ledger"}, status_code=404)
        try:
            sample = await anyio.to_thread.run_sync(ledger.unit, ref)
            original = await anyio.to_thread.run_sync(state.store.get, ref) if sample is not None else None
        except Exception as exc:
            return JSONResponse({"error": type(exc).__name__}, status_code=503)
        if sample is None:
            return JSONResponse({"error": f"no compressed unit {ref} in the ledger"}, status_code=404)
        return JSONResponse({**sample.as_dict(), "original": original.text if original is not None else None})

    return [
        Route("/dashboard", dashboard, methods=["GET"]),
        Route("/stats/requests", recent, methods=["GET"]),
        Route("/stats/unit/{ref}", unit, methods=["GET"]),
    ]
