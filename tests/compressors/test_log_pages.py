"""A log read in pages: a log unit after earlier log units of the same request shows only what
they did not (new templates, new values), deterministically, without changing earlier units."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import headroom.history.logs
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import MARKER_PREFIX, find_refs
from headroom.compressors.logs import LogCompressor, log_page
from headroom.formats import adapter_for
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import ContentKind, EarlierLogs, Segment, SegmentContext
from tests.factories import unpadded
from tests.spies import record_calls

HDFS = Path(__file__).parent.parent / "fixtures" / "logs" / "hdfs.log"
SHARED_CASES = Path(__file__).resolve().parents[3] / "shared" / "bench" / "cases"
PAGE = 100
SEEN_EARLIER = "shown earlier"


def hdfs_lines() -> list[str]:
    return HDFS.read_text().rstrip("\n").split("\n")


def read_page(lines: list[str], offset: int, limit: int) -> str:
    """What Claude Code's Read returns for offset/limit: `cat -n` numbered lines."""
    return "".join(f"{n:>6}\t{line}\n" for n, line in enumerate(lines[offset - 1 : offset - 1 + limit], start=offset))


def exec_page(lines: list[str], first: int, last: int) -> str:
    """What Codex's exec_command returns for `sed -n first,lastp`: a status header, then output."""
    body = "\n".join(lines[first - 1 : last])
    return f"Chunk ID: 5eab00\nWall time: 0.0 seconds\nProcess exited with code 0\nOutput:\n{body}\n"


def claude_request(pages: list[str]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "why do block transfers fail in hdfs.log?"}]
    for i, page in enumerate(pages):
        call = {"file_path": "/data/hdfs.log", "offset": 1 + i * PAGE, "limit": PAGE}
        messages += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Read", "input": call}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": page}]},
        ]
    return {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": messages}


def codex_request(pages: list[str]) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"role": "user", "content": "why do block transfers fail in hdfs.log?"}]
    for i, page in enumerate(pages):
        command = json.dumps({"cmd": f"sed -n {1 + i * PAGE},{(i + 1) * PAGE}p hdfs.log"})
        items += [
            {"type": "function_call", "call_id": f"c{i}", "name": "exec_command", "arguments": command},
            {"type": "function_call_output", "call_id": f"c{i}", "output": page},
        ]
    return {"model": "gpt-5", "input": items}


def claude_results(request: dict[str, Any]) -> list[str]:
    blocks = [block for m in request["messages"] if isinstance(m["content"], list) for block in m["content"]]
    return [block["content"] for block in blocks if block["type"] == "tool_result"]


def codex_results(request: dict[str, Any]) -> list[str]:
    return [item["output"] for item in request["input"] if item.get("type") == "function_call_output"]


def claude_pages(count: int) -> list[str]:
    lines = hdfs_lines()
    return [read_page(lines, 1 + i * PAGE, PAGE) for i in range(count)]


def shown_lines(output: str) -> list[str]:
    return [line for line in output.split("\n") if line and not line.startswith(MARKER_PREFIX)]


# --- Claude Code Read pages -------------------------------------------------------------------


def test_second_read_page_shows_only_what_the_first_did_not() -> None:
    pages = claude_pages(2)
    alone = claude_results(
        Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages[1:]), "anthropic").request
    )[0]
    result = Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages), "anthropic")
    first, second = claude_results(result.request)
    assert len(second) * 4 < len(alone) * 3  # the templates page 1 showed are not shown again
    assert SEEN_EARLIER in second and SEEN_EARLIER not in first
    # Every line still shown is a line of the page with the number the agent saw.
    assert set(shown_lines(second)) <= set(unpadded(pages[1]).split("\n"))
    # The templates page 1 showed: each is on one of its kept lines or was shown before it.
    report = result.stats.units[-1]
    assert report.compressor == "logs" and report.notes["events_seen_earlier"] > PAGE // 2


def test_new_templates_new_warnings_and_new_hosts_stay_visible() -> None:
    lines = hdfs_lines()
    page_two = lines[PAGE : 2 * PAGE]
    new_error = "081109 204020 26 ERROR dfs.DataNode: 10.250.19.102:50010:Disk failure on volume /mnt/hadoop/dfs/data3"
    # A warning of a template page 1 showed, naming hosts it never showed.
    new_hosts = (
        "081109 204021 148 WARN dfs.DataNode$DataXceiver: 10.77.3.21:50010:Got exception while serving "
        "blk_-1566630680009495703 to /10.77.3.22:"
    )
    page_two[40:40] = [new_error, new_hosts]
    pages = [read_page(lines, 1, PAGE), read_page(page_two, 1, len(page_two))]
    result = Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages), "anthropic")
    second = claude_results(result.request)[1]
    assert new_error in second and new_hosts in second
    assert SEEN_EARLIER in second


def test_earlier_units_keep_their_bytes_when_a_page_is_appended() -> None:
    pages = claude_pages(3)
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    turns = [
        claude_results(pipeline.compress_request(claude_request(pages[:n]), "anthropic").request) for n in (1, 2, 3)
    ]
    assert turns[1][0] == turns[0][0]
    assert turns[2][:2] == turns[1]
    # A fresh pipeline (no unit cache, no page cache) gives the same bytes: nothing depends
    # on what the process compressed before.
    fresh = claude_results(
        Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages), "anthropic").request
    )
    assert fresh == turns[2]
    assert SEEN_EARLIER in turns[2][2]


def test_a_unit_compressed_after_other_pages_is_not_reused_without_them() -> None:
    pages = claude_pages(2)
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    with_history = claude_results(pipeline.compress_request(claude_request(pages), "anthropic").request)[1]
    without = claude_results(pipeline.compress_request(claude_request(pages[1:]), "anthropic").request)[0]
    fresh = claude_results(
        Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages[1:]), "anthropic").request
    )[0]
    assert without == fresh != with_history


def test_everything_dropped_from_a_later_page_is_retrievable_by_its_ref() -> None:
    pages = claude_pages(2)
    store = MemoryStore()
    result = Pipeline(CompressConfig(), store).compress_request(claude_request(pages), "anthropic")
    second = claude_results(result.request)[1]
    refs = find_refs(second)
    assert len(refs) == 1
    stored = store.get(refs[0])
    assert stored is not None and stored.text == pages[1]


def test_a_page_summary_is_computed_once_per_unit_text(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record_calls(monkeypatch, headroom.history.logs, "log_page")
    pages = claude_pages(3)
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    for n in (1, 2, 3, 3):
        pipeline.compress_request(claude_request(pages[:n]), "anthropic")
    assert len(calls) == 3  # one per page, not one per page per request


def test_a_failing_page_summary_leaves_later_units_compressed_on_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: str, sent_body: str) -> Any:
        raise RuntimeError("boom")

    pages = claude_pages(2)
    alone = claude_results(
        Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages[1:]), "anthropic").request
    )[0]
    monkeypatch.setattr(headroom.history.logs, "log_page", broken)
    result = Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages), "anthropic")
    assert claude_results(result.request)[1] == alone


def test_units_that_are_not_logs_do_not_count_as_pages() -> None:
    pages = claude_pages(2)
    listing = "".join(f"{n:>6}\tdef handler_{n}(request):\n" for n in range(1, 120))
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    plain = claude_results(pipeline.compress_request(claude_request(pages), "anthropic").request)
    between = claude_results(
        pipeline.compress_request(claude_request([pages[0], listing, pages[1]]), "anthropic").request
    )
    assert between[2] == plain[1]  # the code between changes nothing for page 2


# --- Codex exec_command pages -----------------------------------------------------------------


def test_codex_sed_pages_collapse_what_the_first_page_showed() -> None:
    lines = hdfs_lines()
    pages = [exec_page(lines, 1, PAGE), exec_page(lines, PAGE + 1, 2 * PAGE)]
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    result = pipeline.compress_request(codex_request(pages), "responses")
    first, second = codex_results(result.request)
    assert second.startswith("Chunk ID: 5eab00\nWall time: 0.0 seconds\nProcess exited with code 0\nOutput:\n")
    assert SEEN_EARLIER in second and SEEN_EARLIER not in first
    alone = codex_results(
        Pipeline(CompressConfig(), MemoryStore()).compress_request(codex_request(pages[1:]), "responses").request
    )[0]
    assert len(second) * 4 < len(alone) * 3
    again = codex_results(
        Pipeline(CompressConfig(), MemoryStore()).compress_request(codex_request(pages), "responses").request
    )
    assert again == [first, second]


# --- the compressor itself ----------------------------------------------------------------------


def test_a_page_shown_whole_before_collapses_to_markers_and_its_edges() -> None:
    lines = hdfs_lines()
    text = "\n".join(lines[:PAGE]) + "\n"
    earlier = EarlierLogs().then(log_page(text, text), b"page-1")
    again = LogCompressor().compress(Segment(text, SegmentContext(earlier_logs=earlier), ContentKind.LOGS))
    alone = LogCompressor().compress(Segment(text, SegmentContext(), ContentKind.LOGS))
    assert again.lossy and len(again.text) < len(alone.text)
    kept = shown_lines(again.text)
    assert kept[0] == lines[0] and kept[-1] == lines[PAGE - 1]  # the page's first and last event
    assert SEEN_EARLIER in again.text


def test_histories_compare_by_what_came_before() -> None:
    page = log_page("a\nb\n", "a\nb\n")
    one = EarlierLogs().then(page, b"x")
    assert one == EarlierLogs().then(page, b"x") and hash(one) == hash(EarlierLogs().then(page, b"x"))
    assert one != EarlierLogs().then(page, b"y") != one.then(page, b"x")


def test_shared_nova_log_pages(request: pytest.FixtureRequest) -> None:
    """Two pages of the shared corpus's real nova-compute log, when the corpus is there."""
    case = SHARED_CASES / "sre_incident_openstack_nova.json"
    if not case.exists():
        pytest.skip("shared bench cases not present")
    text = max(_strings(json.loads(case.read_text())), key=len)
    lines = text.rstrip("\n").split("\n")
    if len(lines) < 4 * PAGE:
        pytest.skip("no log long enough in the case")
    pages = [read_page(lines, 1 + i * 2 * PAGE, 2 * PAGE) for i in range(2)]
    store = MemoryStore()
    result = Pipeline(CompressConfig(), store).compress_request(claude_request(pages), "anthropic")
    second = claude_results(result.request)[1]
    alone = claude_results(
        Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages[1:]), "anthropic").request
    )[0]
    assert len(second) < len(alone)
    # Kept lines carry the numbers the agent saw (their repeated ids may be shortened).
    numbers = {line.split("\t", 1)[0] for line in unpadded(pages[1]).split("\n")}
    assert {line.split("\t", 1)[0] for line in shown_lines(second)} <= numbers
    stored = store.get(find_refs(second)[0])
    assert stored is not None and stored.text == pages[1]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _scheduler_page(attempts: list[str], minute: int) -> str:
    lines: list[str] = []
    for second, attempt in enumerate(attempts):
        stamp = f"2024-03-01 10:{minute:02d}:{second:02d}"
        lines.append(f"{stamp},100 INFO scheduler.Worker: heartbeat from worker-3 ok queue depth {second}")
        lines.append(
            f"{stamp},200 ERROR scheduler.Runner: task attempt_{attempt} failed on node-7 with exit status 137"
        )
    return "\n".join(lines) + "\n"


def test_an_error_shown_earlier_keeps_its_first_and_last_new_id_and_names_the_others() -> None:
    first = _scheduler_page([f"20240301_{n:04d}" for n in range(1, 13)], 1)
    new_ids = [f"20240301_{n:04d}" for n in range(101, 113)]
    second = _scheduler_page(new_ids, 2) + "2024-03-01 10:03:00,000 INFO scheduler.Worker: heartbeat from worker-3 ok\n"
    earlier = EarlierLogs().then(log_page(first, first), b"page-1")
    out = LogCompressor().compress(Segment(second, SegmentContext(earlier_logs=earlier), ContentKind.LOGS)).text
    kept = shown_lines(out)
    assert any(f"attempt_{new_ids[0]} failed" in line for line in kept)
    assert any(f"attempt_{new_ids[-1]} failed" in line for line in kept)
    assert all(f"attempt_{attempt}" in out for attempt in new_ids)  # the others named in the marker
    # Errors naming only ids page 1 showed collapse with nothing kept.
    again = LogCompressor().compress(Segment(first, SegmentContext(earlier_logs=earlier), ContentKind.LOGS)).text
    assert sum("ERROR" in line for line in shown_lines(again)) <= 1  # the page's last event at most


def test_units_that_are_not_logs_keep_their_cache_key_after_log_pages() -> None:
    listing = "".join(f"{n:>6}\tdef handler_{n}(request):\n" for n in range(1, 120))
    request = claude_request([*claude_pages(1), listing])
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    pipeline.compress_request(request, "anthropic")
    _, adapter = adapter_for("anthropic", request)
    page, code = adapter.split(request, min_chars=CompressConfig().min_tokens).units
    # Found by the unit's own context: a unit that is no log has no history in its key.
    assert pipeline.already_compressed(code.text, code.context) is not None
    assert pipeline.already_compressed(page.text, page.context) is not None  # the first page has none either


def test_a_history_with_pages_but_no_digest_is_refused() -> None:
    """Histories compare by digest: pages without one would pass for any other history's and be
    handed its cached output."""
    page = log_page("a\nb\n", "a\nb\n")
    with pytest.raises(ValueError, match="digest"):
        EarlierLogs((page,))
    assert EarlierLogs() == EarlierLogs((), b"")


def test_a_unit_too_big_to_compress_is_no_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Units the pipeline leaves untouched for their size are not summarized either (that would
    cost what compressing them costs, on the fail-open path too)."""
    calls = record_calls(monkeypatch, headroom.history.logs, "log_page")
    pages = claude_pages(2)
    small = Pipeline(CompressConfig(max_unit_chars=min(map(len, pages)) - 1), MemoryStore())
    request = small.compress_request(claude_request(pages), "anthropic").request
    assert calls == [] and claude_results(request) == pages  # both left whole, neither a page
    Pipeline(CompressConfig(), MemoryStore()).compress_request(claude_request(pages), "anthropic")
    assert len(calls) == 2


def _package_log(count: int) -> list[str]:
    """A dpkg.log: each package's upgrade, then its status lines. Names with and without digits
    (`libfoo3:amd64`, `foo-tools:all`), as real package names are."""
    lines: list[str] = []
    for i in range(count):
        word = "".join("abcdefghijklmnopqrstuvwxyz"[(i // 26**k) % 26] for k in range(3)) + "ex"
        name = f"lib{word}{i % 7}:amd64" if i % 2 else f"{word}-tools:all"
        stamp = f"2026-05-09 07:{29 + i // 60:02d}:{i % 60:02d}"
        lines.append(f"{stamp} upgrade {name} 1.{i}-1~deb12u1 1.{i}-1~deb12u{2 + i % 3}")
        lines += [f"{stamp} status {state} {name} 1.{i}-1~deb12u1" for state in ("half-configured", "unpacked")]
        lines.append(f"{stamp} status installed {name} 1.{i}-1~deb12u{2 + i % 3}")
    return lines


def test_a_grep_after_pages_lists_the_names_the_pages_did_not_show() -> None:
    """A page showed the first 40 upgrades; a grep of every upgrade comes next: the 20 it adds
    are still a list of distinct things, each shown (kept or listed), however many the page
    showed before."""
    log = _package_log(60)
    page = "\n".join(log[:160]) + "\n"
    upgrades = [f"{n}:{line}" for n, line in enumerate(log, start=1) if " upgrade " in line]
    grep = "\n".join(upgrades) + "\n"
    earlier = EarlierLogs().then(log_page(page, page), b"page-1")
    out = LogCompressor().compress(Segment(grep, SegmentContext(earlier_logs=earlier), ContentKind.LOGS)).text
    for line in upgrades[40:]:
        name, _, new = line.split()[3:6]
        assert name in out and new in out, line
    assert len(out) < len(grep)  # the 40 the page showed collapse
