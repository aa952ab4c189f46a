"""retrieve(): whole originals, line ranges, query slices; the headroom_retrieve tool."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionToolParam
from openai.types.responses import FunctionToolParam
from pydantic import TypeAdapter

from headroom.ccr.base import MemoryStore, OriginalStore, StoredOriginal
from headroom.ccr.markers import find_refs, marker
from headroom.ccr.retrieval import (
    TOOL_NAME,
    RetrievalResult,
    execute_retrieve_call,
    retrieve,
)
from headroom.errors import StoreError
from headroom.formats import FORMATS
from headroom.segments import content_ref

from ..factories import customer_rows

LOG = "\n".join(
    f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}Z "
    + (f"ERROR payment gateway timeout order={5000 + i}" if i in (40, 41, 130) else f"INFO request ok id={i}")
    for i in range(1, 201)
)
# Hand-written JSON whose formatting a re-serializer would change (spacing, 1e3, escapes).
ROWS_JSON = """[
  {"id": 1, "status": "ok",     "amount": 1e3, "note": "caf\\u00e9"},
  {"id": 2, "status": "failed", "amount": 2.50, "note": "card declined"},
  {"id": 3, "status": "ok",     "amount": 7,   "note": null},
  {"id": 4, "status": "failed", "amount": 9,   "note": "gateway timeout"}
]"""


def stored(*texts: str) -> tuple[MemoryStore, list[str]]:
    store = MemoryStore()
    for text in texts:
        store.put(content_ref(text), text)
    return store, [content_ref(t) for t in texts]


def test_whole_original_is_returned_exactly() -> None:
    store, (ref,) = stored(LOG)
    result = retrieve(store, ref)
    assert result == RetrievalResult(True, ref, LOG, result.message)
    assert "200 lines" in result.message


def test_ref_copied_from_a_marker_resolves() -> None:
    store, (ref,) = stored(LOG)
    note = marker("180 lines omitted", ref)
    assert find_refs(note) == [ref]
    for spelling in (f"ref={ref}]", f" {ref} ", f'"{ref}"', ref.upper().replace("H_", "h_")):
        assert retrieve(store, spelling).text == LOG


def test_line_ranges() -> None:
    store, (ref,) = stored(LOG)
    lines = LOG.split("\n")
    assert retrieve(store, ref, lines="120-124").text == "\n".join(lines[119:124])
    assert retrieve(store, ref, lines="7").text == lines[6]
    assert retrieve(store, ref, lines="198-").text == "\n".join(lines[197:])
    assert retrieve(store, ref, lines="-2").text == "\n".join(lines[:2])
    assert retrieve(store, ref, lines="190-999").text == "\n".join(lines[189:])
    assert "lines 120-124 of 200" in retrieve(store, ref, lines="120 - 124").message
    outside = retrieve(store, ref, lines="500-600")
    assert outside.found and outside.text == "" and "outside" in outside.message
    bad = retrieve(store, ref, lines="the middle part")
    assert bad.found and bad.text == "" and "120-164" in bad.message


def test_text_query_returns_numbered_matches_with_context() -> None:
    store, (ref,) = stored(LOG)
    result = retrieve(store, ref, query="error timeout")
    lines = LOG.split("\n")
    assert result.text.split("\n") == [
        f"39-{lines[38]}",
        f"40:{lines[39]}",
        f"41:{lines[40]}",
        f"42-{lines[41]}",
        "--",
        f"129-{lines[128]}",
        f"130:{lines[129]}",
        f"131-{lines[130]}",
    ]
    assert "3 of 200 lines match all of" in result.message


def test_text_query_falls_back_to_any_term_then_to_nothing() -> None:
    store, (ref,) = stored(LOG)
    some = retrieve(store, ref, query="order=5130 unicorn")
    assert "130:" in some.text and "at least one" in some.message
    none = retrieve(store, ref, query="unicorn")
    assert none.found and none.text == "" and "without query" in none.message


def test_query_within_a_line_range() -> None:
    store, (ref,) = stored(LOG)
    result = retrieve(store, ref, query="error", lines="100-200")
    lines = LOG.split("\n")
    assert result.text.split("\n") == [f"129-{lines[128]}", f"130:{lines[129]}", f"131-{lines[130]}"]
    assert "(in 100-200)" in result.message


def test_json_query_returns_matching_rows_verbatim_as_valid_json() -> None:
    store, (ref,) = stored(ROWS_JSON)
    result = retrieve(store, ref, query="failed")
    assert [row["id"] for row in json.loads(result.text)] == [2, 4]
    # Rows are cut from the original text, not re-serialized.
    assert '{"id": 2, "status": "failed", "amount": 2.50, "note": "card declined"}' in result.text
    assert "2 of 4 rows match all of 'failed'" in result.message
    both = retrieve(store, ref, query="status=failed gateway")
    assert [row["id"] for row in json.loads(both.text)] == [4]
    escaped = retrieve(store, ref, query="café")  # values are searched decoded, returned verbatim
    assert [row["id"] for row in json.loads(escaped.text)] == [1]
    assert '"amount": 1e3, "note": "caf\\u00e9"' in escaped.text


def test_json_query_inside_an_api_envelope_keeps_the_envelope() -> None:
    rows = customer_rows(200)
    original = json.dumps({"total_count": 200, "incomplete_results": False, "items": rows}, indent=2)
    store, (ref,) = stored(original)
    result = retrieve(store, ref, query="suspended")
    parsed = json.loads(result.text)
    assert parsed["total_count"] == 200 and parsed["incomplete_results"] is False
    assert [row["login"] for row in parsed["items"]] == ["user0137"]
    assert "1 of 200 rows" in result.message


def test_json_query_any_term_and_no_match() -> None:
    store, (ref,) = stored(ROWS_JSON)
    some = retrieve(store, ref, query="declined unicorn")
    assert [row["id"] for row in json.loads(some.text)] == [2] and "at least one" in some.message
    none = retrieve(store, ref, query="unicorn")
    assert none.found and none.text == "" and "no rows of 4" in none.message


def test_malformed_json_is_searched_as_text() -> None:
    broken = ROWS_JSON[:-3]  # truncated: not an array any more
    store, (ref,) = stored(broken)
    result = retrieve(store, ref, query="failed")
    assert result.text.startswith("2-") and "3:" in result.text and "lines" in result.message


def test_unknown_and_invalid_refs_are_results_not_exceptions() -> None:
    store = MemoryStore()
    missing = retrieve(store, "h_0123456789ab")
    assert missing == RetrievalResult(False, "h_0123456789ab", "", missing.message)
    assert missing.message == "ref h_0123456789ab not found (expired or never stored)"
    invalid = retrieve(store, "not a ref")
    assert not invalid.found and "not a headroom ref" in invalid.message


class BrokenStore(OriginalStore):
    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None:
        raise StoreError("redis down")

    def get(self, ref: str) -> StoredOriginal | None:
        raise StoreError("redis down")


def test_store_outage_is_a_result_not_an_exception() -> None:
    result = retrieve(BrokenStore(), "h_0123456789ab")
    assert not result.found and "unavailable" in result.message and "redis down" in result.message
    assert "unavailable" in execute_retrieve_call(BrokenStore(), {"ref": "h_0123456789ab"})


@pytest.mark.parametrize(
    ("schema", "tool"),
    [
        (ChatCompletionToolParam, FORMATS["openai"].retrieval_tool()),
        (FunctionToolParam, FORMATS["responses"].retrieval_tool()),
        (ToolParam, FORMATS["anthropic"].retrieval_tool()),
    ],
    ids=["openai-chat", "openai-responses", "anthropic"],
)
def test_tool_definitions_match_the_sdk_types(schema: Any, tool: dict[str, Any]) -> None:
    assert TypeAdapter(schema).validate_python(tool, strict=True) == tool
    params = tool.get("parameters") or tool.get("input_schema") or tool["function"]["parameters"]
    assert params["required"] == ["ref"]
    assert set(params["properties"]) == {"ref", "query", "lines"}
    assert TOOL_NAME in json.dumps(tool)


def test_execute_retrieve_call_accepts_both_argument_spellings() -> None:
    store, (ref,) = stored(LOG)
    from_openai = execute_retrieve_call(store, json.dumps({"ref": ref, "lines": "3-4"}))
    from_anthropic = execute_retrieve_call(store, {"ref": ref, "lines": [3, 4]})
    lines = LOG.split("\n")
    assert from_openai == from_anthropic == f"{ref}: lines 3-4 of 200\n{lines[2]}\n{lines[3]}"
    assert execute_retrieve_call(store, {"ref": ref}) == execute_retrieve_call(store, {"ref": ref})
    assert execute_retrieve_call(store, {"ref": ref}).endswith(LOG)
    assert "h_" not in find_refs(execute_retrieve_call(store, {"ref": ref, "query": "error"}))


@pytest.mark.parametrize("arguments", ["{not json", "[]", "", None, {}, {"query": "x"}, {"ref": ""}])
def test_execute_retrieve_call_explains_bad_arguments(arguments: Any) -> None:
    text = execute_retrieve_call(MemoryStore(), arguments)
    assert text.startswith(TOOL_NAME) and "ref" in text


def test_lines_of_a_numbered_read_are_the_numbers_it_shows() -> None:
    from headroom.ccr.base import MemoryStore as _Memory
    from headroom.ccr.retrieval import retrieve as _retrieve

    store = _Memory()
    numbered = "\n".join(f"{n:6d}\tvalue = {n}" for n in range(100, 181))
    ref = content_ref(numbered)
    store.put(ref, numbered)
    result = _retrieve(store, ref, lines="120-122")
    assert result.text.split("\n") == [f"{n:6d}\tvalue = {n}" for n in (120, 121, 122)]
    outside = _retrieve(store, ref, lines="5-9")
    assert outside.text == "" and "outside" in outside.message


@pytest.mark.parametrize(
    ("kwargs", "first_line"),
    [
        ({"lines": 7}, "line 6"),
        ({"lines": 7.0}, "line 6"),
        ({"lines": [3, 5]}, "line 2"),
        ({"lines": ["3-5"]}, "line 2"),
        ({"query": 45}, "46:line 45"),
        ({"query": ["line", "44"]}, "45:line 44"),
        ({"query": {"odd": "shape"}}, ""),
        ({"lines": 7.5}, ""),
        ({"lines": True}, "line 0"),
    ],
)
def test_odd_query_and_lines_values_never_raise(kwargs: dict[str, object], first_line: str) -> None:
    store = MemoryStore()
    text = "\n".join(f"line {i}" for i in range(50))
    ref = content_ref(text)
    store.put(ref, text)
    result = retrieve(store, ref, **kwargs)  # type: ignore[arg-type]
    assert result.found
    if first_line:
        assert first_line in result.text.split("\n")
    else:
        assert result.text == "" and result.message
