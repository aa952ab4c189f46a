"""--cache-align: volatile system-prompt lines move after the breakpoints; the rest stays put."""

from __future__ import annotations

import anthropic
import pytest

from headroom.formats.anthropic_cache import align_system, is_volatile
from tests.proxy.conftest import ANTHROPIC_KEY, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SYSTEM = (
    "You are a coding agent.\nCurrent time: 2026-11-25 14:03:22 UTC\n"
    "Session id 0b5c1f3e-8a7d-4e21-9c55-1f2e3d4c5b6a\nBe brief."
)


def test_volatile_lines() -> None:
    assert is_volatile("Current time: 2026-11-25 14:03:22 UTC")
    assert is_volatile("Today's date is 2026-11-25.")
    assert is_volatile("trace 0b5c1f3e-8a7d-4e21-9c55-1f2e3d4c5b6a")
    assert not is_volatile("Be brief.") and not is_volatile("Use Python 3.11 and port 8080.")


def test_string_system_gets_a_breakpoint_and_a_trailing_block() -> None:
    request = {"model": "claude-sonnet-4-5", "system": SYSTEM, "messages": []}
    aligned = align_system(request)
    assert aligned is not None
    assert aligned["system"] == [
        {"type": "text", "text": "You are a coding agent.\nBe brief.", "cache_control": {"type": "ephemeral"}},
        {
            "type": "text",
            "text": "Current time: 2026-11-25 14:03:22 UTC\nSession id 0b5c1f3e-8a7d-4e21-9c55-1f2e3d4c5b6a",
        },
    ]
    assert request["system"] == SYSTEM  # the input is not mutated
    assert align_system(aligned) is None  # already aligned: nothing moves again


def test_existing_breakpoints_are_kept_and_none_added_past_four() -> None:
    blocks = [
        {"type": "text", "text": "Stable.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Now: 09:15", "cache_control": {"type": "ephemeral"}},
    ]
    aligned = align_system({"system": blocks, "messages": []})
    assert aligned is not None
    assert aligned["system"] == [
        {"type": "text", "text": "Stable.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Now: 09:15"},
    ]
    assert align_system({"system": "Nothing volatile here.", "messages": []}) is None


def _user(text: str, breakpoint: bool) -> dict:
    block = {"type": "text", "text": text, **({"cache_control": {"type": "ephemeral"}} if breakpoint else {})}
    return {"role": "user", "content": [block]}


def test_the_added_breakpoint_does_not_depend_on_the_messages() -> None:
    """Turn 1 has one message breakpoint, a later turn four: the system blocks (breakpoint
    included) are the same, and the request stays within the API's 4 breakpoints."""
    one = {"system": SYSTEM, "messages": [_user("hi", True)]}
    four = {"system": SYSTEM, "messages": [_user(f"turn {i}", True) for i in range(4)]}
    first, later = align_system(one), align_system(four)
    assert first is not None and later is not None
    assert first["system"] == later["system"] and "cache_control" in later["system"][0]
    assert first["messages"] == one["messages"]  # room to spare: untouched
    kept = ["cache_control" in m["content"][0] for m in later["messages"]]
    assert kept == [False, True, True, True]  # the client's latest three breakpoints stay
    assert four["messages"][0]["content"][0]["cache_control"]  # the input is not mutated
    tools = [{"name": f"t{i}", "input_schema": {}, "cache_control": {"type": "ephemeral"}} for i in range(4)]
    full = align_system({"system": SYSTEM, "tools": tools, "messages": []})
    assert full is not None and "cache_control" not in full["system"][0]  # no breakpoint to spare


def test_through_the_proxy_the_prefix_survives_the_clock(upstream: FakeUpstream) -> None:
    with start_proxy(upstream.url, cache_align=True) as proxy:  # type: ignore[attr-defined]
        client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
        for clock in ("14:03:22", "14:05:10"):
            system = SYSTEM.replace("14:03:22", clock)
            client.messages.create(
                model="claude-sonnet-4-5", max_tokens=64, system=system, messages=[{"role": "user", "content": "hi"}]
            )
    first, second = (r.json()["system"] for r in upstream.received)
    assert first[0] == second[0]  # the cached part is byte-identical
    assert "14:05:10" in second[1]["text"]
