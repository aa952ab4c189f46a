"""`headroom wrap` with stand-in agents (no npm needed): proxy start/reuse/stop, argument and
exit-code passthrough, the Codex provider overrides, and the errors a user can hit."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headroom.ccr.base import MemoryStore
from headroom.proxy import ProxyConfig, ProxyServer, is_proxy_running
from headroom.proxy.wrap import CODEX_PROVIDER, WrapError, _open_log, _upstream_args, codex_overrides, default_log_path
from tests.e2e.conftest import free_port

# A stand-in agent: records its argv, base-URL env and what /health said, then exits as told.
_FAKE_AGENT = """#!{python}
import json, os, signal, sys, time, urllib.request
base = os.environ.get("ANTHROPIC_BASE_URL") or os.environ.get("OPENAI_BASE_URL", "").removesuffix("/v1")
with urllib.request.urlopen(base + "/health", timeout=5) as response:
    health = json.load(response)
record = {{
    "pid": os.getpid(),
    "argv": sys.argv[1:],
    "anthropic": os.environ.get("ANTHROPIC_BASE_URL"),
    "openai": os.environ.get("OPENAI_BASE_URL"),
    "health": health,
}}
if os.environ.get("WRAP_WAIT_CTRL_C"):  # like Claude Code's TUI: Ctrl-C cancels, the agent goes on
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    open(os.environ["WRAP_OUT"] + ".ready", "w").close()
    signal.pause()
    time.sleep(1.0)  # long enough for a proxy that got the Ctrl-C too to be gone
    with urllib.request.urlopen(base + "/health", timeout=5) as response:
        record["health_after_ctrl_c"] = json.load(response)
with open(os.environ["WRAP_OUT"], "w") as out:
    json.dump(record, out)
if os.environ.get("WRAP_KILL"):
    os.kill(os.getpid(), signal.SIGTERM)
sys.exit(int(os.environ.get("WRAP_EXIT", "0")))
"""


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    for name in ("claude", "codex"):
        script = path / name
        script.write_text(_FAKE_AGENT.format(python=sys.executable))
        script.chmod(0o755)
    return path


def _wrap(bin_dir: Path, tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    out = tmp_path / "agent.json"
    out.unlink(missing_ok=True)
    full_env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "HEADROOM_STORE": "memory",
        "WRAP_OUT": str(out),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "headroom.cli.main", "wrap", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, json.loads(out.read_text()) if out.exists() else None


@pytest.fixture
def port() -> Iterator[int]:
    yield free_port()


def test_started_proxy_logs_privately_under_home(bin_dir: Path, tmp_path: Path, port: int) -> None:
    done, _ = _wrap(bin_dir, tmp_path, "--port", str(port), "claude")
    assert done.returncode == 0, done.stderr
    log = tmp_path / ".local" / "state" / "headroom" / f"proxy-{port}.log"
    assert b"headroom proxy" in log.read_bytes()
    assert log.parent.stat().st_mode & 0o777 == 0o700 and log.stat().st_mode & 0o777 == 0o600


def test_default_log_path_follows_xdg_and_tightens_the_directory(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "headroom").mkdir(parents=True, mode=0o755)
    (state / "headroom").chmod(0o755)
    path = default_log_path(8787, {"XDG_STATE_HOME": str(state), "HOME": str(tmp_path / "home")})
    assert path == state / "headroom" / "proxy-8787.log"
    assert path.parent.stat().st_mode & 0o777 == 0o700
    relative = default_log_path(1, {"XDG_STATE_HOME": "relative/ignored", "HOME": str(tmp_path / "home")})
    assert relative == tmp_path / "home" / ".local" / "state" / "headroom" / "proxy-1.log"


def test_log_open_refuses_a_planted_symlink(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("precious\n")
    link = tmp_path / "proxy-8787.log"
    link.symlink_to(target)
    with pytest.raises(WrapError):
        _open_log(link)
    assert target.read_text() == "precious\n"
    with _open_log(tmp_path / "fresh.log") as log:
        log.write(b"x")
    assert (tmp_path / "fresh.log").stat().st_mode & 0o777 == 0o600


def test_starts_a_proxy_passes_arguments_and_exit_code_and_stops_it(bin_dir: Path, tmp_path: Path, port: int) -> None:
    args = ["-p", "summarise --this", "--model", "claude-sonnet-4-5", "--", "-x"]
    done, seen = _wrap(bin_dir, tmp_path, "--port", str(port), "claude", *args, WRAP_EXIT="3")
    assert done.returncode == 3, done.stderr
    assert seen["argv"] == args
    assert seen["anthropic"] == f"http://127.0.0.1:{port}"
    assert seen["health"]["service"] == "headroom-proxy"
    assert "started proxy" in done.stderr
    assert not is_proxy_running(f"http://127.0.0.1:{port}")


def test_reuses_a_running_proxy_and_leaves_it_running(bin_dir: Path, tmp_path: Path, port: int) -> None:
    with ProxyServer(ProxyConfig(port=port), store=MemoryStore()) as proxy:
        done, seen = _wrap(bin_dir, tmp_path, "--port", str(port), "claude", "-p", "hi")
        assert done.returncode == 0, done.stderr
        assert "using running proxy" in done.stderr
        assert seen["anthropic"] == proxy.url
        assert is_proxy_running(proxy.url)


def test_codex_gets_a_custom_provider_on_the_proxy(bin_dir: Path, tmp_path: Path, port: int) -> None:
    done, seen = _wrap(
        bin_dir, tmp_path, "--port", str(port), "codex", "exec", "--skip-git-repo-check", "fix it", OPENAI_API_KEY="k"
    )
    assert done.returncode == 0, done.stderr
    argv = seen["argv"]
    assert argv[-3:] == ["exec", "--skip-git-repo-check", "fix it"]  # the user's own, last: they win
    assert argv[:-3] == codex_overrides(f"http://127.0.0.1:{port}", {"OPENAI_API_KEY": "k"})
    assert seen["openai"] == f"http://127.0.0.1:{port}/v1"


def test_codex_overrides_are_valid_toml_for_both_auth_modes() -> None:
    tomllib = pytest.importorskip("tomllib")
    url = "http://127.0.0.1:8787"
    for env, auth in (({"OPENAI_API_KEY": "k"}, {"env_key": "OPENAI_API_KEY"}), ({}, {"requires_openai_auth": True})):
        pairs = codex_overrides(url, env)
        assert pairs[::2] == ["-c"] * (len(pairs) // 2)
        config = tomllib.loads("\n".join(pairs[1::2]))
        assert config["model_provider"] == CODEX_PROVIDER
        provider = config["model_providers"][CODEX_PROVIDER]
        assert provider["base_url"] == url + "/v1"
        assert provider["wire_api"] == "responses"
        assert {k: provider[k] for k in auth} == auth
        assert ("env_key" in provider) == bool(env)


def test_killed_agent_exits_128_plus_signal(bin_dir: Path, tmp_path: Path, port: int) -> None:
    done, _ = _wrap(bin_dir, tmp_path, "--port", str(port), "claude", WRAP_KILL="1")
    assert done.returncode == 128 + 15


def test_port_taken_by_something_else(bin_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        done, seen = _wrap(bin_dir, tmp_path, "--port", str(taken), "claude")
    assert done.returncode == 2
    assert "not a headroom proxy" in done.stderr
    assert seen is None


def test_missing_or_unknown_agent(tmp_path: Path, port: int) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done, _ = _wrap(empty, tmp_path, "--port", str(port), "codex", PATH=str(empty))
    assert done.returncode == 2
    assert "codex was not found on PATH" in done.stderr and "@openai/codex" in done.stderr
    assert not is_proxy_running(f"http://127.0.0.1:{port}")  # none started for nothing
    done, _ = _wrap(empty, tmp_path, "--port", str(port), "cursor")
    assert done.returncode == 2
    assert "unknown agent" in done.stderr


def test_an_existing_base_url_becomes_the_proxy_upstream() -> None:
    env = {"ANTHROPIC_BASE_URL": "https://gateway.example/anthropic/", "OPENAI_BASE_URL": "https://llm.example/v1"}
    assert _upstream_args(env, 8787) == [
        "--anthropic-upstream",
        "https://gateway.example/anthropic",
        "--openai-upstream",
        "https://llm.example",
    ]
    # Already pointing at this proxy (a second wrap, a shell that exported it): no loop.
    assert _upstream_args({"ANTHROPIC_BASE_URL": "http://localhost:8787/v1"}, 8787) == []
    # The proxy's own settings win; it reads them itself.
    assert _upstream_args({**env, "HEADROOM_OPENAI_UPSTREAM": "http://vllm:8000"}, 8787) == [
        "--anthropic-upstream",
        "https://gateway.example/anthropic",
    ]


def test_ctrl_c_reaches_the_agent_and_not_the_proxy(bin_dir: Path, tmp_path: Path, port: int) -> None:
    """In a terminal, Ctrl-C goes to the foreground group: the agent gets it (Claude Code cancels
    a generation and goes on), wrap keeps waiting, and the proxy (in a session of its own) keeps
    serving until the agent exits."""
    out = tmp_path / "agent.json"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "HEADROOM_STORE": "memory",
        "WRAP_OUT": str(out),
        "WRAP_WAIT_CTRL_C": "1",
    }
    argv = [sys.executable, "-m", "headroom.cli.main", "wrap", "--port", str(port), "claude"]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: wrap on a fresh terminal, as a user's shell would run it
        os.execve(sys.executable, argv, env)
    ready = Path(f"{out}.ready")
    status: int | None = None
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            _drain(terminal)
        assert ready.exists(), "the agent never started"
        os.write(terminal, b"\x03")  # Ctrl-C, as typed
        while status is None and time.monotonic() < deadline:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
            else:
                _drain(terminal)
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(terminal)
    assert status is not None, "wrap did not exit after the agent did"
    assert os.waitstatus_to_exitcode(status) == 0  # the agent's own exit, after the Ctrl-C
    seen = json.loads(out.read_text())
    assert seen["health_after_ctrl_c"]["service"] == "headroom-proxy"
    assert not is_proxy_running(f"http://127.0.0.1:{port}")


def _drain(terminal: int) -> None:
    ready, _, _ = select.select([terminal], [], [], 0.1)
    if ready:
        with contextlib.suppress(OSError):
            os.read(terminal, 4096)
