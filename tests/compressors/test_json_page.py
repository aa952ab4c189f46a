"""A page of a pretty-printed JSON file: its complete records crushed as JSON, the rest verbatim."""

from __future__ import annotations

import json

import orjson

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.envelopes import open_envelope
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext
from tests.factories import customer_rows


def _page(first: int, count: int) -> str:
    """Lines first..first+count-1 of customers.json as Claude Code's Read shows them."""
    lines = json.dumps(customer_rows(300), indent=2).split("\n")
    return "\n".join(f"{n}\t{lines[n - 1]}" for n in range(first, first + count))


def _compress(text: str) -> tuple[str, MemoryStore, float]:
    store = MemoryStore()
    context = SegmentContext("Read", '{"file_path": "/data/customers.json", "offset": 1000, "limit": 1500}')
    out, report = Pipeline(CompressConfig(), store).compress_text(text, context)
    return out, store, report.tokens_after / report.tokens_before


def test_a_page_starting_and_ending_mid_record_compresses_its_whole_records() -> None:
    page = _page(1005, 1500)
    assert detect(open_envelope(page).body).kind == ContentKind.JSON_PAGE
    out, store, ratio = _compress(page)
    assert ratio < 0.5
    shown = page.split("\n")
    out_lines = out.split("\n")
    # The partial records around the whole ones stay as they were, numbers and all.
    assert out_lines[0] == shown[0] and out_lines[-1] == shown[-1]
    compact = next(line for line in out_lines if line.startswith("{"))
    crushed = orjson.loads(compact)  # valid JSON with only original values
    assert "suspended" in compact and isinstance(crushed, dict)
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == page
    assert retrieve(store, ref, lines="1100-1101").text.split("\n")[0].startswith("1100\t")


def test_a_page_with_no_whole_record_goes_to_the_prose_compressor() -> None:
    fields = [f'    "field_{i}": "value number {i} of a long record, which goes on and on.",' for i in range(60)]
    text = "\n".join([*fields, "  },"])
    out, _, _ = _compress(text)
    assert detect(text).kind == ContentKind.JSON_PAGE
    assert all(line in text.split("\n") or "[headroom:" in line or "…" in line for line in out.split("\n"))
