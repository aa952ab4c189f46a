"""`headroom wrap claude|codex [args...]`: run Claude Code or Codex through the proxy."""

from __future__ import annotations

from pathlib import Path

import typer

from headroom.proxy.config import Mode

__all__ = ["register"]

# Everything after the agent's name belongs to the agent (`-p`, `--model`, `exec` ...): wrap's
# own options go before it, as with `env` or `sudo`.
_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False}


def wrap_command(
    agent: str = typer.Argument(..., metavar="claude|codex", help="The agent to run."),
    args: list[str] = typer.Argument(None, help="Passed to the agent unchanged."),
    port: int = typer.Option(8787, "--port", "-p", min=1, max=65535, help="The proxy's port (reused if running)."),
    log_file: Path | None = typer.Option(
        None, "--log-file", help="Where a proxy started by wrap logs (default: ~/.local/state/headroom/proxy-PORT.log)."
    ),
    mode: Mode | None = typer.Option(
        None, "--mode", case_sensitive=False, help="optimize|audit|off, for a proxy started by wrap."
    ),
) -> None:
    """Run an agent with its base URL on a headroom proxy, starting one if none is running.

    headroom wrap claude            headroom wrap codex exec "fix the failing test"

    Wrap's options go before the agent's name; the proxy it starts stops when the agent exits.
    """
    try:
        from headroom.proxy.wrap import WrapError, run_wrapped
    except ImportError as exc:  # the proxy is an optional extra
        typer.echo(
            f"headroom wrap needs the proxy extra: pip install -e '.[proxy]' in the headroom checkout ({exc})", err=True
        )
        raise typer.Exit(2) from exc
    proxy_args = ["--mode", mode.value] if mode else []
    try:
        code = run_wrapped(agent.lower(), args or [], port=port, log_path=log_file, proxy_args=proxy_args)
    except WrapError as exc:
        typer.echo(f"headroom wrap: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("wrap", context_settings=_CONTEXT)(wrap_command)
