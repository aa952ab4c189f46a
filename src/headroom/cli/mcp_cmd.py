"""`headroom mcp`: the MCP server, over stdio (default) or streamable HTTP (``--port``)."""

from __future__ import annotations

import os

import typer

from headroom.api import config_from_env

__all__ = ["register"]


def mcp_command(
    port: int | None = typer.Option(
        None, "--port", "-p", min=1, max=65535, help="Serve streamable HTTP on this port (path /mcp) instead of stdio."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind with --port (keep it on loopback)."),
    store: str | None = typer.Option(
        None,
        "--store",
        envvar="HEADROOM_STORE",
        help="CCR store: a SQLite path, sqlite:///path, redis://host:port/db or memory (default: the shared file).",
    ),
) -> None:
    """Run the MCP server with headroom_compress, headroom_retrieve and headroom_stats."""
    try:  # the SDK is an optional extra: say how to get it instead of a traceback
        from headroom.mcp_server.app import run_http, run_stdio
    except ImportError as exc:
        typer.echo(
            f"headroom mcp needs the MCP SDK: pip install -e '.[mcp]' in the headroom checkout ({exc})", err=True
        )
        raise typer.Exit(2) from exc
    from headroom.ccr.open import open_store
    from headroom.mcp_server.tools import HeadroomTools

    try:
        original_store = open_store(store, environ=os.environ)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--store") from exc
    tools = HeadroomTools(original_store, config=config_from_env(os.environ))
    try:
        if port is None:
            run_stdio(tools)
        else:
            run_http(tools, host=host, port=port)
    except KeyboardInterrupt:
        pass
    finally:
        original_store.close()
        tools.ledger.close()


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp_command)
