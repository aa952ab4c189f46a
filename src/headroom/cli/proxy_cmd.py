"""`headroom proxy`: run the compressing proxy for Anthropic and OpenAI clients."""

from __future__ import annotations

import logging
import socket

import typer

from headroom.proxy._net import http_url, is_loopback
from headroom.proxy.config import DEFAULT_ANTHROPIC_UPSTREAM, DEFAULT_OPENAI_UPSTREAM, Mode, ProxyConfig

__all__ = ["register"]


def proxy_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (0.0.0.0 exposes it to the network)."),
    port: int = typer.Option(8787, "--port", "-p", help="Port to listen on."),
    mode: Mode = typer.Option(
        Mode.OPTIMIZE,
        "--mode",
        case_sensitive=False,
        help="optimize: compress; audit: measure only; off: pass through.",
    ),
    anthropic_upstream: str = typer.Option(
        DEFAULT_ANTHROPIC_UPSTREAM, "--anthropic-upstream", envvar="HEADROOM_ANTHROPIC_UPSTREAM", help="Anthropic API."
    ),
    openai_upstream: str = typer.Option(
        DEFAULT_OPENAI_UPSTREAM,
        "--openai-upstream",
        envvar="HEADROOM_OPENAI_UPSTREAM",
        help="OpenAI API or any OpenAI-compatible server (Azure, vLLM, Ollama, LiteLLM).",
    ),
    store: str | None = typer.Option(
        None, "--store", envvar="HEADROOM_STORE", help="CCR store: a path, sqlite:///path, redis://host/db or memory."
    ),
    no_retrieval: bool = typer.Option(
        False, "--no-retrieval", help="Do not offer headroom_retrieve nor answer it inside the proxy."
    ),
    compress_timeout_ms: float = typer.Option(
        2000.0, "--compress-timeout-ms", min=1.0, help="Compression budget per request; past it the original is sent."
    ),
    max_retrieval_rounds: int = typer.Option(3, "--max-retrieval-rounds", min=0, help="Retrieval rounds per request."),
    no_edit_safety: bool = typer.Option(
        False, "--no-edit-safety", help="Also compress re-reads, ranged reads and reads of edited files."
    ),
    compress_user_documents: bool = typer.Option(
        False,
        "--compress-user-documents",
        help="Also compress documents pasted into earlier user turns (costs one prompt-cache miss).",
    ),
    cache_align: bool = typer.Option(
        False, "--cache-align", help="Move volatile system-prompt lines (times, ids) after the cache breakpoints."
    ),
    access_log: bool = typer.Option(False, "--access-log", help="Log one line per request (method, path, status)."),
) -> None:
    """Run the proxy. Point clients at it:

    ANTHROPIC_BASE_URL=http://127.0.0.1:8787   OPENAI_BASE_URL=http://127.0.0.1:8787/v1
    """
    try:  # the server is an optional extra: say how to get it instead of a traceback
        import uvicorn

        from headroom.proxy.app import build_app
        from headroom.proxy.redact import install_log_redaction
        from headroom.proxy.server import uvicorn_config
    except ImportError as exc:
        extra = "pip install -e '.[proxy]' in the headroom checkout"
        typer.echo(f"headroom proxy needs the proxy extra: {extra} ({exc})", err=True)
        raise typer.Exit(2) from exc

    config = ProxyConfig(
        host=host,
        port=port,
        mode=mode,
        anthropic_upstream=anthropic_upstream,
        openai_upstream=openai_upstream,
        store=store or None,
        retrieval=not no_retrieval,
        max_retrieval_rounds=max_retrieval_rounds,
        compress_timeout_ms=compress_timeout_ms,
        edit_safety=not no_edit_safety,
        compress_user_documents=compress_user_documents,
        cache_align=cache_align,
    )
    try:
        app = build_app(config)
    except ValueError as exc:  # an unparsable --store / HEADROOM_STORE
        raise typer.BadParameter(str(exc), param_hint="--store") from exc
    problem = _port_problem(host, port)
    if problem:  # before the models load (seconds), not after
        typer.echo(f"headroom proxy: cannot listen on {config.url}: {problem}", err=True)
        raise typer.Exit(code=1)

    class _Server(uvicorn.Server):
        """Says where to point clients once it really answers (models loaded, port bound)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                # `--port 0` takes a free port: the banner names the one bound (tests, scripts).
                bound = next((s.getsockname()[1] for server in self.servers for s in server.sockets), port)
                url = http_url(host, bound)
                banner = f"headroom proxy ({config.mode.value}) on {url}\n"
                banner += f"  export ANTHROPIC_BASE_URL={url}\n  export OPENAI_BASE_URL={url}/v1"
                typer.echo(banner, err=True)

    level = logging.getLogger().getEffectiveLevel()
    log_level = "debug" if level <= logging.DEBUG else "info" if access_log else "warning"
    server = _Server(uvicorn_config(app, host, port, log_level=log_level, access_log=access_log))
    # `uvicorn.Config()` (just above) installs uvicorn's logging handlers: the redaction filter
    # goes on them now, before any request is logged.
    install_log_redaction()
    if not is_loopback(host):
        typer.echo(
            f"headroom proxy: WARNING: listening on {host}, beyond this machine. Anyone who can reach "
            "it can send requests through it, and read /stats and /v1/compress; bind to 127.0.0.1 "
            "unless this host is firewalled.",
            err=True,
        )
    server.run()


def _port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on right now (in use, not an address here), if so."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return str(exc.strerror or exc)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            return str(exc.strerror or exc)
    return None


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy_command)
