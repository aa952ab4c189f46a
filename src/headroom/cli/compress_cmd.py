"""`headroom compress`: compress a request, a message list or plain text from a file or stdin."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.table import Table

from headroom.api import compress_request, default_pipeline
from headroom.results import CompressStats

__all__ = ["register"]


def _stats_table(stats: CompressStats) -> Table:
    table = Table(title=f"headroom · {stats.format} · {stats.tokenizer}", show_footer=True)
    table.add_column("transform", footer="total")
    table.add_column("units", justify="right", footer=str(len(stats.units)))
    table.add_column("tokens before", justify="right", footer=f"{stats.tokens_before:,}")
    table.add_column("tokens after", justify="right", footer=f"{stats.tokens_after:,}")
    table.add_column("saved", justify="right", footer=f"{stats.savings_percent:.1f}%")
    for t in stats.transforms.values():
        pct = 100 * t.saved / t.tokens_before if t.tokens_before else 0.0
        table.add_row(t.name, str(t.units), f"{t.tokens_before:,}", f"{t.tokens_after:,}", f"{pct:.1f}%")
    diagnostics = f" · {len(stats.diagnostics)} diagnostic(s)" if stats.diagnostics else ""
    table.caption = f"{stats.time_ms:.1f} ms{diagnostics}"
    return table


def compress_command(
    source: str = typer.Argument("-", help="A JSON request / message list / text file, or - for stdin."),
    fmt: str = typer.Option("auto", "--format", "-f", help="openai | anthropic | responses | auto"),
    as_json: bool = typer.Option(False, "--json", help="Print the compressed request and stats as one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the stats table."),
) -> None:
    """Compress a request (or plain text) and print it with a savings table."""
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    err = Console(stderr=True)
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, list):
        payload = {"input" if fmt == "responses" else "messages": payload}
    if isinstance(payload, dict) and ("messages" in payload or "input" in payload):
        result = compress_request(payload, fmt)
        output: object = result.request
        stats = result.stats
    else:  # plain text (or JSON that is not a request): compress it as one unit
        # surrogateescape: undecodable bytes survive the round trip instead of becoming U+FFFD.
        text = raw.decode("utf-8", errors="surrogateescape")
        pipeline = default_pipeline()
        wrapped = pipeline.compress_request({"messages": [{"role": "tool", "content": text}]}, "openai")
        output = wrapped.request["messages"][0]["content"]
        stats = wrapped.stats
    if as_json:
        sys.stdout.write(orjson.dumps({"result": output, "stats": stats.as_dict()}).decode() + "\n")
        return
    if not quiet:
        text_out = output if isinstance(output, str) else orjson.dumps(output, option=orjson.OPT_INDENT_2).decode()
        sys.stdout.write(text_out + "\n")
    err.print(_stats_table(stats))
    for line in stats.diagnostics:
        err.print(f"[yellow]diagnostic[/]: {line}")


def register(app: typer.Typer) -> None:
    app.command("compress")(compress_command)
