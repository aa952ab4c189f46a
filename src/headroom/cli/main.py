"""The `headroom` command. Each part registers its own sub-commands from a module of its own."""

from __future__ import annotations

import importlib
import logging

import typer

from headroom import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="headroom",
    help="Context compressor for LLM agents: fewer input tokens, same answers, nothing lost.",
    no_args_is_help=True,
    add_completion=False,
)

# Modules with a `register(app)` function; missing ones (a part not built yet) are skipped.
_COMMAND_MODULES = (
    "headroom.cli.compress_cmd",
    "headroom.cli.store_cmd",
    "headroom.cli.proxy_cmd",
    "headroom.cli.mcp_cmd",
    "headroom.cli.wrap_cmd",
    "headroom.cli.stats_cmd",
    "headroom.cli.doctor_cmd",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"headroom {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug details (never message text or keys)."),
) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for _module in _COMMAND_MODULES:
    try:
        importlib.import_module(_module).register(app)
    except ModuleNotFoundError as exc:
        if exc.name != _module:
            raise


def main() -> None:
    app()


if __name__ == "__main__":
    main()
