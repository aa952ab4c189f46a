"""Agent-session benchmark (not a test): real Claude Code and Codex sessions, direct and through headroom.

Each scenario (benchmarks/agent_scenarios.py) runs twice per client, on a fresh copy of the same
workspace built from real data:

    direct:   agent --> tap --> scripted upstream
    headroom: agent --> tap --> headroom proxy (in-process, MemoryStore) --> scripted upstream

The tap records what the agent sent; the upstream records what "the model" received. Measured,
per scenario and client:

- last-request tokens: exact o200k count of what the model reads in the last main-loop request
  (system / instructions, tools, messages / input);
- session input $: every main-loop request priced with prompt caching, as the upstream got it:
  the leading items byte-identical to the previous request's (after the same system and tools)
  are cache reads at 0.1x, the rest cache writes at 1.25x, at Sonnet's $3/MTok list price. The
  agent's own cache-breakpoint moves are not counted as changes (providers ignore them);
- prefix changes through headroom: turns whose items, as the upstream got them, do not start
  with the previous turn's where the agent itself resent the same bytes;
- needles (answer-bearing lines of the real data) visible in the tool results of the last
  upstream request, and visible or retrievable from the proxy's store through a `ref=` marker
  in them;
- edits applied (on disk afterwards), tool errors in what the agent sent, wall time.

Prints a markdown section. Usage:
    python benchmarks/agent_sessions.py [--quick] [--client claude|codex|both] [--busy] [--json PATH]
        [--scenario NAME ...] [--codex-code-mode] [--cold]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/agent_sessions.py` from the project root
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from benchmarks.agent_scenarios import (  # noqa: E402
    FINAL_PREFIX,
    SCENARIOS,
    ClaudeBenchScript,
    CodexBenchScript,
    Scenario,
    Workspace,
    build_workspace,
    check_needles,
    codex_output_error,
)
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from tests.e2e.agent_upstream import AgentUpstream, Tap  # noqa: E402
from tests.e2e.agents_install import PINS, AgentsUnavailable, ensure_agents  # noqa: E402
from tests.e2e.conftest import agent_env  # noqa: E402
from tests.e2e.scripts import anthropic_tool_results, responses_tool_results  # noqa: E402
from tests.e2e.session import Session, _strip, prefix_changes  # noqa: E402

from headroom.ccr.base import MemoryStore, OriginalStore  # noqa: E402
from headroom.ccr.markers import find_refs  # noqa: E402
from headroom.proxy import BackgroundServer, ProxyConfig, ProxyServer  # noqa: E402
from headroom.proxy.wrap import agent_launch  # noqa: E402
from headroom.tokens import count_tokens  # noqa: E402

CLIENTS = ("claude", "codex")
API = {"claude": "anthropic", "codex": "responses"}
ANTHROPIC_KEY = "sk-ant-api03-bench0key0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
OPENAI_KEY = "sk-proj-bench0key0BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
# Non-interactive with the scenario's tools allowed (--dangerously-skip-permissions refuses root).
CLAUDE_FLAGS = ["--allowedTools", "Read,Grep,Glob,Bash,Edit", "--output-format", "text"]
# `-m gpt-5.4` gets Codex's function tools (exec_command); its default model gets code mode.
# Codex cuts tool output to a model-dependent budget before anything else sees it; the model's
# calls ask for 30k tokens, and this lets that through, so what headroom gets is the real output.
CODEX_FLAGS = ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
CODEX_FLAGS += ["-c", "tool_output_token_limit=40000"]
CODEX_FUNCTIONS_MODEL = "gpt-5.4"
AGENT_TIMEOUT_S = 900
# Sonnet list price for input; prompt caching bills writes at 1.25x and reads at 0.1x.
INPUT_USD_PER_TOKEN = 3.0 / 1_000_000
CACHE_WRITE, CACHE_READ = 1.25, 0.10
# Keys the model does not read as content: block/item kinds, roles and the cache breakpoint marker.
_STRUCTURAL_KEYS = frozenset({"type", "role", "cache_control"})

# -- what the model reads -------------------------------------------------------------------------


def readable_text(value: Any) -> str:
    """The strings of a JSON value that the model reads (not block kinds, roles, breakpoints)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(readable_text(v) for k, v in value.items() if k not in _STRUCTURAL_KEYS)
    if isinstance(value, list):
        return "\n".join(readable_text(v) for v in value)
    return ""


def _prefix_fields(api: str) -> tuple[str, ...]:
    return ("tools", "system") if api == "anthropic" else ("tools", "instructions")


def _items_key(api: str) -> str:
    return "messages" if api == "anthropic" else "input"


def _header_text(request: dict[str, Any], api: str) -> str:
    # Tool schemas are read with their property names, so tools count as the JSON the model gets.
    parts = [orjson.dumps(request.get("tools") or []).decode()]
    parts += [readable_text(request.get(name)) for name in _prefix_fields(api)[1:]]
    return "\n".join(parts)


def request_tokens(request: dict[str, Any], api: str) -> tuple[int, list[int]]:
    """o200k tokens of the cached-prefix header (tools, system/instructions) and of each item."""
    items = request.get(_items_key(api)) or []
    return count_tokens(_header_text(request, api)), [count_tokens(readable_text(item)) for item in items]


def total_tokens(request: dict[str, Any], api: str) -> int:
    header, items = request_tokens(request, api)
    return header + sum(items)


def _same(a: Any, b: Any) -> bool:
    return orjson.dumps(_strip(a)) == orjson.dumps(_strip(b))


def cached_prefix_tokens(previous: dict[str, Any] | None, request: dict[str, Any], api: str) -> int:
    """Tokens of `request` a prompt cache written by `previous` serves: the same header, then the
    leading items equal to `previous`'s."""
    if previous is None or any(not _same(previous.get(f), request.get(f)) for f in _prefix_fields(api)):
        return 0
    header, item_tokens = request_tokens(request, api)
    before, items = previous.get(_items_key(api)) or [], request.get(_items_key(api)) or []
    cached = header
    for i, item in enumerate(items):
        if i >= len(before) or not _same(before[i], item):
            break
        cached += item_tokens[i]
    return cached


@dataclass(frozen=True)
class TurnCost:
    tokens: int
    cached_tokens: int  # served by the cache the previous request wrote

    @property
    def usd(self) -> float:
        written = self.tokens - self.cached_tokens
        return (self.cached_tokens * CACHE_READ + written * CACHE_WRITE) * INPUT_USD_PER_TOKEN


def turn_costs(requests: list[dict[str, Any]], api: str) -> list[TurnCost]:
    previous: dict[str, Any] | None = None
    costs = []
    for request in requests:
        costs.append(TurnCost(total_tokens(request, api), cached_prefix_tokens(previous, request, api)))
        previous = request
    return costs


def prefix_breaks(upstream: list[dict[str, Any]], agent: list[dict[str, Any]], key: str) -> list[str]:
    """`prefix_changes` (byte-exact wherever the agent resent the same bytes), plus the items it
    skips because the agent moved its cache breakpoint off them: Claude Code marks the last
    message each turn, so the previous turn's last tool result, the one just compressed, always
    differs in the agent's bytes. Those are compared without the breakpoint."""
    problems = prefix_changes(upstream, key, agent)
    if len(agent) != len(upstream):
        return problems
    for n in range(len(upstream) - 1):
        before, after = upstream[n].get(key) or [], upstream[n + 1].get(key) or []
        sent_before, sent_after = agent[n].get(key) or [], agent[n + 1].get(key) or []
        for i, item in enumerate(before[: len(after)]):
            label = f"turn {n + 1}->{n + 2}: {key}[{i}] changed"
            resent = i < len(sent_before) and i < len(sent_after) and _same(sent_before[i], sent_after[i])
            if resent and not _same(item, after[i]) and not any(p.startswith(label) for p in problems):
                problems.append(f"{label} though the agent resent it (breakpoint aside)")
    return problems


def changed_turns(problems: list[str]) -> int:
    """Distinct turn transitions named by `prefix_changes` ("turn 3->4: ...")."""
    return len({p.split(":", 1)[0] for p in problems if p.startswith("turn ")})


# -- one run --------------------------------------------------------------------------------------


@dataclass
class RunResult:
    scenario: str
    client: str
    through_headroom: bool
    exit_code: int
    finished: bool  # the agent printed the scripted final answer
    turns: int  # main-loop requests the upstream got
    last_request_tokens: int
    agent_last_request_tokens: int  # the same count on what the agent sent (the tap)
    session_usd: float
    turn_tokens: list[int]  # per main-loop request, as the upstream got it
    turn_cached_tokens: list[int]
    prefix_changed_turns: int
    prefix_problems: list[str]
    needles_total: int
    needles_visible: list[str]
    needles_retrievable: list[str]  # visible, or returned by the store for a ref in the request
    edit_expected: bool
    edit_applied: bool
    tool_errors: list[str]
    script_errors: list[str]
    fail_open: dict[str, int]  # requests the proxy sent uncompressed, by reason (timeout, busy, error)
    protected_units: int  # units the proxy kept whole for edit safety (ranged reads, re-reads...)
    wall_s: float
    final_text: str = ""
    tool_results: list[str] = field(default_factory=list)  # as the upstream got them (last request)
    agent_tool_results: list[str] = field(default_factory=list)  # as the agent sent them


@contextlib.contextmanager
def bench_serve(api: str, script: Any, through_headroom: bool) -> Iterator[tuple[Session, OriginalStore | None]]:
    """The scripted upstream, the proxy in front of it (when `through_headroom`), the tap in front."""
    upstream = AgentUpstream(script)
    session = Session(api, upstream)
    store = MemoryStore() if through_headroom else None
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(BackgroundServer(upstream.app)).url
        session.urls["upstream"] = target
        if store is not None:
            config = ProxyConfig(port=0, anthropic_upstream=target, openai_upstream=target)
            session.proxy = stack.enter_context(ProxyServer(config, store=store))
            target = session.urls["proxy"] = session.proxy.url
        session.tap = Tap(target)
        session.urls["agent"] = stack.enter_context(BackgroundServer(session.tap)).url
        yield session, store


def _agent_command(
    client: str, scenario: Scenario, url: str, env: dict[str, str], agents: Path, codex_model: str | None
) -> tuple[list[str], dict[str, str]]:
    # The tools a scenario runs (ruff) come with this Python's environment, on the PATH as on a
    # developer's machine: Codex runs commands in a login shell, which takes PATH from ~/.profile.
    tools = Path(sys.executable).parent
    env = {**env, "PATH": f"{tools}{os.pathsep}{env.get('PATH', '')}"}
    profile = Path(env["HOME"]) / ".profile"
    profile.write_text(f'export PATH="{tools}:$PATH"\n')
    if client == "claude":
        return [str(agents / "claude"), "-p", scenario.prompt, *CLAUDE_FLAGS], {**env, "ANTHROPIC_BASE_URL": url}
    model = ["-m", codex_model] if codex_model else []
    # The same provider overrides `headroom wrap codex` uses, aimed at the tap.
    launch = agent_launch("codex", [*CODEX_FLAGS, *model, scenario.prompt], url, env)
    return list(launch.argv), dict(launch.env)


def _tool_errors(session: Session, api: str) -> list[str]:
    """Failed tool calls, from what the agent itself sent (before any compression)."""
    turns = session.agent_turns()
    if not turns:
        return []
    last = turns[-1]
    errors: list[str] = []
    if api == "anthropic":
        for message in last.get("messages") or ():
            for block in message.get("content") if isinstance(message.get("content"), list) else ():
                if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error"):
                    errors.append(f"tool_result error: {readable_text(block.get('content'))[:160]}")
        return errors
    for _, text in responses_tool_results(last):
        reason = codex_output_error(text)
        if reason:
            errors.append(f"{reason}: {text[:160]}")
    return errors


def _unexpected(errors: list[str], failing_calls: int) -> list[str]:
    """The tool errors but the first `failing_calls` non-zero exits the scenario makes on purpose
    (a test run before the fix)."""
    expected = [error for error in errors if "xit code" in error][:failing_calls]
    return [error for error in errors if error not in expected]


def _retrievable(text: str, store: OriginalStore | None) -> str:
    """The originals behind every ref in `text` (what a headroom_retrieve call would return)."""
    if store is None:
        return ""
    originals = []
    for ref in find_refs(text):
        stored = store.get(ref)
        if stored is not None:
            originals.append(stored.text)
    return "\n".join(originals)


def run_scenario(
    scenario: Scenario,
    client: str,
    through_headroom: bool,
    workdir: Path,
    agents: Path,
    codex_model: str | None = CODEX_FUNCTIONS_MODEL,
) -> RunResult:
    """One agent session on a fresh workspace under `workdir`; measured."""
    api = API[client]
    workspace: Workspace = build_workspace(workdir / "project")
    if scenario.prepare is not None:
        scenario.prepare(workspace)
    check_needles(scenario, workspace)
    script = ClaudeBenchScript(scenario, workspace) if client == "claude" else CodexBenchScript(scenario, workspace)
    with bench_serve(api, script, through_headroom) as (session, store):
        keys = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "OPENAI_API_KEY": OPENAI_KEY}
        env = agent_env(agents, workdir / "home", **keys)
        argv, env = _agent_command(client, scenario, session.urls["agent"], env, agents, codex_model)
        started = time.monotonic()
        try:
            done = subprocess.run(
                argv,
                env=env,
                cwd=workspace.root,
                capture_output=True,
                text=True,
                timeout=AGENT_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
            exit_code, stdout = done.returncode, done.stdout
            session.done = done
        except subprocess.TimeoutExpired as exc:
            exit_code, stdout = -1, str(exc.stdout or "")
        wall = time.monotonic() - started
        upstream_turns, agent_turns = session.upstream_turns(), session.agent_turns()
        last = upstream_turns[-1] if upstream_turns else {}
        results_of = anthropic_tool_results if api == "anthropic" else responses_tool_results
        upstream_results = [t for _, t in results_of(last)] if last else []
        # Needles count in the tool results only: the prompt and the calls' own arguments name
        # paths and identifiers that are not the data the model had to read.
        seen = "\n".join(upstream_results)
        recovered = seen + "\n" + _retrievable(seen, store)
        problems = prefix_breaks(upstream_turns, agent_turns, session.key)
        costs = turn_costs(upstream_turns, api)
        return RunResult(
            scenario=scenario.name,
            client=client,
            through_headroom=through_headroom,
            exit_code=exit_code,
            finished=f"{FINAL_PREFIX} {scenario.name}" in stdout,
            turns=len(upstream_turns),
            last_request_tokens=total_tokens(last, api) if last else 0,
            agent_last_request_tokens=total_tokens(agent_turns[-1], api) if agent_turns else 0,
            session_usd=sum(c.usd for c in costs),
            turn_tokens=[c.tokens for c in costs],
            turn_cached_tokens=[c.cached_tokens for c in costs],
            prefix_changed_turns=changed_turns(problems),
            prefix_problems=problems,
            needles_total=len(scenario.needles),
            needles_visible=[n for n in scenario.needles if n in seen],
            needles_retrievable=[n for n in scenario.needles if n in recovered],
            edit_expected=scenario.edit is not None,
            edit_applied=scenario.edit is not None and scenario.edit.applied(workspace),
            tool_errors=_unexpected(_tool_errors(session, api), scenario.failing_calls),
            script_errors=list(session.upstream.errors),
            fail_open=dict(session.proxy.state.metrics.fail_open) if session.proxy else {},
            protected_units=session.proxy.state.metrics.protected_units if session.proxy else 0,
            wall_s=wall,
            final_text=stdout.strip()[-2000:],
            tool_results=upstream_results,
            agent_tool_results=[t for _, t in results_of(agent_turns[-1])] if agent_turns else [],
        )


# -- the report -----------------------------------------------------------------------------------


def _saved(before: float, after: float) -> str:
    return f"{(1 - after / before) * 100:.1f}%" if before else "-"


def markdown(
    pairs: list[tuple[RunResult, RunResult]], busy: bool = False, cold: bool = False, codex_code_mode: bool = False
) -> str:
    codex_tools = (
        "code-mode `exec`, its default model" if codex_code_mode else f"`exec_command`, `-m {CODEX_FUNCTIONS_MODEL}`"
    )
    conditions = [c for c, on in (("one core busy", busy), ("cold proxy", cold)) if on]
    lines = [
        "## Agent sessions: real Claude Code and Codex, direct vs through headroom"
        + (f" ({', '.join(conditions)})" if conditions else ""),
        "",
        f"`benchmarks/agent_sessions.py`: Claude Code {PINS['@anthropic-ai/claude-code']} and Codex "
        f"{PINS['@openai/codex']} ({codex_tools}) work on real data (loghub logs, "
        "GitHub API dumps, SSH events, the CPython stdlib and ruff's report on it) against a scripted model that "
        "makes the tool calls a "
        "real agent makes; each session runs direct and through the proxy. Tokens: exact o200k count of "
        "everything the model reads in the last request. $: all main-loop requests at $3/MTok, the part "
        "byte-identical to the previous request's prefix as cache reads (0.1x), the rest as cache writes (1.25x). "
        "Prefix: turns whose upstream items do not start with the previous turn's. Needles: answer-bearing lines "
        "in the tool results of the last request (direct / headroom), and visible or retrievable by ref (headroom)."
        + " Fail-open: requests the proxy sent uncompressed (compression over its time budget, workers busy)."
        + (" One core was kept busy by another process." if busy else "")
        + (" Cold proxy (no warm-up)." if cold else ""),
        "",
        "| scenario | client | turns | last-request tokens direct → headroom | saved | session input $ direct → "
        "headroom | saved | prefix changes | needles direct | needles headroom (visible / +retrievable) | edits "
        "| tool errors | fail-open | wall s direct / headroom |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for direct, headroom in pairs:
        edits = f"{int(direct.edit_applied)} / {int(headroom.edit_applied)} of 1" if direct.edit_expected else "-"
        errors = len(direct.tool_errors) + len(headroom.tool_errors)
        unfinished = "" if direct.finished and headroom.finished else " (unfinished)"
        lines.append(
            f"| {direct.scenario}{unfinished} | {direct.client} | {headroom.turns} "
            f"| {direct.last_request_tokens:,} → {headroom.last_request_tokens:,} "
            f"| {_saved(direct.last_request_tokens, headroom.last_request_tokens)} "
            f"| ${direct.session_usd:.3f} → ${headroom.session_usd:.3f} "
            f"| {_saved(direct.session_usd, headroom.session_usd)} "
            f"| {headroom.prefix_changed_turns} of {max(0, headroom.turns - 1)} "
            f"| {len(direct.needles_visible)}/{direct.needles_total} "
            f"| {len(headroom.needles_visible)} / {len(headroom.needles_retrievable)} of {headroom.needles_total} "
            f"| {edits} | {errors} | {sum(headroom.fail_open.values())} "
            f"| {direct.wall_s:.0f} / {headroom.wall_s:.0f} |"
        )
    problems = [
        f"- {r.scenario} / {r.client} / {'headroom' if r.through_headroom else 'direct'}: {issue}"
        for direct, headroom in pairs
        for r in (direct, headroom)
        for issue in [*r.tool_errors, *r.script_errors, *r.prefix_problems[:5]]
        + ([f"fail-open {r.fail_open}"] if r.fail_open else [])
        + ([f"agent exit code {r.exit_code}"] if r.exit_code else [])
    ]
    if problems:
        lines += ["", "Tool errors, script errors and prefix changes:", "", *problems]
    return "\n".join(lines) + "\n"


# -- set-up -------------------------------------------------------------------------------------


def warm_up(workdir: Path) -> float:
    """Compress one unit of each kind the scenarios produce, in this process, so that the proxy
    threads find the models and parsers loaded, as in a proxy that has been running (`headroom
    wrap` starts a fresh one per agent: `--cold` measures that). Returns the seconds it took."""
    from headroom import compress

    started = time.monotonic()
    workspace = build_workspace(workdir / "warm-up")
    samples = [
        "data/openframeworks-issues-p1.json",  # JSON with prose fields
        "logs/zookeeper.log",
        "lib/http/client.py",
        "data/ssh_events.csv",
    ]
    for relative in samples:
        text = "\n".join((workspace.root / relative).read_text().splitlines()[:400])
        call = {"id": "call_warm", "type": "function", "function": {"name": "cat", "arguments": "{}"}}
        compress(
            [
                {"role": "user", "content": "warm up"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_warm", "content": text},
            ]
        )
    return time.monotonic() - started


# -- CPU noise ------------------------------------------------------------------------------------

_BURNER = """
import os, sys, time
deadline, parent = time.monotonic() + float(sys.argv[1]), int(sys.argv[2])
while time.monotonic() < deadline and os.getppid() == parent:
    for _ in range(100_000):
        pass
"""


@contextlib.contextmanager
def busy_core(enabled: bool, max_seconds: float) -> Iterator[None]:
    """A separate process burning one core, for at most `max_seconds` or until this one exits."""
    if not enabled:
        yield
        return
    burner = subprocess.Popen([sys.executable, "-c", _BURNER, str(max_seconds), str(os.getpid())])
    try:
        yield
    finally:
        burner.terminate()
        burner.wait(timeout=10)


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the scenarios marked quick")
    parser.add_argument("--client", choices=("claude", "codex", "both"), default="both")
    parser.add_argument("--busy", action="store_true", help="keep one core busy with another process")
    parser.add_argument("--scenario", action="append", help="run only these scenarios (repeatable)")
    parser.add_argument("--codex-code-mode", action="store_true", help="Codex's default model (code-mode exec)")
    parser.add_argument("--json", type=Path, help="also write every run's measurements here")
    parser.add_argument("--cold", action="store_true", help="no warm-up: the proxy's first requests load models")
    args = parser.parse_args(argv)

    console = Console(stderr=True)
    try:
        agents = ensure_agents()
    except AgentsUnavailable as exc:  # `make bench` on a machine without node: say so, keep the rest
        sys.stdout.write(f"## Agent sessions\n\nNot run: {exc}.\n")
        return 0
    clients = CLIENTS if args.client == "both" else (args.client,)
    scenarios = [s for s in SCENARIOS if (s.quick or not args.quick) and (not args.scenario or s.name in args.scenario)]
    codex_model = None if args.codex_code_mode else CODEX_FUNCTIONS_MODEL
    runs = [(s, c, h) for s in scenarios for c in clients for h in (False, True)]
    results: dict[tuple[str, str, bool], RunResult] = {}
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}")]
    with (
        busy_core(args.busy, max_seconds=AGENT_TIMEOUT_S * len(runs)),
        tempfile.TemporaryDirectory(prefix="headroom-agent-bench-") as tmp,
        Progress(*columns, TimeElapsedColumn(), console=console) as progress,
    ):
        if not args.cold:
            progress.console.print(f"warm-up: {warm_up(Path(tmp)):.1f} s")
        task = progress.add_task("agent sessions", total=len(runs))
        for n, (scenario, client, through) in enumerate(runs):
            mode = "headroom" if through else "direct"
            progress.update(task, description=f"{scenario.name} / {client} / {mode}")
            result = run_scenario(scenario, client, through, Path(tmp) / f"run{n}", agents, codex_model)
            results[(scenario.name, client, through)] = result
            progress.advance(task)
    pairs = [(results[(s.name, c, False)], results[(s.name, c, True)]) for s in scenarios for c in clients]
    if args.json:
        args.json.write_bytes(orjson.dumps([asdict(r) for pair in pairs for r in pair], option=orjson.OPT_INDENT_2))
    sys.stdout.write(markdown(pairs, busy=args.busy, cold=args.cold, codex_code_mode=args.codex_code_mode))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
