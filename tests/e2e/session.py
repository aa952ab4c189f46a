"""Running one agent session end to end, and what the tests check on it.

    agent --(base URL)--> [tap] --> proxy --> AgentUpstream (plays the model)

With the tap, what the agent sent is known exactly and is compared with what the upstream
received; without it (through `headroom wrap`, which starts its own proxy) the comparison is
with the log file itself.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from headroom.ccr.base import MemoryStore
from headroom.proxy import BackgroundServer, ProxyConfig, ProxyServer
from headroom.tokens import count_tokens
from tests.e2e.agent_upstream import AgentUpstream, Recorded, Script, Tap
from tests.e2e.scripts import FINAL_PREFIX, main_requests, tool_result_texts

__all__ = ["Session", "prefix_changes", "run_agent", "serve"]

_AGENT_TIMEOUT_S = 120
_PREFIX_FIELDS = {"system", "tools", "instructions"}


@dataclass
class Session:
    api: str  # "anthropic" or "responses"
    upstream: AgentUpstream
    tap: Tap | None = None
    proxy: ProxyServer | None = None
    urls: dict[str, str] = field(default_factory=dict)
    done: subprocess.CompletedProcess[str] | None = None

    @property
    def path(self) -> str:
        return "/v1/messages" if self.api == "anthropic" else "/v1/responses"

    @property
    def key(self) -> str:
        return "messages" if self.api == "anthropic" else "input"

    def upstream_turns(self) -> list[dict[str, Any]]:
        return main_requests(self.upstream.bodies(self.path), self.api)

    def agent_turns(self) -> list[dict[str, Any]]:
        assert self.tap is not None
        sent = [r.json() for r in self.tap.received if r.method == "POST" and r.path.endswith(self.path)]
        return main_requests(sent, self.api)

    def tool_results(self, side: str) -> list[str]:
        """The tool results of the last turn (it holds every earlier one), as `side` saw them."""
        turns = self.upstream_turns() if side == "upstream" else self.agent_turns()
        return tool_result_texts(turns[-1], self.api) if turns else []

    def describe(self) -> str:
        """What to print when an assertion fails: the agent's output and the traffic."""
        lines = []
        if self.done is not None:
            lines += [f"exit {self.done.returncode}", f"stdout: {self.done.stdout[-1500:]}"]
            lines.append(f"stderr: {self.done.stderr[-2500:]}")
        lines += [f"upstream script errors: {self.upstream.errors}"]
        lines += [f"upstream got {r.method} {r.path} ({len(r.body)} bytes)" for r in self.upstream.received]
        if self.tap is not None:
            lines += [f"agent sent {r.method} {r.path} ({len(r.body)} bytes)" for r in self.tap.received]
        return "\n".join(lines)


@contextlib.contextmanager
def serve(api: str, script: Script, *, proxy: bool = True, tap: bool = True) -> Iterator[Session]:
    """The upstream, and (optionally) an in-process proxy in front of it and a tap in front of
    that. `session.urls["agent"]` is what the agent's base URL should be."""
    upstream = AgentUpstream(script)
    session = Session(api, upstream)
    with contextlib.ExitStack() as stack:
        up = stack.enter_context(BackgroundServer(upstream.app))
        session.urls["upstream"] = session.urls["agent"] = up.url
        if proxy:
            config = ProxyConfig(port=0, anthropic_upstream=up.url, openai_upstream=up.url)
            session.proxy = stack.enter_context(ProxyServer(config, store=MemoryStore()))
            session.urls["proxy"] = session.urls["agent"] = session.proxy.url
        if tap:
            session.tap = Tap(session.urls["agent"])
            session.urls["agent"] = stack.enter_context(BackgroundServer(session.tap)).url
        yield session


def run_agent(session: Session, argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=_AGENT_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        output = f"{exc.stdout!r}\n{exc.stderr!r}"
        pytest.fail(f"{argv[0]} did not finish in {_AGENT_TIMEOUT_S}s\n{output}\n{session.describe()}")
    session.done = done
    return done


def assert_finished(session: Session, expected_final: str) -> None:
    done = session.done
    assert done is not None
    assert done.returncode == 0, session.describe()
    assert not session.upstream.errors, session.describe()
    assert FINAL_PREFIX in done.stdout, session.describe()
    assert expected_final in done.stdout, session.describe()


def savings(before: str, after: str) -> float:
    return 1 - count_tokens(after) / count_tokens(before)


def _strip(value: Any) -> Any:
    """Without `cache_control`, and a content list of one text block as its text: agents move
    their cache breakpoint every turn, and Claude Code then collapses the block it left."""
    if isinstance(value, dict):
        out = {k: _strip(v) for k, v in value.items() if k != "cache_control"}
        content = out.get("content")
        if isinstance(content, list) and len(content) == 1 and isinstance(content[0], dict):
            only = content[0]
            if only.get("type") in ("text", "input_text") and set(only) == {"type", "text"}:
                out["content"] = only["text"]
        return out
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _same(a: Any, b: Any, exact: bool) -> bool:
    return orjson.dumps(a if exact else _strip(a)) == orjson.dumps(b if exact else _strip(b))


def prefix_changes(upstream: list[dict[str, Any]], key: str, agent: list[dict[str, Any]] | None = None) -> list[str]:
    """Where turn N+1, as the upstream got it, does not start with turn N's items.

    Without `agent`: items are compared without the agent's own cache breakpoint moves. With
    `agent` (what the agent sent, same turns): byte for byte, wherever the agent itself sent
    the same bytes both times; every field besides the items too (system, tools...)."""
    problems: list[str] = []
    if agent is not None and len(agent) != len(upstream):
        return [f"the agent sent {len(agent)} turns, the upstream got {len(upstream)}"]
    for n in range(len(upstream) - 1):
        before, after = upstream[n], upstream[n + 1]
        items, later = before.get(key) or [], after.get(key) or []
        if len(later) < len(items):
            problems.append(f"turn {n + 2} has fewer {key} than turn {n + 1}")
            continue
        for i, item in enumerate(items):
            if agent is None:
                if not _same(item, later[i], exact=False):
                    problems.append(f"turn {n + 1}->{n + 2}: {key}[{i}] changed")
            elif _same(agent[n][key][i], agent[n + 1][key][i], exact=True) and not _same(item, later[i], exact=True):
                problems.append(f"turn {n + 1}->{n + 2}: {key}[{i}] changed though the agent sent the same bytes")
        # Without the agent's requests, only the fields that belong to the cached prefix: agents
        # change their own metadata every turn.
        names = (set(before) | set(after)) - {key} if agent is not None else _PREFIX_FIELDS
        for name in sorted(names):
            agent_same = agent is None or _same(agent[n].get(name), agent[n + 1].get(name), exact=True)
            if agent_same and not _same(before.get(name), after.get(name), exact=agent is not None):
                problems.append(f"turn {n + 1}->{n + 2}: field {name!r} changed")
    return problems


def recorded_paths(records: list[Recorded]) -> list[str]:
    return [f"{r.method} {r.path}" for r in records]
