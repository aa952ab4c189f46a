"""End-to-end fixtures: the real agents from npm, the playing upstream, the proxy, the tap.

The agents are installed once into `tests/e2e/node_modules` (pinned in package.json) by
`make test` or, failing that, by the first test that needs them. Set HEADROOM_SKIP_E2E=1 to
skip these tests; without npm on PATH they are skipped with that reason.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

E2E_DIR = Path(__file__).parent
NODE_BIN = E2E_DIR / "node_modules" / ".bin"
_PINS = orjson.loads((E2E_DIR / "package.json").read_bytes())["dependencies"]
_INSTALL_TIMEOUT_S = 900


def _version_ok(binary: Path, version: str) -> bool:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and version in out.stdout


def _installed() -> bool:
    return _version_ok(NODE_BIN / "claude", _PINS["@anthropic-ai/claude-code"]) and _version_ok(
        NODE_BIN / "codex", _PINS["@openai/codex"]
    )


def _install() -> None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node/npm not on PATH: the end-to-end agent tests need them")
    # One installer at a time (pytest-xdist workers, a parallel `make test`).
    with open(E2E_DIR / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed():
            return
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=E2E_DIR,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT_S,
        )
        assert done.returncode == 0, f"npm install failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        # npm may skip install scripts; Claude Code's postinstall puts its native binary in place.
        package = E2E_DIR / "node_modules" / "@anthropic-ai" / "claude-code"
        if not _version_ok(NODE_BIN / "claude", _PINS["@anthropic-ai/claude-code"]):
            subprocess.run(["node", "install.cjs"], cwd=package, capture_output=True, timeout=120, check=False)
    assert _installed(), f"the pinned agents do not run from {NODE_BIN}"


@pytest.fixture(scope="session")
def agents() -> Path:
    """The directory holding the `claude` and `codex` executables."""
    if os.environ.get("HEADROOM_SKIP_E2E"):
        pytest.skip("HEADROOM_SKIP_E2E is set")
    if not _installed():
        _install()
    return NODE_BIN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def agent_env(agents: Path, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: the developer's own keys, base URLs and configs never leak in."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".codex").mkdir(exist_ok=True)
    env = {
        "PATH": f"{agents}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "TMPDIR": str(home),
        "CODEX_HOME": str(home / ".codex"),
        # Claude Code: no telemetry, update checks or other traffic besides the model calls.
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "HEADROOM_STORE": "memory",
    }
    env.update(extra)
    return env


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "home"
    yield path
