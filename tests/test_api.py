"""compress() / compress_request(): shapes, stats, what is never altered, determinism."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

from headroom import CompressConfig, CompressResult, ContentKind, Pipeline, compress, compress_request
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.errors import StoreError
from tests.factories import anthropic_request, customer_rows, openai_request, responses_request

ROWS = json.dumps(customer_rows(), indent=2)


def _pipeline() -> Pipeline:
    return Pipeline(CompressConfig(), MemoryStore())


def test_compress_openai_messages_returns_list_with_stats() -> None:
    request = openai_request(ROWS)
    out = compress(request["messages"], pipeline=_pipeline())
    assert isinstance(out, list) and isinstance(out, CompressResult)
    assert len(out) == len(request["messages"])
    stats = out.stats
    assert stats.format == "openai" and stats.tokenizer == "o200k_base"
    assert stats.tokens_after < stats.tokens_before * 0.3
    assert stats.saved == stats.tokens_before - stats.tokens_after
    assert 0 < stats.ratio < 0.3
    assert stats.transforms["json"].units == 1 and stats.transforms["json"].saved > 0
    assert stats.time_ms > 0
    assert "saved" in str(stats)


def test_only_tool_results_change() -> None:
    request = openai_request(ROWS)
    original = copy.deepcopy(request)
    out = compress(request["messages"], pipeline=_pipeline())
    assert request == original  # the caller's messages are never mutated
    for i, (before, after) in enumerate(zip(original["messages"], out, strict=True)):
        if before["role"] == "tool":
            assert after["content"] != before["content"]
            assert after["tool_call_id"] == before["tool_call_id"]
        else:
            assert after == before, f"message {i} changed"


def test_anthropic_system_and_latest_user_turn_untouched() -> None:
    request = anthropic_request(ROWS, question="x" * 5000)  # a large latest user turn: still untouched
    result = compress_request(request, pipeline=_pipeline())
    assert result.stats.format == "anthropic"
    assert result.request["system"] == request["system"]
    assert result.request["messages"][-1] == request["messages"][-1]
    block = result.request["messages"][2]["content"][0]
    assert block["type"] == "tool_result" and block["tool_use_id"] == "toolu_1"
    assert len(block["content"]) < len(ROWS) / 3


def test_responses_input_items() -> None:
    request = responses_request(ROWS)
    result = compress_request(request, "responses", pipeline=_pipeline())
    items = result.request["input"]
    assert result.request["instructions"] == request["instructions"]
    assert items[1] == request["input"][1]
    assert items[2]["call_id"] == "call_1" and len(items[2]["output"]) < len(ROWS) / 3
    assert result.stats.format == "responses"


def test_small_units_pass_through() -> None:
    request = openai_request(json.dumps(customer_rows(2)))
    out = compress(request["messages"], pipeline=_pipeline())
    assert list(out) == request["messages"]
    assert out.stats.tokens_before == out.stats.tokens_after


def test_dropped_rows_are_stored_under_the_marker_ref() -> None:
    store = MemoryStore()
    rows = json.dumps(customer_rows(600))
    out = compress(openai_request(rows)["messages"], pipeline=Pipeline(CompressConfig(), store))
    content = out[3]["content"]
    refs = find_refs(content)
    assert len(refs) == 1 and out.stats.refs == tuple(refs)
    stored = store.get(refs[0])
    assert stored is not None and stored.text == rows
    # The anomalies stay visible: the one suspended customer and the balance outlier.
    assert "suspended" in content and "9999999" in content


def test_lossless_only_without_store() -> None:
    rows = json.dumps(customer_rows(600))
    out = compress(openai_request(rows)["messages"], pipeline=Pipeline(CompressConfig(), store=None))
    content = out[3]["content"]
    assert find_refs(content) == []
    assert all(f"user{i:04d}" in content for i in range(1, 601))  # every row still there
    assert any("no store configured" in d for d in out.stats.diagnostics)


def test_same_input_same_bytes_across_processes() -> None:
    code = (
        "import json, sys\n"
        "from headroom import compress, Pipeline\n"
        "from headroom.ccr.base import MemoryStore\n"
        "from tests.factories import openai_request, customer_rows\n"
        "request = openai_request(json.dumps(customer_rows(600)))\n"
        "out = compress(request['messages'], pipeline=Pipeline(store=MemoryStore()))\n"
        "sys.stdout.write(json.dumps(list(out)))\n"
    )
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout for _ in range(2)}
    assert len(runs) == 1
    assert b"ref=h_" in runs.pop()


def test_turn_prefix_is_stable_as_conversation_grows() -> None:
    """Cache safety: compressing turn N+1 re-compresses turns <= N to identical bytes."""
    pipeline = _pipeline()
    request = openai_request(ROWS)
    first = compress(request["messages"][:4], pipeline=pipeline)
    grown = [*request["messages"], {"role": "user", "content": "Now compare plan sizes: free vs pro."}]
    second = compress(grown, pipeline=Pipeline(CompressConfig(), MemoryStore()))
    assert json.dumps(list(second)[:4]) == json.dumps(list(first))


def test_protected_units_stay_whole() -> None:
    request = openai_request(ROWS)
    result = compress_request(
        request, pipeline=_pipeline(), protect=lambda unit: unit.context.tool_name == "list_customers"
    )
    assert result.request["messages"][3]["content"] == ROWS
    assert result.stats.units[0].kind == "protected"
    assert result.stats.tokens_before == result.stats.tokens_after


def test_kind_hint_overrides_detection_and_falls_back_when_it_does_not_fit() -> None:
    pipeline = _pipeline()
    log_lines = "\n".join(f"worker {i % 3} finished job {i} in {i % 7} ms" for i in range(400))
    as_logs, report = pipeline.compress_text(log_lines, kind=ContentKind.LOGS)
    assert report.kind == "logs" and report.compressor == "logs" and len(as_logs) < len(log_lines) / 4
    as_json, report = pipeline.compress_text(log_lines, kind=ContentKind.JSON)
    assert report.kind != "json" and "kind hint json did not fit" in (report.diagnostic or "")
    assert as_json == log_lines or report.compressor != "json"
    binary = "\x00\x01" * 2000
    same, report = pipeline.compress_text(binary, kind=ContentKind.LOGS)
    assert same == binary and "ignored: content is binary" in (report.diagnostic or "")


def test_cached_result_is_not_reused_once_its_original_is_gone() -> None:
    """A remembered lossy output must not point at an original the store has since dropped."""

    class ForgetfulStore(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.failing = False

        def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None:
            if self.failing:
                raise StoreError("evicted and now unavailable")
            super().put(ref, text, meta)

    store = ForgetfulStore()
    pipeline = Pipeline(CompressConfig(), store)
    rows = json.dumps(customer_rows(600))
    first = compress(openai_request(rows)["messages"], pipeline=pipeline)
    assert first.stats.refs
    store.failing = True
    second = compress(openai_request(rows)["messages"], pipeline=pipeline)
    assert second.stats.refs == () and find_refs(second[3]["content"]) == []
    assert all(f"user{i:04d}" in second[3]["content"] for i in range(1, 601))


def test_unreadable_request_shapes_pass_through_with_a_diagnostic() -> None:
    for messages in (
        [{"role": "assistant", "tool_calls": 5}],
        [{"role": "assistant", "tool_calls": [{"function": 3}]}],
    ):
        out = compress(messages, pipeline=_pipeline())
        assert list(out) == messages
    weird = compress_request({"messages": 5}, pipeline=_pipeline())
    assert weird.request == {"messages": 5} and weird.stats.diagnostics


def test_responses_items_are_detected_by_compress() -> None:
    out = compress(responses_request(ROWS)["input"], pipeline=_pipeline())
    assert out.stats.format == "responses" and out.stats.saved > 0


def test_anthropic_question_after_tool_results_is_the_latest_human_turn() -> None:
    question = "Please look at this long description of the problem. " * 120
    request = anthropic_request(ROWS)
    # The human asks, the agent calls a tool, the result comes back: the question stays untouched.
    messages = [
        {"role": "user", "content": question},
        request["messages"][1],
        request["messages"][2],
    ]
    out = compress(messages, pipeline=_pipeline())
    assert out[0] == messages[0]
    assert out[2] != messages[2]


def test_pasted_documents_are_left_alone_unless_asked() -> None:
    """A pasted document is the latest turn when first sent (never altered); compressing it on the
    next turn would change cached bytes, so by default it stays whole."""
    document = json.dumps(customer_rows(300))
    messages = [
        {"role": "user", "content": document},
        {"role": "assistant", "content": "Got it."},
        {"role": "user", "content": "Who is suspended?"},
    ]
    assert compress(messages, pipeline=_pipeline())[0] == messages[0]
    opted_in = Pipeline(CompressConfig(compress_user_documents=True), MemoryStore())
    assert len(compress(messages, pipeline=opted_in)[0]["content"]) < len(document) / 3
