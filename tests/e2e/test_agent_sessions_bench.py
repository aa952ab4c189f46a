"""The agent-session benchmark (benchmarks/agent_sessions.py) measures what it says it measures.

One quick scenario (code exploration with an edit) per real agent, direct and through the proxy,
checked for measurements that must hold whatever the compressor does today: the direct run's
counts are those of what the agent sent, every needle reaches the model directly, the edit lands
on disk, a direct session is append-only (so each turn's cache read is the previous turn), and
the cache and prefix checks do flag a changed item.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmarks.agent_scenarios import CODE_EXPLORATION
from benchmarks.agent_sessions import (
    TurnCost,
    cached_prefix_tokens,
    markdown,
    prefix_breaks,
    run_scenario,
    total_tokens,
    turn_costs,
)

from tests.e2e.session import prefix_changes

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", params=["claude", "codex"])
def runs(request: pytest.FixtureRequest, agents: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    client: str = request.param
    root = tmp_path_factory.mktemp(f"bench-{client}")
    direct = run_scenario(CODE_EXPLORATION, client, False, root / "direct", agents)
    headroom = run_scenario(CODE_EXPLORATION, client, True, root / "headroom", agents)
    yield direct, headroom


def test_both_sessions_finish_without_tool_errors(runs: Any) -> None:
    for result in runs:
        assert result.exit_code == 0 and result.finished, result.final_text
        assert result.script_errors == [] and result.tool_errors == []
        assert result.turns == 7  # six tool calls, then the answer


def test_direct_counts_are_those_of_what_the_agent_sent(runs: Any) -> None:
    direct, _ = runs
    assert direct.last_request_tokens > 10_000  # three whole source files and the system prompt
    assert direct.last_request_tokens == direct.agent_last_request_tokens
    assert direct.tool_results == direct.agent_tool_results
    assert direct.turn_tokens[-1] == direct.last_request_tokens


def test_direct_session_is_append_only_and_priced_so(runs: Any) -> None:
    direct, headroom = runs
    assert direct.prefix_changed_turns == 0 and direct.prefix_problems == []
    assert direct.turn_cached_tokens[0] == 0
    assert direct.turn_cached_tokens[1:] == direct.turn_tokens[:-1]
    priced = sum(TurnCost(t, c).usd for t, c in zip(direct.turn_tokens, direct.turn_cached_tokens, strict=True))
    assert direct.session_usd == pytest.approx(priced)
    # Every token written once at 1.25x, re-read at 0.1x on each later turn.
    assert direct.session_usd > direct.last_request_tokens * 1.25 * 3e-6
    assert headroom.turns == direct.turns


def test_needles_reach_the_model_directly_and_the_edit_lands(runs: Any) -> None:
    direct, headroom = runs
    assert direct.needles_visible == list(CODE_EXPLORATION.needles)
    assert set(headroom.needles_visible) <= set(headroom.needles_retrievable)
    assert direct.edit_applied and headroom.edit_applied


def test_the_report_row_carries_the_measurements(runs: Any) -> None:
    direct, headroom = runs
    report = markdown([(direct, headroom)])
    row = next(line for line in report.splitlines() if line.startswith(f"| code_exploration | {direct.client} |"))
    assert f"{direct.last_request_tokens:,} → {headroom.last_request_tokens:,}" in row
    assert f"{len(direct.needles_visible)}/{len(CODE_EXPLORATION.needles)}" in row


def _turns() -> list[dict[str, Any]]:
    """Three Anthropic requests of a growing conversation, breakpoint on the last message."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "find the bug " * 50}]
    turns = []
    for n in range(3):
        sent = copy.deepcopy(messages)
        sent[-1]["content"] = [{"type": "text", "text": str(messages[-1]["content"])}]
        sent[-1]["content"][0]["cache_control"] = {"type": "ephemeral"}
        turns.append({"system": "You are an agent.", "tools": [{"name": "Read"}], "messages": sent})
        messages += [{"role": "assistant", "content": f"step {n}"}, {"role": "user", "content": f"result {n} " * 200}]
    return turns


def test_a_changed_item_costs_cache_and_is_flagged() -> None:
    agent = _turns()
    assert turn_costs(agent, "anthropic")[1].cached_tokens == total_tokens(agent[0], "anthropic")
    upstream = copy.deepcopy(agent)
    # The proxy rewrites the previous turn's last message in the next request: the very item
    # whose agent bytes change too (the breakpoint moved off it), which prefix_changes skips.
    upstream[2]["messages"][2]["content"] = "result 0 (compressed)"
    assert prefix_changes(upstream, "messages", agent) == []
    assert prefix_breaks(upstream, agent, "messages") == [
        "turn 2->3: messages[2] changed though the agent resent it (breakpoint aside)"
    ]
    assert cached_prefix_tokens(upstream[1], upstream[2], "anthropic") < total_tokens(upstream[1], "anthropic")
    upstream[1]["tools"] = [{"name": "Read"}, {"name": "headroom_retrieve"}]
    assert cached_prefix_tokens(upstream[1], upstream[2], "anthropic") == 0
