"""`headroom compress`: compress a request, a message list or plain text from a file or stdin."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import NoReturn

import orjson
import typer
from rich.console import Console
from rich.table import Table

from headroom.api import compress_request, default_pipeline, default_store
from headroom.ccr.ledger import record_request
from headroom.compressors.base import all_compressors
from headroom.formats import FORMATS
from headroom.results import CompressStats
from headroom.savings import request_record
from headroom.tokens import count_tokens

__all__ = ["register"]


def warm_up() -> None:
    count_tokens("warm up")
    all_compressors()


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


_FORMATS = ("auto", *FORMATS)
LEDGER_SOURCE = "cli"  # this command's name in the savings ledger


def _fail(message: str) -> NoReturn:
    """A usage or input error: one line on stderr, exit code 2, no traceback."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"headroom compress: {message}", markup=False)
    raise typer.Exit(code=2)


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except IsADirectoryError:
        _fail(f"{source} is a directory; give a file (a request, a message list or text) or - for stdin")
    except OSError as exc:
        _fail(f"cannot read {source}: {exc.strerror or exc}")


def _json_line(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # text with undecodable bytes (lone surrogates): escaped, still valid JSON
        return json.dumps(value, ensure_ascii=True)


def compress_command(
    source: str = typer.Argument("-", help="A JSON request / message list / text file, or - for stdin."),
    format_name: str = typer.Option("auto", "--format", "-f", help=" | ".join((*FORMATS, "auto"))),
    as_json: bool = typer.Option(False, "--json", help="Print the compressed request and stats as one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the stats table."),
) -> None:
    """Compress a request (or plain text) and print it with a savings table."""
    if format_name not in _FORMATS:
        _fail(f"unknown --format {format_name!r}; use one of: {', '.join(_FORMATS)}")
    raw = _read(source)
    err = Console(stderr=True)
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, list):
        wire_format = FORMATS.get(format_name)
        payload = {wire_format.request_key if wire_format is not None else "messages": payload}
    warm_up()  # loading the tokenizer and the compressors is start-up, not compression time
    if isinstance(payload, dict) and ("messages" in payload or "input" in payload):
        result = compress_request(payload, format_name, ledger_source=LEDGER_SOURCE)
        output: object = result.request
        stats = result.stats
    else:  # plain text (or JSON that is not a request): compress it as one unit
        # surrogateescape: undecodable bytes survive the round trip instead of becoming U+FFFD.
        text = raw.decode("utf-8", errors="surrogateescape")
        wrapped = default_pipeline().compress_request({"messages": [{"role": "tool", "content": text}]}, "openai")
        output = wrapped.request["messages"][0]["content"]
        stats = dataclasses.replace(wrapped.stats, format="text")
        record_request(request_record(LEDGER_SOURCE, stats, wrapped.request, provider=""), default_store())
    if as_json:
        sys.stdout.write(_json_line({"result": output, "stats": stats.as_dict()}) + "\n")
        return
    if not quiet:
        text_out = output if isinstance(output, str) else orjson.dumps(output, option=orjson.OPT_INDENT_2).decode()
        sys.stdout.buffer.write(text_out.encode("utf-8", errors="surrogateescape") + b"\n")
        sys.stdout.flush()
    err.print(_stats_table(stats))
    for line in stats.diagnostics:
        err.print(f"[yellow]diagnostic[/]: {line}", markup=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("compress")(compress_command)
