"""`headroom wrap claude|codex [args...]`: run a coding agent through the proxy in one command.

The agent is pointed at a proxy on `127.0.0.1:PORT`: one already running there is reused,
otherwise `headroom proxy --port PORT` is started in the background for the agent's lifetime
and stopped when the agent exits. The agent's exit code is returned.

- Claude Code follows `ANTHROPIC_BASE_URL`.
- Codex (0.169) ignores `OPENAI_BASE_URL` for its built-in `openai` provider, but follows a
  custom model provider, selected with `-c` overrides placed before the user's own arguments
  (so the user's later `-c` still wins): `model_providers.headroom` with the proxy's `/v1` base
  URL and the Responses wire API, authenticated with `OPENAI_API_KEY` when it is set, else
  with the API key Codex stored at `codex login --with-api-key`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx

from headroom.proxy._net import http_url
from headroom.proxy.server import is_proxy_running

__all__ = [
    "AGENTS",
    "CODEX_PROVIDER",
    "Launch",
    "WrapError",
    "agent_launch",
    "codex_overrides",
    "ensure_proxy",
    "run_wrapped",
]

AGENTS = {
    "claude": "Claude Code (npm i -g @anthropic-ai/claude-code)",
    "codex": "Codex CLI (npm i -g @openai/codex)",
}
CODEX_PROVIDER = "headroom"
_HEALTH_TIMEOUT_S = 30.0  # a cold start imports the whole pipeline; a slow CI box needs the margin
_STOP_TIMEOUT_S = 10.0
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})


class WrapError(Exception):
    """A problem the user can fix (agent not installed, port taken, proxy would not start)."""


@dataclass(frozen=True, slots=True)
class Launch:
    argv: list[str]
    env: dict[str, str]


def proxy_url(host: str, port: int) -> str:
    return http_url(host, port)


def _toml_string(value: str) -> str:
    # A TOML basic string: only backslash and double quote need escaping in a URL or a name.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def codex_overrides(url: str, env: Mapping[str, str]) -> list[str]:
    """The `-c key=value` arguments that route Codex's model calls through the proxy at `url`."""
    prefix = f"model_providers.{CODEX_PROVIDER}"
    pairs = [
        (f"{prefix}.name", _toml_string("headroom proxy")),
        (f"{prefix}.base_url", _toml_string(url.rstrip("/") + "/v1")),
        (f"{prefix}.wire_api", _toml_string("responses")),
    ]
    if env.get("OPENAI_API_KEY"):
        pairs.append((f"{prefix}.env_key", _toml_string("OPENAI_API_KEY")))
    else:  # the key saved by `codex login --with-api-key`
        pairs.append((f"{prefix}.requires_openai_auth", "true"))
    pairs.append(("model_provider", _toml_string(CODEX_PROVIDER)))
    out: list[str] = []
    for key, value in pairs:
        out += ["-c", f"{key}={value}"]
    return out


def find_agent(agent: str, env: Mapping[str, str]) -> str:
    if agent not in AGENTS:
        raise WrapError(f"unknown agent {agent!r}: use one of {', '.join(AGENTS)}")
    found = shutil.which(agent, path=env.get("PATH"))
    if found is None:
        raise WrapError(f"{agent} was not found on PATH; install {AGENTS[agent]}")
    return found


def agent_launch(agent: str, args: Sequence[str], url: str, env: Mapping[str, str]) -> Launch:
    """The command line and environment that run `agent` against the proxy at `url`."""
    executable = find_agent(agent, env)
    child = dict(env)
    if agent == "claude":
        child["ANTHROPIC_BASE_URL"] = url
        return Launch([executable, *args], child)
    # Codex itself reads the provider from the overrides; other OpenAI tools the agent spawns
    # (scripts, MCP servers) follow OPENAI_BASE_URL.
    child["OPENAI_BASE_URL"] = url + "/v1"
    return Launch([executable, *codex_overrides(url, env), *args], child)


def _port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _is_this_proxy(value: str, port: int) -> bool:
    parsed = urlsplit(value)
    return parsed.port == port and (parsed.hostname or "") in _LOOPBACK


def _upstream_args(env: Mapping[str, str], port: int) -> list[str]:
    """Keep a base URL the user already had (a company gateway, Azure) as the proxy's upstream,
    unless HEADROOM_*_UPSTREAM says otherwise (the proxy reads those itself)."""
    out: list[str] = []
    for var, option, suffix in (
        ("ANTHROPIC_BASE_URL", "--anthropic-upstream", ""),
        ("OPENAI_BASE_URL", "--openai-upstream", "/v1"),
    ):
        value = env.get(var, "").rstrip("/")
        if not value or env.get(f"HEADROOM_{var.split('_')[0]}_UPSTREAM") or _is_this_proxy(value, port):
            continue  # a base URL that is this proxy would make it its own upstream
        # The proxy appends the request path (/v1/...) to its upstream.
        if suffix and value.endswith(suffix):
            value = value[: -len(suffix)]
        out += [option, value]
    return out


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def default_log_path(port: int, env: Mapping[str, str]) -> Path:
    """`$XDG_STATE_HOME/headroom/proxy-PORT.log` (else `~/.local/state/headroom/`), in a
    directory only the user can enter: not a predictable name in a shared tmp dir, which another
    local user could pre-create or point elsewhere with a symlink."""
    state = env.get("XDG_STATE_HOME") or ""
    base = Path(state) if os.path.isabs(state) else Path(env.get("HOME") or Path.home()) / ".local" / "state"
    directory = base / "headroom"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.stat().st_mode & 0o077:
            directory.chmod(0o700)
    except OSError as exc:
        raise WrapError(f"cannot create {directory} for the proxy log ({exc.strerror}); use --log-file") from exc
    return directory / f"proxy-{port}.log"


def _open_log(path: Path) -> BinaryIO:
    # 0600 (request errors may quote what clients sent); O_NOFOLLOW: a planted symlink is refused.
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.fdopen(os.open(path, flags, 0o600), "ab")
    except OSError as exc:
        raise WrapError(f"cannot open the proxy log {path}: {exc.strerror}") from exc


@contextlib.contextmanager
def ensure_proxy(
    port: int,
    host: str = "127.0.0.1",
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    proxy_args: Sequence[str] = (),
) -> Iterator[tuple[str, bool]]:
    """Yield `(url, started)`: a healthy proxy on `host:port`, started (and stopped on exit) by
    us when none was running there."""
    env = dict(os.environ if env is None else env)
    url = proxy_url(host, port)
    if is_proxy_running(url):
        yield url, False
        return
    if _port_in_use(host, port):
        raise WrapError(f"port {port} is in use by something that is not a headroom proxy; pick another with --port")
    log_path = log_path or default_log_path(port, env)
    command = [sys.executable, "-m", "headroom.cli.main", "proxy", "--host", host, "--port", str(port)]
    command += [*_upstream_args(env, port), *proxy_args]
    with _open_log(log_path) as log:
        # Its own session: the Ctrl-C the user types for the agent must not stop the proxy.
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + _HEALTH_TIMEOUT_S
        while not is_proxy_running(url, timeout=0.5):
            if process.poll() is not None:
                raise WrapError(f"headroom proxy exited with code {process.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                raise WrapError(f"headroom proxy did not become healthy on {url}; see {log_path}")
            time.sleep(0.1)
        # Another wrap may have won the race for the port: then the running proxy is theirs.
        yield url, process.poll() is None
    finally:
        _stop(process)


def _exit_code(returncode: int) -> int:
    # Killed by a signal: the shell convention 128 + signal number.
    return 128 - returncode if returncode < 0 else returncode


def run_agent(launch: Launch) -> int:
    """Run the agent in the foreground and return its exit code.

    The terminal sends Ctrl-C to the whole foreground group; the agent handles it (Claude Code
    cancels a generation, it does not exit), so this process only waits. A Python handler, unlike
    SIG_IGN, is reset in the child at exec. SIGTERM/SIGHUP sent to us are passed on to the agent."""
    process: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        if process is not None and process.poll() is None and signum != signal.SIGINT:
            process.send_signal(signum)

    handled = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {signum: signal.signal(signum, forward) for signum in handled}
    try:
        process = subprocess.Popen(launch.argv, env=launch.env)
        return _exit_code(process.wait())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_wrapped(
    agent: str,
    args: Sequence[str],
    *,
    port: int = 8787,
    host: str = "127.0.0.1",
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    proxy_args: Sequence[str] = (),
    notify: bool = True,
) -> int:
    """`headroom wrap`: ensure a proxy, run the agent through it, return the agent's exit code."""
    env = dict(os.environ if env is None else env)
    find_agent(agent, env)  # fail before starting a proxy for nothing
    with ensure_proxy(port, host, env=env, log_path=log_path, proxy_args=proxy_args) as (url, started):
        if notify:
            how = "started" if started else "using running"
            print(f"headroom: {how} proxy on {url} for {agent}", file=sys.stderr, flush=True)
        since = time.time()
        code = run_agent(agent_launch(agent, args, url, env))
        if notify:
            line = session_summary(url, since)
            if line:
                print(line, file=sys.stderr, flush=True)
        return code


def session_summary(url: str, since: float) -> str | None:
    """One line: what the proxy's ledger recorded since `since` (this session's requests; with
    a shared proxy, others' requests in that window too). None when the proxy cannot say."""
    try:
        response = httpx.get(
            url.rstrip("/") + "/stats/requests",
            params={"since": repr(since), "limit": 1000},
            timeout=5,
            trust_env=False,
        )
        rows = response.json()["requests"] if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(rows, list):
        return None
    proxied = [r for r in rows if isinstance(r, dict) and r.get("source") == "proxy"]
    before = sum(int(r.get("tokens_before") or 0) for r in proxied)
    after = sum(int(r.get("tokens_after") or 0) for r in proxied)
    dollars = sum(float(r.get("usd_saved") or 0.0) for r in proxied)
    if not proxied:
        return "headroom: no requests went through the proxy in this session"
    percent = 100.0 * (before - after) / before if before else 0.0
    sign = "-" if dollars < 0 else ""
    return (
        f"headroom: this session saved {before - after:,} of {before:,} input tokens ({percent:.1f}%), "
        f"net {sign}${abs(dollars):.4f}, over {len(proxied)} requests (headroom stats for more)"
    )
