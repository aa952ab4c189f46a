"""Markdown with fenced blocks: each block is compressed by the compressor for its kind."""

from __future__ import annotations

import json
import random
import re

import pytest

from headroom import CompressConfig, Pipeline, retrieve
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.compressors._embedding import get_encoder
from headroom.routing.detect import detect
from headroom.routing.fences import looks_mixed, split_fenced
from headroom.segments import ContentKind, SegmentContext
from tests.factories import customer_rows
from tests.spies import record_calls

ROWS = json.dumps(customer_rows(400), indent=2)
DOC = (
    "# Billing export\n\nThe nightly job exported the customer table below. Check the suspended accounts.\n\n"
    f"```json\n{ROWS}\n```\n\nAfter the export the job exited with status 0.\n"
)


def test_split_is_exact() -> None:
    parts = split_fenced(DOC)
    assert "".join(p for p, _ in parts) == DOC
    assert [info for _, info in parts] == [None, "json", None]


def test_detected_as_mixed() -> None:
    assert looks_mixed(DOC)
    assert detect(DOC).kind == ContentKind.MIXED
    assert not looks_mixed("no fences at all " * 100)


def test_blocks_compressed_and_text_kept() -> None:
    store = MemoryStore()
    pipeline = Pipeline(CompressConfig(), store)
    text, report = pipeline.compress_text(DOC, SegmentContext(user_query="export the customers"))
    assert report.compressor == "mixed" and report.tokens_after < report.tokens_before / 3
    assert text.startswith("# Billing export\n\nThe nightly job exported")
    assert text.rstrip().endswith("After the export the job exited with status 0.")
    fenced = split_fenced(text)[1][0]
    json.loads(fenced)  # the JSON block is still valid JSON
    assert "user0137" in fenced
    # The markers inside the block point at the whole document, which is what the store holds.
    refs = find_refs(text)
    assert refs == [report.ref]
    stored = store.get(refs[0])
    assert stored is not None and stored.text == DOC


def test_code_block_markers_cite_lines_of_the_whole_document() -> None:
    body = "\n".join(
        f"def handler_{i}(event, context):\n"
        + "".join(f"    value_{j} = compute_step_{j}(event, context, {i}, {j})\n" for j in range(12))
        + "    return value_0\n"
        for i in range(12)
    )
    doc = "# Handlers\n\nThe module below is generated.\n\n```python\n" + body + "```\n\nEnd of the report.\n"
    store = MemoryStore()
    text, report = Pipeline(CompressConfig(), store).compress_text(doc)
    assert report.compressor == "mixed" and report.ref
    cited = re.search(r"lines (\d+)-(\d+)", text)
    assert cited is not None
    first, last = int(cited.group(1)), int(cited.group(2))
    original_lines = doc.split("\n")
    # The cited range is inside the code block of the document, and retrieval returns exactly it.
    assert original_lines[first - 2].startswith("def handler_")
    result = retrieve(report.ref, lines=f"{first}-{last}", store=store)
    assert result.text == "\n".join(original_lines[first - 1 : last])


def test_the_prose_between_blocks_is_weighed_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A README is prose between code blocks: its stretches share one budget and one pass of
    the prose model (one per stretch was a pass of the model each: 1.8 s for 50k tokens), so
    the stretch about the task keeps more than the others, and each keeps its own markers."""
    encoder = get_encoder()
    if encoder is None:
        pytest.skip("the prose model is not installed")
    passes = record_calls(monkeypatch, encoder, "embed")
    topics = ("retry backoff", "log rotation", "colour themes", "plugin loading", "cache eviction", "unicode input")
    stretches = [
        f"## {topic.title()}\n\n"
        + " ".join(
            f"Sentence {k} about {topic} explains one more detail of how the {topic} setting behaves in production."
            for k in range(14)
        )
        + "\n\n```python\n"
        + "".join(f"configure_{topic.split()[0]}(step={k})\n" for k in range(6))
        + "```\n\n"
        for topic in topics
    ]
    doc = "".join(stretches)
    store = MemoryStore()
    text, report = Pipeline(CompressConfig(), store).compress_text(
        doc, SegmentContext(user_query="how does the retry backoff behave?")
    )
    assert report.compressor == "mixed" and report.ref
    assert len(passes) == 1  # every stretch in one call of the model
    kept = {topic: text.count(f"about {topic}") for topic in topics}
    assert kept["retry backoff"] > max(count for topic, count in kept.items() if topic != "retry backoff")
    assert text.count("omitted") >= len(topics) - 1  # each stretch marks its own cuts
    assert set(find_refs(text)) == {report.ref}
    assert all(f"configure_{topic.split()[0]}(step=5)" in text for topic in topics)  # code blocks whole


_TOPICS = ("retries", "timeouts", "proxies", "cookies", "redirects", "streaming", "caching", "pooling")


def _docs_page(blocks: int = 40, fence: str = "```", notes: int = 0) -> str:
    """A docs page of sections, each with an untagged example (rustdoc, mkdocs pages); `notes`
    more sentences per section."""
    sections = []
    for i in range(blocks):
        topic = _TOPICS[i % len(_TOPICS)]
        more = "".join(f"Note {k} on {topic}: the value is read once, when the client starts. " for k in range(notes))
        prose = (
            f"## Section {i}: {topic}\n\nThe client handles {topic} in section {i} by default. "
            f"You can change how {topic} behave with the option named {topic}_{i}. {more}"
            "Most programs never need to touch it, and the defaults are chosen to be safe.\n\n"
        )
        sections.append(f"{prose}{fence}\nclient = Client({topic}_{i}=True)\nclient.get(url)\n{fence}\n\n")
    return "# Client guide\n\n" + "".join(sections)


def test_text_between_untagged_blocks_is_never_taken_for_a_code_block() -> None:
    # Between two untagged blocks, a stretch of text starts with the closing fence above and
    # ends with the opening fence below: read alone, the two pair up as a code block.
    page = _docs_page(notes=12)  # stretches long enough to be compressed each on its own too
    text, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(page, SegmentContext(user_query="cookies"))
    assert report.compressor == "mixed"
    assert text.count("```") == page.count("```")  # every fence line stays
    assert "code block omitted" not in text
    assert all(f"client = Client({t}_{i}=True)" in text for i, t in enumerate(_TOPICS * 5))  # examples stay


def test_short_stretches_between_blocks_share_the_prose_budget() -> None:
    # Every stretch is under the size a part needs alone; together they are most of the page.
    page = _docs_page(blocks=60)
    text, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        page, SegmentContext(user_query="How do I configure cookies?")
    )
    assert report.tokens_after < report.tokens_before * 0.85
    assert "The client handles cookies in section 3 by default." in text


def test_a_big_pipe_table_between_text_goes_to_the_table_compressor() -> None:
    rows = "".join(
        f"| host-{i:04d} | {'down' if i == 733 else 'up'} | 10.0.{i // 250}.{i % 250} |\n" for i in range(900)
    )
    page = (
        "# Fleet\n\n```\nfleet status --all\n```\n\nThe fleet as of this morning:\n\n"
        f"| host | state | address |\n| --- | --- | --- |\n{rows}\nEverything else is nominal.\n"
    )
    text, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        page, SegmentContext(user_query="which host is down")
    )
    assert report.tokens_after < report.tokens_before * 0.2
    assert "| host-0733 | down |" in text and "| host | state | address |" in text
    assert re.search(r"\[headroom: \d+ of 90\d rows omitted", text)
    assert text.rstrip().endswith("Everything else is nominal.")


def test_log_lines_pasted_unfenced_between_blocks_go_to_the_log_compressor() -> None:
    # Each log line reads as a sentence; the text between two blocks goes to prose without
    # asking every sniffer, but an excerpt of a log is still folded as a log.
    log = "\n".join(
        f"2024-01-01 12:{i // 60:02d}:{i % 60:02d},123 INFO [main] org.apache.Server: Started worker {i} "
        "after waiting. Connection accepted from peer."
        for i in range(80)
    )
    steps = "".join(
        f"## Step {n}\n\nThe operator checks the service before step {n + 1}. It must answer within a second.\n\n"
        f"```sh\nserver check --step {n}\n```\n\n"
        for n in range(40)
    )
    page = f"# Runbook\n\n{steps}What a start looks like:\n\n{log}\n\n```sh\nserver stop\n```\n"
    text, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(page, SegmentContext())
    assert report.compressor == "mixed"
    assert re.search(r"\[headroom: 7\d more lines like this \(12:00:01–12:01:18\)", text)
    assert "Started worker 79 after waiting" in text


def test_an_empty_block_keeps_the_fences_around_the_text_apart() -> None:
    # An issue template: "Output:" then an empty block, text, a block in a list item, a block.
    # The empty block must stay a block: without it, its two fence lines reached the prose
    # compressor, which paired them with the fences of the next blocks and dropped text and
    # fences alike as "1 code block omitted".
    words = "the parser reads tokens from the stream and builds a tree of nodes that the compiler walks".split()
    rng = random.Random(2)

    def para(k: int) -> str:
        return " ".join(rng.choice(words) for _ in range(k)).capitalize() + "."

    lines: list[str] = []
    for s in range(30):
        lines += [f"## Step {s}", "", para(30), "", "Output:", "```", "```", "", para(20) + " " + para(25), ""]
        lines += ["- item one", "  ```bash", f"  run {s}", "  ```", "", "```bash", f"tool {s}", "```", ""]
    page = "\n".join(lines)
    text, _ = Pipeline(CompressConfig(), MemoryStore()).compress_text(page, SegmentContext(user_query="step 12"))
    fences = [line.strip() for line in page.split("\n") if line.strip().startswith("```")]
    assert [line.strip() for line in text.split("\n") if line.strip().startswith("```")] == fences


def test_a_table_the_table_compressor_cannot_read_and_an_html_block_stay_whole() -> None:
    rows = "".join(f"| `a\\|b{i}` | y | note {i} with words |\n" for i in range(120))
    table = f"| op | flag | meaning |\n| --- | --- | --- |\n{rows}"
    page_rows = "".join(f"<tr><td>host-{i}</td><td>up</td></tr>" for i in range(400))
    html = f"<!DOCTYPE html>\n<html><body><table>{page_rows}</table></body></html>\n"
    doc = (
        f"# Report\n\n```\nreport --all\n```\n\n{table}\nThe page the server sent:\n\n```\n{html}```\n\nThat is all.\n"
    )
    store = MemoryStore()
    text, _ = Pipeline(CompressConfig(), store).compress_text(doc, SegmentContext(user_query="flag x"))
    assert table in text and html in text
    assert all(retrieve(ref, store=store).found for ref in find_refs(text))
