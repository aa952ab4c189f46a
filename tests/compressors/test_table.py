"""Delimited tables: the header and the telling rows stay verbatim, the rest is one retrieval away."""

from __future__ import annotations

import csv
import io

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.compressors.table import looks_like_table
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext
from tests.factories import customer_rows


def _csv(rows: list[dict[str, object]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _compress(text: str, query: str = "Which customer is suspended?") -> tuple[str, MemoryStore, float]:
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(text, SegmentContext("Read", None, query))
    return out, store, report.tokens_after / report.tokens_before


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_a_big_table_keeps_its_header_and_the_telling_rows(delimiter: str) -> None:
    rows = customer_rows(400)
    rows[200]["notes"] = "disputed, refund pending"  # a quoted field holding the delimiter
    text = _csv(rows, delimiter)
    assert detect(text).kind == ContentKind.TABLE
    out, store, ratio = _compress(text)
    assert ratio < 0.35
    lines = text.split("\n")
    out_lines = out.split("\n")
    assert out_lines[0] == lines[0]
    suspended = next(line for line in lines if "suspended" in line)
    outlier = next(line for line in lines if "9999999" in line)
    assert suspended in out_lines and outlier in out_lines
    # Every line is a line of the file or a marker naming the lines it stands for.
    assert all(line in lines or line.startswith("[headroom:") for line in out_lines)
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text


def test_small_tables_and_ragged_text_pass_whole() -> None:
    small = _csv(customer_rows(30))
    assert _compress(small)[0] == small
    prose = "Hello, world, again.\nThis, that, and the other.\n" * 40
    assert not looks_like_table(prose)


def test_rows_that_do_not_parse_to_the_header_width_are_kept() -> None:
    text = _csv(customer_rows(300))
    lines = text.split("\n")
    lines[150] = "broken,row"
    out, _, _ = _compress("\n".join(lines))
    assert "broken,row" in out.split("\n")


def test_numbered_read_of_a_csv_keeps_numbers_and_marks_file_lines() -> None:
    text = _csv(customer_rows(300))
    numbered = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.split("\n"), 1))
    out, store, ratio = _compress(numbered)
    assert ratio < 0.35
    assert out.split("\n")[0] == numbered.split("\n")[0]
    assert "lines " in out and "[headroom:" in out
    (ref,) = find_refs(out)
    assert retrieve(store, ref, lines="5-5").text == numbered.split("\n")[4]


def test_a_page_from_the_middle_of_a_csv_is_a_table_too() -> None:
    text = _csv(customer_rows(400))
    page = "\n".join(f"{n}\t{line}" for n, line in enumerate(text.split("\n")[201:], 202))
    out, store, ratio = _compress(page)
    assert ratio < 0.4
    assert all(line in page.split("\n") or line.startswith("[headroom:") for line in out.split("\n"))
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == page
