"""The tools' logic in-process (`HeadroomTools`): hints, budgets, bad input and store outages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore, StoredOriginal
from headroom.ccr.markers import find_refs
from headroom.ccr.sqlite import SqliteStore
from headroom.errors import StoreError
from headroom.mcp_server.tools import HeadroomTools, ToolInputError
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import SegmentContext, content_ref
from tests.mcp.conftest import BENCH_CASES, first_tool_output


class DownStore(MemoryStore):
    """A store whose backend is gone: every call fails like an unreachable Redis."""

    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None:
        raise StoreError("CCR store redis://10.0.0.9:6379 unavailable (put): connection refused")

    def get(self, ref: str) -> StoredOriginal | None:
        raise StoreError("CCR store redis://10.0.0.9:6379 unavailable (get): connection refused")

    def stats(self) -> object:  # type: ignore[override]
        raise StoreError("connection refused")


def service_log(lines: int = 500) -> str:
    body = "".join(
        f"2024-03-02 08:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d} INFO  [pool-3] cache refresh {i} "
        f"done in {i % 17} ms\n"
        for i in range(lines)
    )
    return body + "2024-03-02 09:00:00.000 ERROR [pool-3] refresh failed: upstream 503 from catalog-svc\n"


@pytest.fixture
def tools(tmp_path: Path) -> HeadroomTools:
    return HeadroomTools(SqliteStore(tmp_path / "ccr.db"))


def test_auto_matches_the_pipeline_and_always_stores_the_input(tools: HeadroomTools) -> None:
    text = service_log()
    outcome = tools.compress(text, query="why did the refresh fail?")
    expected, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        text, SegmentContext(user_query="why did the refresh fail?")
    )
    assert outcome.compressed == expected and outcome.kind == report.kind == "logs"
    assert outcome.lossy and outcome.ref == content_ref(text) and find_refs(outcome.compressed) == [outcome.ref]
    assert "upstream 503 from catalog-svc" in outcome.compressed
    assert tools.compress(text, query="why did the refresh fail?") == outcome  # deterministic

    lossless = tools.compress("short note, left as it is")
    assert not lossless.lossy and lossless.compressed == "short note, left as it is"
    assert tools.retrieve(lossless.ref).text == "short note, left as it is"


@pytest.mark.skipif(not BENCH_CASES.is_dir(), reason="the shared bench cases are not mounted")
def test_every_bench_output_comes_back_exactly(tools: HeadroomTools) -> None:
    for case in sorted(BENCH_CASES.glob("*.json")):
        original, question = first_tool_output(case)
        outcome = tools.compress(original, query=question)
        assert outcome.tokens_after <= outcome.tokens_before, case.name
        assert outcome.ref is not None and tools.retrieve(outcome.ref).text == original, case.name


def test_a_hint_overrides_detection(tools: HeadroomTools) -> None:
    rows = json.dumps([{"id": i, "state": "ok"} for i in range(200)], indent=2)
    as_json = tools.compress(rows)
    as_text = tools.compress(rows, content_type="text")
    assert as_json.kind == "json" and as_json.compressor == "json"
    assert as_text.kind == "text" and as_text.compressor != "json"
    assert tools.compress(rows, content_type="JSON").compressed == as_json.compressed  # case-insensitive
    assert tools.retrieve(as_text.ref).text == rows


def test_a_hint_that_does_not_fit_falls_back_safely(tools: HeadroomTools) -> None:
    text = service_log()
    forced = tools.compress(text, content_type="json")  # not JSON at all
    assert forced.tokens_after <= forced.tokens_before
    assert any("json" in note for note in forced.notes)
    assert tools.retrieve(forced.ref).text == text

    marked = "already compressed [headroom: 12 rows omitted · ref=h_0123456789ab]\n" + "x y z\n" * 300
    kept = tools.compress(marked, content_type="logs")
    assert kept.compressed == marked and any("ignored" in note for note in kept.notes)


def test_max_tokens_flags_instead_of_truncating(tools: HeadroomTools) -> None:
    text = service_log()
    free = tools.compress(text)
    tight = tools.compress(text, max_tokens=10)
    assert tight.compressed == free.compressed and tight.over_budget and not free.over_budget
    assert any("max_tokens=10" in note and "nothing was truncated" in note for note in tight.notes)
    assert not tools.compress(text, max_tokens=free.tokens_after).over_budget


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"content": 42}, "content must be a string, not int"),
        ({"content": None}, "content must be a string, not NoneType"),
        ({"content": b"bytes"}, "content must be a string, not bytes"),
        ({"content": "x", "content_type": "toml"}, "unknown content_type 'toml'"),
        ({"content": "x" * 5_001}, "content is 5,001 characters; the limit is 5,000"),
        ({"content": "x", "max_tokens": 0}, "max_tokens must be a positive"),
    ],
)
def test_bad_input_is_rejected_with_a_reason(arguments: dict[str, object], message: str) -> None:
    tools = HeadroomTools(MemoryStore(), max_content_chars=5_000)
    with pytest.raises(ToolInputError, match=message.replace("(", r"\(")):
        tools.compress(**arguments)  # type: ignore[arg-type]
    assert tools.stats()["this_server"]["rejected_calls"] == 1


def test_retrieve_answers_unknown_and_malformed_refs() -> None:
    tools = HeadroomTools(MemoryStore())
    assert not tools.retrieve("h_000000000000").found
    assert "not a headroom ref" in tools.retrieve("DROP TABLE originals").message
    with pytest.raises(ToolInputError):
        tools.retrieve(12345)
    assert tools.stats()["this_server"]["retrieve_misses"] == 2


def test_a_dead_store_costs_the_ref_not_the_answer() -> None:
    tools = HeadroomTools(DownStore())
    outcome = tools.compress(service_log())
    assert outcome.ref is None and not outcome.lossy
    assert find_refs(outcome.compressed) == []  # nothing dropped that cannot be fetched back
    assert outcome.tokens_after <= outcome.tokens_before
    assert any(note.startswith("store unavailable") for note in outcome.notes)
    forced = tools.compress(service_log(), content_type="logs")
    assert forced.ref is None and not forced.lossy and find_refs(forced.compressed) == []
    assert "could not be read" in tools.retrieve("h_0123456789ab").message
    stats = tools.stats()  # reports the outage instead of failing
    assert "error" in stats["store"] and stats["this_server"]["compress_calls"] == 2


def test_stats_count_this_server_and_the_shared_ledger(tools: HeadroomTools) -> None:
    first = tools.compress(service_log(300))
    second = tools.compress(service_log(900))
    tools.ledger.record("proxy", 10_000, 2_500)
    stats = tools.stats()
    mine = stats["this_server"]
    assert mine["compress_calls"] == 2
    assert mine["tokens_before"] == first.tokens_before + second.tokens_before
    assert mine["tokens_saved"] == mine["tokens_before"] - mine["tokens_after"] > 0
    assert stats["by_source"]["mcp"]["calls"] == 2 and stats["by_source"]["mcp"]["tokens_saved"] == mine["tokens_saved"]
    assert stats["by_source"]["proxy"]["tokens_saved"] == 7_500
    assert stats["all_sources"]["tokens_saved"] == mine["tokens_saved"] + 7_500
    assert stats["store"]["backend"] == "sqlite" and stats["store"]["items"] == 2


@pytest.mark.parametrize("hint", ["code", "prose", "diff", "search"])
def test_a_hint_that_does_not_fit_a_log_falls_back_to_the_log_compressor(tools: HeadroomTools, hint: str) -> None:
    text = service_log()
    plain = tools.compress(text)
    forced = tools.compress(text, content_type=hint)
    assert forced.compressed == plain.compressed  # the log compressor, not a 20-token marker
    assert any(hint in note and "logs" in note for note in forced.notes)
