"""The real coding agents (Claude Code, Codex) from npm, pinned in package.json.

Importable without pytest: the end-to-end tests (conftest.py) and the agent-session benchmark
(benchmarks/agent_sessions.py) both install through `ensure_agents()`.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import orjson

__all__ = ["E2E_DIR", "NODE_BIN", "PINS", "AgentsUnavailable", "ensure_agents", "installed"]

E2E_DIR = Path(__file__).parent
NODE_BIN = E2E_DIR / "node_modules" / ".bin"
PINS: dict[str, str] = orjson.loads((E2E_DIR / "package.json").read_bytes())["dependencies"]
_INSTALL_TIMEOUT_S = 900


class AgentsUnavailable(Exception):
    """node/npm is missing: the agents cannot be installed here (tests skip, the benchmark says so)."""


def _version_ok(binary: Path, version: str) -> bool:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and version in out.stdout


def installed() -> bool:
    return _version_ok(NODE_BIN / "claude", PINS["@anthropic-ai/claude-code"]) and _version_ok(
        NODE_BIN / "codex", PINS["@openai/codex"]
    )


def _install() -> None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise AgentsUnavailable("node/npm not on PATH: the real agents need them")
    # One installer at a time (pytest-xdist workers, a parallel `make test`, the benchmark).
    with open(E2E_DIR / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed():
            return
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=E2E_DIR,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT_S,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm install failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        # npm may skip install scripts; Claude Code's postinstall puts its native binary in place.
        package = E2E_DIR / "node_modules" / "@anthropic-ai" / "claude-code"
        if not _version_ok(NODE_BIN / "claude", PINS["@anthropic-ai/claude-code"]):
            subprocess.run(["node", "install.cjs"], cwd=package, capture_output=True, timeout=120, check=False)
    if not installed():
        raise RuntimeError(f"the pinned agents do not run from {NODE_BIN}")


def ensure_agents() -> Path:
    """The directory holding the pinned `claude` and `codex` executables, installing them if needed."""
    if not installed():
        _install()
    return NODE_BIN
