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
from tests.factories import assert_lines_under_their_numbers, tool_call_messages

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
    assert '<comment xml:lang="fr">Dokument 0 (fr) – Grüße</comment>' in out and '<comment xml:lang="ko">' in out
    assert '<comment xml:lang="es">' not in out
    assert (
        "[headroom: 13 <comment> elements (xml:lang: es, it, nl, pt, pl, sv, fi, da, cs, hu, ro, tr, ja), lines 7-19"
        in out
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
    arguments = {"file_path": "/data/mime.xml", "offset": start + 1, "limit": 1200}
    messages = tool_call_messages("What does this database hold?", "Read", arguments, numbered)
    result = compress(messages)
    out = result[-1]["content"]
    assert len(out) < len(numbered) * 0.4
    # Every line kept is the file's line under its own number.
    assert assert_lines_under_their_numbers(out, lines) > 20
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
        # Broken from the start: nothing expat can read.
        "<a><b></a>\n" + "<c>text</c>\n" * 400,
        # A short run: a document's own structure.
        "<config>\n" + "".join(f'  <option name="o{n}" value="{"x" * 300}"/>\n' for n in range(11)) + "</config>\n",
    ],
)
def test_documents_with_nothing_safe_to_cut_pass_whole(text: str) -> None:
    out, (report, _) = _run(text)
    assert report.kind == "xml" and out == text


def _junit_report() -> str:
    """A JUnit XML report as pytest writes it: one line, 300 test cases, three failed and six
    skipped among them."""
    cases = []
    for n in range(300):
        case = f'<testcase classname="tests.test_gen" name="test_case_{n}" time="0.001"'
        if n in (17, 140, 233):
            message = f"AssertionError: mismatch in case {n}&#10;assert {n} == {n + 1}"
            case += f'><failure message="{message}">def test_case_{n}():&#10;&gt;   assert value == {n + 1}</failure>'
            case += "</testcase>"
        elif n % 50 == 7:
            case += f'><skipped type="pytest.skip" message="not on this platform {n}" /></testcase>'
        else:
            case += " />"
        cases.append(case)
    suite = '<testsuite name="pytest" errors="0" failures="3" skipped="6" tests="300" time="0.312">'
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        + suite
        + "".join(cases)
        + ("</testsuite></testsuites>")
    )


def test_a_one_line_report_keeps_its_failures_and_skips_and_cuts_the_rest_inside_the_line() -> None:
    report_xml = _junit_report()
    out, (report, store) = _run(report_xml, query="Which tests failed?")
    assert report.kind == "xml" and report.tokens_after < report.tokens_before * 0.4
    # The cases unlike most (a failure, a skip) stay whole; the passed ones between them go.
    for n in (17, 140, 233):
        assert f'name="test_case_{n}" time="0.001"><failure message="AssertionError: mismatch in case {n}' in out
    for n in range(7, 300, 50):
        assert f'<skipped type="pytest.skip" message="not on this platform {n}" />' in out
    assert 'name="test_case_100"' not in out
    assert re.search(r"\[headroom: \d+ <testcase> elements \(name: test_case_8, test_case_9, ", out)
    assert out.count("\n") == 0 and retrieve(store, report.ref).text == report_xml
    # Read with line numbers, the one line stays whole: a numbered page keeps or drops whole lines.
    numbered = f"     1\t{report_xml}\n"
    arguments = json.dumps({"file_path": "/ci/report.xml"})
    read_out, _ = _run(numbered, tool="Read", arguments=arguments)
    assert read_out == numbered


def test_deterministic() -> None:
    text = _catalogue()
    assert _run(text)[0] == _run(text)[0]
