"""`headroom stats` (what headroom saved, from the ledger) and `headroom inspect` (what one
compressed unit became, beside its original)."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from typing import Any

import humanize
import orjson
import typer
from rich.columns import Columns
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from headroom.ccr.base import OriginalStore
from headroom.ccr.ledger import RequestRecord, SavingsLedger, UnitSample, ledger_for
from headroom.cli.store_cmd import STORE_HELP, _open, _or_exit
from headroom.savings import parse_since, report

__all__ = ["register", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"
_CSV_FIELDS = (
    "id",
    "time",
    "source",
    "client",
    "model",
    "provider",
    "path",
    "tokens_before",
    "tokens_after",
    "tokens_saved",
    "usd_saved",
    "usd_cost",
    "usd_cache_break",
    "cache_break_tokens",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "retrieval_rounds",
    "latency_ms",
    "fail_open",
    "compressors",
)


def sparkline(values: list[int]) -> str:
    """One character per value, ▁ (nothing) to █ (the largest)."""
    top = max(values, default=0)
    if top <= 0:
        return _BARS[0] * len(values)
    return "".join(_BARS[min(len(_BARS) - 1, round(max(0, v) * (len(_BARS) - 1) / top))] for v in values)


def _fail(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"headroom: {message}", markup=False)
    raise typer.Exit(2)


def _tokens(n: int) -> str:
    return humanize.intword(n, "%.1f") if abs(n) >= 1_000_000 else humanize.intcomma(n)


def _usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"-${-value:,.4f}" if value < 0 else f"${value:,.4f}"


def _when(at: float | None) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M") if at else "-"


def _group_table(title: str, groups: dict[str, dict[str, Any]], key: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(key)
    for name in ("requests", "tokens before", "tokens after", "saved", "%", "$ saved"):
        table.add_column(name, justify="right")
    for name, g in sorted(groups.items(), key=lambda item: -item[1]["tokens_saved"]):
        table.add_row(
            name,
            humanize.intcomma(g["requests"]),
            _tokens(g["tokens_before"]),
            _tokens(g["tokens_after"]),
            _tokens(g["tokens_saved"]),
            f"{g['savings_percent']:.1f}%",
            _usd(g["usd_saved"]),
        )
    return table


def _day_table(days: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="by day", title_justify="left")
    table.add_column("day")
    for name in ("requests", "tokens before", "saved", "%", "$ saved"):
        table.add_column(name, justify="right")
    table.add_column("saved per hour, 0-23 h", no_wrap=True, min_width=24)
    for date, g in sorted(days.items()):
        label = datetime.fromisoformat(date).strftime("%a %d %b %Y")
        table.add_row(
            label,
            humanize.intcomma(g["requests"]),
            _tokens(g["tokens_before"]),
            _tokens(g["tokens_saved"]),
            f"{g['savings_percent']:.1f}%",
            _usd(g["usd_saved"]),
            Text(sparkline(g["hourly"]), style="green"),
        )
    return table


def _compressor_table(groups: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="by compressor", title_justify="left")
    table.add_column("compressor")
    for name in ("units", "tokens before", "tokens after", "saved", "%"):
        table.add_column(name, justify="right")
    for name, g in sorted(groups.items(), key=lambda item: -item[1]["tokens_saved"]):
        pct = 100.0 * g["tokens_saved"] / g["tokens_before"] if g["tokens_before"] else 0.0
        table.add_row(
            name,
            humanize.intcomma(g["units"]),
            _tokens(g["tokens_before"]),
            _tokens(g["tokens_after"]),
            _tokens(g["tokens_saved"]),
            f"{pct:.1f}%",
        )
    return table


def _summary(data: dict[str, Any], store: OriginalStore) -> Panel:
    t = data["totals"]
    lines = [
        f"[bold]{_tokens(t['tokens_saved'])}[/] tokens saved of {_tokens(t['tokens_before'])} "
        f"([bold]{t['savings_percent']:.1f}%[/]) in {humanize.intcomma(t['requests'])} requests",
        f"net saved [bold green]{_usd(t['usd_saved'])}[/]"
        + (f"  (unpriced models: {_tokens(t['tokens_saved_unpriced'])} tokens)" if t["tokens_saved_unpriced"] else ""),
    ]
    if t["cache_breaks"]:
        lines.append(
            f"[yellow]{t['cache_breaks']} request(s) changed a cached prefix[/]: {_tokens(t['cache_break_tokens'])} "
            f"tokens re-written, costing {_usd(t['usd_cache_break'])} (counted in the net)"
        )
    cache = data["cache"]
    if cache["requests"]:
        lines.append(
            f"provider cache hit rate {100 * cache['hit_rate']:.1f}% over {cache['requests']} proxied requests"
        )
    lat = data["latency_ms"]
    if lat["count"]:
        lines.append(f"headroom's time per request: p50 {lat['p50']} ms · p90 {lat['p90']} ms · p99 {lat['p99']} ms")
    if data["first_at"]:
        span = humanize.naturaldelta(max(0.0, data["last_at"] - data["first_at"]))
        lines.append(f"from {_when(data['first_at'])} to {_when(data['last_at'])} ({span})")
    try:
        s = store.stats()
        lines.append(
            f"store: {s.backend} {s.location} · {humanize.intcomma(s.items)} originals · "
            f"{humanize.naturalsize(s.stored_bytes, binary=True)}"
        )
    except Exception as exc:
        lines.append(f"store unavailable ({type(exc).__name__})")
    return Panel("\n".join(lines), title="headroom savings", expand=False)


def _rows(ledger: SavingsLedger, since: float | None) -> list[RequestRecord]:
    return _or_exit(lambda: ledger.requests(since=since))


def _write_csv(records: list[RequestRecord]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for rec in reversed(records):  # oldest first
        usage = rec.usage
        writer.writerow(
            [
                rec.id,
                datetime.fromtimestamp(rec.at).isoformat(timespec="seconds"),
                rec.source,
                rec.client,
                rec.model,
                rec.provider,
                rec.path,
                rec.tokens_before,
                rec.tokens_after,
                rec.tokens_saved,
                "" if rec.usd_saved is None else f"{rec.usd_saved:.8f}",
                "" if rec.usd_cost is None else f"{rec.usd_cost:.8f}",
                f"{rec.usd_cache_break:.8f}",
                rec.cache_break_tokens,
                *(
                    ("", "", "", "")
                    if usage is None
                    else (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens, usage.output_tokens)
                ),
                rec.retrieval_rounds,
                rec.latency_ms,
                rec.fail_open,
                ";".join(f"{name}:{b}->{a}" for name, (_, b, a) in rec.compressors.items()),
            ]
        )


def stats_command(
    since: str = typer.Option(None, "--since", help="Only requests since: 30m, 12h, 7d, 2w or a date (2025-06-01)."),
    as_json: bool = typer.Option(
        False, "--json", help="The report as one JSON object (what /stats shows as 'ledger')."
    ),
    as_csv: bool = typer.Option(False, "--csv", help="One CSV row per request (oldest first)."),
    store: str = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """What headroom saved: tokens and net dollars by day, model, client, compressor and source
    (library, CLI, proxy and MCP server all write to the ledger beside the store)."""
    if as_json and as_csv:
        _fail("choose one of --json and --csv")
    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        _fail(f"--since: {exc}")
        return
    opened = _open(store)
    ledger = ledger_for(opened)
    records = _rows(ledger, start)
    if as_csv:
        _write_csv(records)
        return
    data = report(records, since=start)
    if as_json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    console = Console()
    if not records:
        window = f" since {_when(start)}" if start else ""
        console.print(
            f"headroom: nothing recorded{window} yet. Compress something (headroom compress, the proxy, "
            "the MCP server or headroom.compress()) with this store."
        )
        return
    console.print(_summary(data, opened))
    console.print(_day_table(data["by_day"]))
    console.print(_group_table("by source", data["by_source"], "source"))
    console.print(_group_table("by model", data["by_model"], "model"))
    console.print(_group_table("by client", data["by_client"], "client"))
    console.print(_compressor_table(data["by_compressor"]))


def _last_unit(ledger: SavingsLedger) -> UnitSample | None:
    for rec in ledger.requests(limit=200):
        for ref in rec.refs:
            unit = ledger.unit(ref)
            if unit is not None:
                return unit
    return None


def inspect_command(
    ref: str = typer.Argument(None, help="A ref (h_...) from a marker, /stats/requests or headroom stats --csv."),
    last: bool = typer.Option(False, "--last", help="The unit compressed most recently."),
    as_json: bool = typer.Option(False, "--json", help="Original and compressed text as one JSON object."),
    width: int = typer.Option(0, "--width", min=0, help="Columns (default: the terminal's)."),
    store: str = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """The original and the compressed text of one unit side by side, markers included."""
    if (ref is None) == (not last):
        _fail("give a ref or --last (one of them)")
    opened = _open(store)
    ledger = ledger_for(opened)
    unit = _or_exit(lambda: _last_unit(ledger) if last else ledger.unit(ref.strip()))
    if unit is None:
        _fail("no compressed unit recorded yet" if last else f"{ref}: no compressed unit with this ref in the ledger")
        return
    original = _or_exit(lambda: opened.get(unit.ref))
    original_text = original.text if original is not None else None
    if as_json:
        payload = {**unit.as_dict(), "original": original_text}
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    console = Console(width=width or None)
    head = (
        f"{unit.ref} · {unit.compressor} · {unit.location} · {_tokens(unit.tokens_before)} → "
        f"{_tokens(unit.tokens_after)} tokens · {_when(unit.at)}"
    )
    console.print(Text(head, style="bold"))
    column = max(20, (console.width - 4) // 2)
    left = Panel(
        Text(original_text) if original_text is not None else Text("(original expired from the store)", style="red"),
        title="original",
        width=column,
    )
    right = Panel(_marked(unit.compressed), title="compressed" + (" (cut)" if unit.truncated else ""), width=column)
    console.print(Columns([left, right]))


def _marked(text: str) -> Text:
    """The compressed text with headroom's markers (`ref=h_...` lines) highlighted."""
    out = Text()
    for line in text.splitlines(keepends=True):
        out.append(line, style="bold yellow" if "ref=h_" in line or "headroom" in line else None)
    return out


def register(app: typer.Typer) -> None:
    app.command("stats")(stats_command)
    app.command("inspect")(inspect_command)
