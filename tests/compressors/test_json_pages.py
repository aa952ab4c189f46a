"""An API listing read in pages: a JSON unit after earlier JSON units of the same request does not
repeat the key notes and meta entries they sent; it cites them by ref, deterministically, without
changing earlier units, and reading the earlier entry then its own gives its table exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

import headroom.history.json_pages
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.compressors.json_data import CITABLE_META, META_KEY, json_tables
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import content_ref
from tests.compressors.test_log_pages import claude_pages, claude_request, claude_results
from tests.factories import github_issue_page
from tests.spies import record_calls

SHARED_CASES = Path(__file__).resolve().parents[3] / "shared" / "bench" / "cases"
CITED_NOTES = "key notes as in"
CITATION = re.compile(r"((?:'[a-z_]+', )*'[a-z_]+') as in ((?:h_[0-9a-f]+, )*h_[0-9a-f]+), plus any here")


def read_result(text: str) -> str:
    """What Claude Code's Read returns for a whole file: `cat -n` numbered lines."""
    return "".join(f"{n:>6}\t{line}\n" for n, line in enumerate(text.rstrip("\n").split("\n"), start=1))


def exec_result(text: str) -> str:
    """What Codex's exec_command returns for `cat`: a status header, then the output."""
    return f"Chunk ID: 7c01aa\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\n{text}"


def pretty_pages(count: int, first: int = 1) -> list[str]:
    """Issue pages saved by `curl` (indented JSON), as Read returns them."""
    return [read_result(json.dumps(github_issue_page(page), indent=2) + "\n") for page in range(first, first + count)]


def compress(pages: list[str], **kwargs: Any) -> tuple[list[str], Pipeline]:
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    return claude_results(pipeline.compress_request(claude_request(pages), "anthropic", **kwargs).request), pipeline


def body(output: str) -> Any:
    """The JSON a Read result was compressed to (JSON is re-laid out whole, with no numbers)."""
    return orjson.loads(output[output.index("{") :])


def merged(earlier: Any, own: Any, key: str) -> Any:
    """A meta map read with the entries of another: for a lookup, value tables merge too."""
    if key != "lookup":
        return {**earlier, **own}
    out = {column: dict(rule) for column, rule in earlier.items()}
    for column, rule in own.items():
        out[column] = {**rule, "values": {**out.get(column, {}).get("values", {}), **rule["values"]}}
    return out


def read_meta(outputs: dict[str, Any], document: Any, key: str) -> Any:
    """What a reader makes of meta `key` of a page: the entries of the earlier results its note
    cites for it (each read the same way), then its own."""
    value: dict[str, Any] = {}
    for keys, refs in CITATION.findall(document[META_KEY]):
        if f"'{key}'" in keys.split(", "):
            for ref in refs.split(", "):
                value = merged(value, read_meta(outputs, outputs[ref], key), key)
    return merged(value, document.get(key, {}), key)


def assert_meta_reads_as_alone(outputs: dict[str, Any], document: Any, alone: Any) -> None:
    """Every meta entry of a page, read through its citations, is the one the page gets alone (a
    lookup may hold more values, never a different one), and its rows are the same."""
    for key in CITABLE_META:
        expected, reading = alone.get(key, {}), read_meta(outputs, document, key)
        if key == "lookup":
            assert expected.keys() == reading.keys()
            for column, rule in expected.items():
                assert reading[column]["by"] == rule["by"]
                assert rule["values"].items() <= reading[column]["values"].items()
        else:
            assert reading == expected, key
    assert document["rows"] == alone["rows"] and document.get("columns") == alone.get("columns")


# --- Claude Code Read pages -------------------------------------------------------------------


def test_a_later_page_cites_the_notes_and_meta_the_first_page_sent() -> None:
    pages = pretty_pages(2)
    (first, second), _ = compress(pages)
    (alone,), _ = compress(pages[1:])
    first_ref = next(r for r in find_refs(first) if r == content_ref(pages[0]))
    assert len(second) * 10 < len(alone) * 9  # the notes and the meta entries are not repeated
    note = body(second)[META_KEY]
    assert f"{CITED_NOTES} {first_ref}" in note and CITED_NOTES not in first
    own = body(second)
    assert "'derived'" in note and "derived" not in own  # the same URL rules: cited, none left
    assert_meta_reads_as_alone({first_ref: body(first)}, own, body(alone))


def test_earlier_units_keep_their_bytes_when_a_page_is_appended() -> None:
    pages = pretty_pages(3)
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    turns = [
        claude_results(pipeline.compress_request(claude_request(pages[:n]), "anthropic").request) for n in (1, 2, 3)
    ]
    assert turns[1][0] == turns[0][0]
    assert turns[2][:2] == turns[1]
    fresh, _ = compress(pages)
    assert fresh == turns[2]
    # Page 3's key notes are those page 1 sent whole (page 2 cited them itself); its meta
    # entries, read through what it cites (page 2's through page 1's), are exactly its own.
    assert f"{CITED_NOTES} {content_ref(pages[0])}" in body(turns[2][2])[META_KEY]
    outputs = {content_ref(page): body(output) for page, output in zip(pages, turns[2], strict=True)}
    for page, output in zip(pages[1:], turns[2][1:], strict=True):
        (alone,), _ = compress([page])
        assert_meta_reads_as_alone(outputs, body(output), body(alone))


def test_a_page_sent_whole_explains_nothing() -> None:
    pages = pretty_pages(2)
    (alone,), _ = compress(pages[1:])
    (first, second), _ = compress(pages, protect=lambda unit: unit.text == pages[0])
    assert first == pages[0] and second == alone


def test_a_meta_entry_that_differs_is_sent_whole() -> None:
    closed = [{**issue, "state": "closed"} for issue in github_issue_page(2)]
    (_, second), _ = compress(
        [read_result(json.dumps(github_issue_page(1), indent=2)), read_result(json.dumps(closed, indent=2))]
    )
    own = body(second)
    cited = {key.strip("'") for keys, _ in CITATION.findall(own[META_KEY]) for key in keys.split(", ")}
    # 'state' is constant on both pages with another value: the earlier 'constant' does not hold.
    assert "constant" not in cited and own["constant"]["state"] == "closed"
    assert "derived" in cited and "derived" not in own  # the same URL rules: cited
    (alone,), _ = compress([read_result(json.dumps(closed, indent=2))])
    assert own["constant"] == body(alone)["constant"]


def test_a_unit_with_two_different_values_of_a_meta_key_cannot_be_cited_for_it() -> None:
    page = github_issue_page(1)
    other = [{**issue, "url": issue["url"].replace("acme", "globex")} for issue in github_issue_page(2)]
    text = json.dumps({"acme": page, "globex": other}, indent=2)
    (output,), _ = compress([read_result(text)])
    summary = json_tables(read_result(text), output[output.index("{") :])
    assert summary is not None and summary.ref == content_ref(read_result(text))
    assert "derived" not in summary.meta  # two 'derived' maps: a citation would not say which
    assert summary.meta["element_field"] == {"labels": "name"}  # one value in both tables: citable


def test_a_summary_is_computed_once_per_unit_text(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record_calls(monkeypatch, headroom.history.json_pages, "json_tables")
    pages = pretty_pages(3)
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    for n in (1, 2, 3, 3):
        pipeline.compress_request(claude_request(pages[:n]), "anthropic")
    assert len(calls) == 3  # one per page, not one per page per request


def test_log_pages_and_json_pages_keep_their_own_histories() -> None:
    logs = claude_pages(2)
    issues = pretty_pages(2)
    (log_one, log_two), _ = compress(logs)
    (json_one, json_two), _ = compress(issues)
    mixed, _ = compress([logs[0], issues[0], logs[1], issues[1]])
    assert mixed == [log_one, json_one, log_two, json_two]


# --- Codex exec_command pages -----------------------------------------------------------------


def codex_request(outputs: list[str]) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"role": "user", "content": "which open issue is about the socket timeout?"}]
    for i, output in enumerate(outputs):
        command = json.dumps({"cmd": f"gh api 'repos/acme/widgets/issues?page={i + 1}'"})
        items += [
            {"type": "function_call", "call_id": f"c{i}", "name": "exec_command", "arguments": command},
            {"type": "function_call_output", "call_id": f"c{i}", "output": output},
        ]
    return {"model": "gpt-5", "input": items}


def test_codex_api_pages_cite_the_first_page() -> None:
    outputs = [exec_result(json.dumps(github_issue_page(page)) + "\n") for page in (1, 2)]
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    result = pipeline.compress_request(codex_request(outputs), "responses")
    first, second = [item["output"] for item in result.request["input"] if item.get("type") == "function_call_output"]
    assert second.startswith("Chunk ID: 7c01aa\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\n")
    assert f"{CITED_NOTES} {content_ref(outputs[0])}" in second and CITED_NOTES not in first
    again = Pipeline(CompressConfig(), MemoryStore()).compress_request(codex_request(outputs), "responses")
    assert [item["output"] for item in again.request["input"] if item.get("type") == "function_call_output"] == [
        first,
        second,
    ]


# --- the shared corpus ------------------------------------------------------------------------


def test_shared_openframeworks_issue_pages() -> None:
    """The shared corpus's real GitHub issue pages, read one after another, when it is there."""
    case_file = SHARED_CASES / "issue_triage_openframeworks.json"
    if not case_file.exists():
        pytest.skip("shared bench cases not present")
    case = json.loads(case_file.read_text())
    outputs = [
        block["content"]
        for message in case["anthropic"]["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result" and isinstance(block["content"], str)
    ]
    pages = [read_result(orjson.dumps(orjson.loads(o), option=orjson.OPT_INDENT_2).decode()) for o in outputs]
    if len(pages) < 2:
        pytest.skip("fewer than two pages in the case")
    together, _ = compress(pages)
    alone = [compress([page])[0][0] for page in pages]
    assert together[0] == alone[0]
    assert all(len(t) < len(a) for t, a in zip(together[1:], alone[1:], strict=True))
    outputs = {content_ref(page): body(output) for page, output in zip(pages, together, strict=True)}
    for output, single in zip(together[1:], alone[1:], strict=True):
        assert_meta_reads_as_alone(outputs, body(output), body(single))
    visible = "".join(together)
    assert all(needle in visible for needle in case["needles"] if any(needle in a for a in alone))
