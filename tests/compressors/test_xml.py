"""XML documents: long runs of alike siblings cut to their edges, the task's members and an
index of what was cut; a project's own XML read by path, short runs and unreadable text stay."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from headroom import compress
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.compressors.xml import looks_like_xml
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext

_LANGUAGES = ["de", "fr", "es", "it", "nl", "pt", "pl", "sv", "fi", "da", "cs", "hu", "ro", "tr", "ja", "ko"]


def _catalogue(types: int = 60) -> str:
    """A MIME-database-like catalogue: each type with its English comment, 16 translations and
    a glob; one type in the middle is the one the task asks about."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<mime-info xmlns="http://example.org/mime">']
    for n in range(types):
        name = "application/x-quarterly-ledger" if n == 31 else f"application/x-format-{n:03d}"
        lines.append(f'  <mime-type type="{name}">')
        lines.append(f"    <comment>Format number {n} document</comment>")
        lines += [f'    <comment xml:lang="{lang}">Dokument {n} ({lang}) – Grüße</comment>' for lang in _LANGUAGES]
        lines.append(f'    <glob pattern="*.f{n:03d}"/>')
        lines.append("  </mime-type>")
    lines.append("</mime-info>")
    return "\n".join(lines) + "\n"


def _run(text: str, query: str = "What is in this file?", tool: str = "Bash", arguments: str = "") -> tuple[str, Any]:
    store = MemoryStore()
    pipeline = Pipeline(CompressConfig(), store)
    context = SegmentContext(tool_name=tool, tool_arguments=arguments, user_query=query)
    out, report = pipeline.compress_text(text, context)
    return out, (report, store)


@pytest.mark.parametrize(
    "head",
    [
        '<?xml version="1.0"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0">',
        '<testsuites>\n  <testsuite name="a">\n    <testcase name="t1"/>\n    <testcase name="t2"/>\n  </testsuite>\n',
    ],
)
def test_xml_documents_are_sniffed(head: str) -> None:
    assert looks_like_xml(head)


@pytest.mark.parametrize(
    "head",
    [
        "<!DOCTYPE html>\n<html><body><p>A page</p></body></html>\n",
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n<34>Oct 11 22:14:16 mymachine su: ok\n" * 3,
        "Some text mentioning <b>bold</b> markup.\nAnd more prose.\nAnd more.\nAnd more.\n",
    ],
)
def test_other_text_is_not_xml(head: str) -> None:
    assert not looks_like_xml(head) or detect(head).kind != ContentKind.XML


def test_a_catalogue_keeps_its_edges_the_task_s_member_and_names_every_member_it_cut() -> None:
    text = _catalogue()
    out, (report, store) = _run(text, query="Which glob does application/x-quarterly-ledger use?")
    assert (report.kind, report.compressor) == ("xml", "xml")
    assert report.tokens_after < report.tokens_before * 0.3
    # The first types, the last, and the one the task names stay whole.
    for kept in ("application/x-format-000", "application/x-format-059", "application/x-quarterly-ledger"):
        assert f'<mime-type type="{kept}">' in out
    assert '<glob pattern="*.f031"/>' in out
    # A kept type keeps its English comment and the edges of its translations; the others go,
    # named by language.
    assert "<comment>Format number 0 document</comment>" in out
    assert '<comment xml:lang="es">Dokument 0 (es) – Grüße</comment>' in out and '<comment xml:lang="ko">' in out
    assert '<comment xml:lang="it">' not in out
    assert (
        "[headroom: 12 <comment> elements (xml:lang: it, nl, pt, pl, sv, fi, da, cs, hu, ro, tr, ja), lines 8-19" in out
    )
    # Every type cut is named in the marker, in order.
    cut = re.search(r"(\d+) <mime-type> elements \(type: ([^)]*)\)", out)
    assert cut is not None
    names = cut.group(2).split(", ")
    assert int(cut.group(1)) == len(names) and names[0] == "application/x-format-003"
    assert all(name in out for n in range(60) for name in [f"application/x-format-{n:03d}"] if n != 31)
    # What was cut is one ref away, and the document's own lines stay as they were.
    assert report.ref in find_refs(out)
    assert retrieve(store, report.ref).text == text
    assert all(line in text.split("\n") for line in out.split("\n") if "[headroom:" not in line)


def test_a_page_from_the_middle_of_a_document_read_with_an_offset() -> None:
    lines = _catalogue(120).split("\n")
    start = 400  # inside a <mime-type>: the page ends elements it did not open
    page = lines[start : start + 1200]
    numbered = "".join(f"{start + k + 1:>6}\t{line}\n" for k, line in enumerate(page))
    arguments = json.dumps({"file_path": "/data/mime.xml", "offset": start + 1, "limit": 1200})
    messages = [
        {"role": "user", "content": "What does this database hold?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "Read", "arguments": arguments}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": numbered},
    ]
    result = compress(messages)
    out = result[-1]["content"]
    assert len(out) < len(numbered) * 0.4
    # Every line kept is the file's line under its own number.
    shown = [line for line in out.split("\n") if re.match(r"\d+\t", line)]
    assert len(shown) > 20
    for line in shown:
        number, _, body = line.partition("\t")
        assert lines[int(number) - 1] == body
    assert "<mime-type> elements (type: " in out


def test_a_project_s_own_xml_read_by_path_stays_whole() -> None:
    dependencies = "".join(
        f"    <dependency>\n      <groupId>org.example</groupId>\n      <artifactId>lib-{n}</artifactId>\n"
        f"      <version>1.{n}.0</version>\n    </dependency>\n"
        for n in range(20)
    )
    pom = f'<?xml version="1.0"?>\n<project>\n  <dependencies>\n{dependencies}  </dependencies>\n</project>\n'
    assert detect(pom, "pom.xml").kind == ContentKind.CODE
    out, _ = _run(pom, tool="Read", arguments=json.dumps({"file_path": "/repo/pom.xml"}))
    assert out == pom


@pytest.mark.parametrize(
    "text",
    [
        # Siblings sharing lines: cutting a line would cut another element with it.
        "<list>\n" + "".join(f'<item id="{n}"/><item id="{n}b"/>\n' for n in range(400)) + "</list>\n",
        # Broken from the start: nothing expat can read.
        "<a><b></a>\n" + "<c>text</c>\n" * 400,
        # A short run: a document's own structure.
        "<config>\n" + "".join(f'  <option name="o{n}" value="{"x" * 300}"/>\n' for n in range(11)) + "</config>\n",
    ],
)
def test_documents_with_nothing_safe_to_cut_pass_whole(text: str) -> None:
    out, (report, _) = _run(text)
    assert report.kind == "xml" and out == text


def test_deterministic() -> None:
    text = _catalogue()
    assert _run(text)[0] == _run(text)[0]
