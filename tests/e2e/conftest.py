"""End-to-end fixtures: the real agents from npm, the playing upstream, the proxy, the tap.

The agents are installed once into `tests/e2e/node_modules` (pinned in package.json) by
`make test` or, failing that, by the first test that needs them. Set HEADROOM_SKIP_E2E=1 to
skip these tests; without npm on PATH they are skipped with that reason.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agents_install import AgentsUnavailable, ensure_agents


@pytest.fixture(scope="session")
def agents() -> Path:
    """The directory holding the `claude` and `codex` executables."""
    if os.environ.get("HEADROOM_SKIP_E2E"):
        pytest.skip("HEADROOM_SKIP_E2E is set")
    try:
        return ensure_agents()
    except AgentsUnavailable as exc:
        pytest.skip(str(exc))


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
