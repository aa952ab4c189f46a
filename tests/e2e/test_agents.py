"""Claude Code and Codex, installed from npm, working through the proxy on a real task.

Each scenario runs one agent session once (module-scoped); every check below is asserted on
each scenario. The "model" (tests/e2e/scripts.py) makes the agent read a ~22k-token service
log with its real tool, grep a small codebase, read most of the log again by line range, then
answer with every error code and handler it saw.

Scenarios: Claude Code with both base-URL forms (`http://127.0.0.1:PORT` and `.../v1`) and
Codex in both of its tool layouts (function tools, and the `exec` code mode of its default
model) through an in-process proxy with a tap recording what the agent sent; each agent
through `headroom wrap`, which starts the proxy itself; and Claude Code with a log pasted into
the prompt (the human's text must keep its bytes from turn 1 on).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headroom.proxy import is_proxy_running
from headroom.proxy.wrap import agent_launch
from tests.e2e.conftest import agent_env, free_port
from tests.e2e.scripts import RANGED_LINES, ClaudeScript, CodexScript, expected_final, tool_result_texts
from tests.e2e.session import Session, assert_finished, prefix_changes, run_agent, savings, serve
from tests.e2e.workspace import ERROR_LINES, STACK_LINES, Workspace, log_excerpt, make_workspace

pytestmark = pytest.mark.timeout(600)

PROMPT = "Find the errors in checkout-service.log and the payment handlers under src/."
ANTHROPIC_KEY = "sk-ant-api03-e2e0test0key0AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
OPENAI_KEY = "sk-proj-e2e0test0key0BBBBBBBBBBBBBBBBBBBBBBBBBBBB"
# Non-interactive, tools allowed without prompts (--dangerously-skip-permissions refuses root).
CLAUDE_FLAGS = ["--allowedTools", "Read,Grep,Bash", "--output-format", "text"]
# Codex truncates tool output to a model-dependent budget before anything else sees it; a
# larger one lets the whole log through, so the proxy is what shrinks it.
CODEX_ARGS = ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
CODEX_ARGS += ["-c", "tool_output_token_limit=40000"]


@dataclass(frozen=True)
class Scenario:
    name: str
    agent: str  # "claude" or "codex"
    wrap: bool = False  # through `headroom wrap` (its own proxy, no tap)
    base_suffix: str = ""  # Claude Code's base URL form
    model: str | None = None  # Codex: a model with function tools instead of code mode
    pasted_log: bool = False  # the user pastes log lines into the prompt

    @property
    def api(self) -> str:
        return "anthropic" if self.agent == "claude" else "responses"


SCENARIOS = [
    Scenario("claude-base", "claude"),
    Scenario("claude-base-v1", "claude", base_suffix="/v1"),
    Scenario("claude-wrap", "claude", wrap=True),
    Scenario("codex-functions", "codex", model="gpt-5.4"),
    Scenario("codex-code-mode", "codex"),
    Scenario("codex-wrap", "codex", wrap=True),
    Scenario("claude-pasted-log", "claude", pasted_log=True),
]


@dataclass
class Ran:
    scenario: Scenario
    session: Session
    workspace: Workspace
    port: int | None = None


def _agent_args(scenario: Scenario) -> list[str]:
    prompt = PROMPT + (f"\n\nThis morning's log, for comparison:\n{log_excerpt()}" if scenario.pasted_log else "")
    if scenario.agent == "claude":
        return ["-p", prompt, *CLAUDE_FLAGS]
    return [*CODEX_ARGS, *(["-m", scenario.model] if scenario.model else []), prompt]


def _wrap_argv(port: int, root: Path, agent: str, args: list[str]) -> list[str]:
    wrap = [sys.executable, "-m", "headroom.cli.main", "wrap", "--port", str(port)]
    return [*wrap, "--log-file", str(root / "proxy.log"), agent, *args]


def _run(scenario: Scenario, root: Path, agents: Path) -> Ran:
    workspace = make_workspace(root / "project")
    script = ClaudeScript(workspace) if scenario.agent == "claude" else CodexScript(workspace)
    keys = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "OPENAI_API_KEY": OPENAI_KEY}
    with serve(scenario.api, script, proxy=not scenario.wrap, tap=not scenario.wrap) as session:
        if scenario.wrap:
            port = free_port()
            upstream = session.urls["upstream"]
            env = agent_env(
                agents,
                root / "home",
                **keys,
                HEADROOM_ANTHROPIC_UPSTREAM=upstream,
                HEADROOM_OPENAI_UPSTREAM=upstream,
            )
            run_agent(session, _wrap_argv(port, root, scenario.agent, _agent_args(scenario)), env, workspace.root)
            return Ran(scenario, session, workspace, port)
        env = agent_env(agents, root / "home", **keys)
        if scenario.agent == "claude":
            env["ANTHROPIC_BASE_URL"] = session.urls["agent"] + scenario.base_suffix
            argv = [str(agents / "claude"), *_agent_args(scenario)]
        else:  # the very overrides `headroom wrap codex` uses, aimed at the tap
            launch = agent_launch("codex", _agent_args(scenario), session.urls["agent"], env)
            argv, env = launch.argv, launch.env
        run_agent(session, argv, env, workspace.root)
        return Ran(scenario, session, workspace)


@pytest.fixture(scope="module", params=SCENARIOS, ids=[s.name for s in SCENARIOS])
def ran(request: pytest.FixtureRequest, agents: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    scenario: Scenario = request.param
    yield _run(scenario, tmp_path_factory.mktemp(scenario.name), agents)


def _results(ran: Ran, side: str) -> list[str]:
    results = ran.session.tool_results(side)
    assert len(results) == 3, ran.session.describe()  # the log, the grep, the ranged read
    return results


def test_agent_finishes_with_the_answer(ran: Ran) -> None:
    assert_finished(ran.session, expected_final())
    assert len(ran.session.upstream_turns()) == 4, ran.session.describe()
    if ran.scenario.wrap:
        assert "headroom: started proxy" in ran.session.done.stderr  # type: ignore[union-attr]
        assert not is_proxy_running(f"http://127.0.0.1:{ran.port}")  # stopped with the agent


def test_large_log_reaches_the_model_70_percent_smaller(ran: Ran) -> None:
    log = _results(ran, "upstream")[0]
    file_saving = savings(ran.workspace.log.read_text(), log)
    assert file_saving >= 0.70, f"{file_saving:.1%} smaller than the file"
    assert "[headroom:" in log and "ref=h_" in log  # what was dropped is marked and retrievable
    if ran.session.tap is not None:
        sent_saving = savings(_results(ran, "agent")[0], log)
        assert sent_saving >= 0.70, f"{sent_saving:.1%} smaller than what the agent sent"


def test_error_lines_reach_the_model_intact(ran: Ran) -> None:
    log = _results(ran, "upstream")[0]
    missing = [line for line in (*ERROR_LINES, *STACK_LINES) if line not in log]
    assert not missing


def test_ranged_read_of_the_log_is_compressed(ran: Ran) -> None:
    """Agents page through logs with ranged reads and never edit them: compressed at first sight."""
    ranged = _results(ran, "upstream")[2]
    lines = ran.workspace.log.read_text().splitlines()[:RANGED_LINES]
    assert savings("\n".join(lines), ranged) >= 0.60, ran.session.describe()
    assert "ref=h_" in ranged
    in_range = [line for line in (*ERROR_LINES, *STACK_LINES) if any(line in kept for kept in lines)]
    assert in_range
    # The same lines were read before in this request: an error the first read showed verbatim
    # is not repeated; the ranged read's marker says so, and the earlier result has the line.
    first = _results(ran, "upstream")[0]
    repeated = [line for line in in_range if line not in ranged]
    assert all(line in first for line in repeated)
    assert not repeated or "shown earlier" in ranged


def test_no_prefix_changes_between_turns(ran: Ran) -> None:
    session = ran.session
    agent_turns = session.agent_turns() if session.tap is not None else None
    assert prefix_changes(session.upstream_turns(), session.key, agent_turns) == []
    # The compressed log itself is byte-identical in every later turn.
    logs = {session.tool_results("upstream")[0]}
    for turn in session.upstream_turns()[2:]:
        logs.add(tool_result_texts(turn, session.api)[0])
    assert len(logs) == 1


def test_wrap_codex_with_the_key_codex_stored_at_login(agents: Path, tmp_path: Path) -> None:
    """No OPENAI_API_KEY: the provider wrap sets up uses the key `codex login --with-api-key` saved."""
    workspace = make_workspace(tmp_path / "project")
    with serve("responses", CodexScript(workspace), proxy=False, tap=False) as session:
        env = agent_env(agents, tmp_path / "home", HEADROOM_OPENAI_UPSTREAM=session.urls["upstream"])
        login = subprocess.run(
            [str(agents / "codex"), "login", "--with-api-key"],
            input=OPENAI_KEY,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert login.returncode == 0, login.stderr
        args = [*CODEX_ARGS, PROMPT]
        run_agent(session, _wrap_argv(free_port(), tmp_path, "codex", args), env, workspace.root)
    assert_finished(session, expected_final())
    assert {r.headers.get("authorization") for r in session.upstream.received} == {f"Bearer {OPENAI_KEY}"}
