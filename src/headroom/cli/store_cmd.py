"""`headroom retrieve REF` and `headroom store stats|prune`: the CCR store from the shell."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from headroom.ccr.base import OriginalStore
from headroom.ccr.open import open_store
from headroom.ccr.retrieval import retrieve
from headroom.ccr.sharing import provenance
from headroom.errors import StoreError

__all__ = ["register"]

STORE_HELP = (
    "Store: a path, sqlite:///path, redis://host:port/db or memory (default: $HEADROOM_STORE, else the SQLite file)."
)
store_app = typer.Typer(help="Inspect and maintain the CCR store of originals.", no_args_is_help=True)


def _open(spec: str | None) -> OriginalStore:
    try:
        return open_store(spec if spec is not None else os.environ.get("HEADROOM_STORE"), environ=os.environ)
    except (ValueError, StoreError) as exc:
        Console(stderr=True).print(f"[red]cannot open store[/]: {exc}")
        raise typer.Exit(2) from exc


T = TypeVar("T")


def _or_exit(operation: Callable[[], T]) -> T:
    """Run a store operation; an unavailable store is a clear message and exit code 2."""
    try:
        return operation()
    except StoreError as exc:
        Console(stderr=True).print(f"[red]store unavailable[/]: {exc}")
        raise typer.Exit(2) from exc


def retrieve_command(
    ref: str = typer.Argument(..., help="The ref from a marker, e.g. h_3f9a1c2b0d4e."),
    query: str = typer.Option(None, "--query", "-q", help="Only the JSON rows / text lines containing these words."),
    lines: str = typer.Option(None, "--lines", "-l", help="A line range such as 120-164."),
    show_provenance: bool = typer.Option(False, "--provenance", help="Also print who produced the unit."),
    store: str = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Print the original behind a headroom marker (or the slice matching --query / --lines)."""
    opened = _open(store)
    result = retrieve(opened, ref, query=query, lines=lines)
    err = Console(stderr=True)
    err.print(f"[dim]{result.message}[/]")
    if show_provenance and result.found:
        found = provenance(opened, result.ref)
        if found is not None:
            err.print(
                f"[dim]produced by agent={found.agent_id or '-'} session={found.session_id or '-'} "
                f"tool={found.tool or '-'} parent={found.parent_ref or '-'}[/]"
            )
    if result.text:
        sys.stdout.write(result.text if result.text.endswith("\n") else result.text + "\n")
    opened.close()
    if not result.found:
        raise typer.Exit(1)


def stats_command(store: str = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """How many originals the store holds and how much space they take."""
    opened = _open(store)
    stats = _or_exit(opened.stats)
    table = Table(title="headroom store")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_row("backend", stats.backend)
    table.add_row("location", stats.location)
    table.add_row("originals", f"{stats.items:,}")
    table.add_row("stored bytes (compressed)", f"{stats.stored_bytes:,}")
    table.add_row("size cap", f"{stats.max_bytes:,}" if stats.max_bytes else "none")
    table.add_row("ttl (s)", f"{stats.ttl_seconds:,.0f}" if stats.ttl_seconds else "none")
    Console().print(table)
    opened.close()


def prune_command(store: str = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """Delete expired originals and evict least-recently-used ones above the size cap."""
    opened = _open(store)
    removed = _or_exit(opened.prune)
    Console().print(f"pruned {removed:,} original(s)")
    opened.close()


def register(app: typer.Typer) -> None:
    app.command("retrieve")(retrieve_command)
    store_app.command("stats")(stats_command)
    store_app.command("prune")(prune_command)
    app.add_typer(store_app, name="store")
