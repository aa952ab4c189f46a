"""Compiler, linter and type-checker reports: real output of ruff, mypy, gcc and cargo."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import MARKER_PREFIX, find_refs
from headroom.ccr.retrieval import retrieve
from headroom.compressors.diagnostics import DiagnosticsCompressor, _parse
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, Segment, SegmentContext

FIXTURES = Path(__file__).parent.parent / "fixtures" / "diagnostics"
BIN = Path(sys.executable).parent

# A module with something for many rules to say, in several functions.
_SOURCE = """import os, sys
import json
from typing import Any


def load(path, default=None):
    f = open(path)
    data = json.loads(f.read())
    print("loaded", path)
    return data or default


def save(path, data: Any):
    with open(path, "w") as f:
        f.write(json.dumps(data))
    print("saved", path)


def total(values):
    sum = 0
    for i in range(len(values)):
        sum = sum + values[i]
    return sum


def describe(name, size, tags):
    return "%s (%d bytes) [%s]" % (name, size, ",".join(tags))


class Store:
    def __init__(self, root):
        self.root = root

    def get(self, key):
        return load(os.path.join(self.root, key))

    def put(self, key, value):
        save(os.path.join(self.root, key), value)

    def keys(self):
        return [k for k in os.listdir(self.root)]


def helper_{n}(x, y=[]):
    y.append(x)
    print(y)
    return y
"""


def _module(directory: Path, name: str, copies: int = 1) -> Path:
    path = directory / f"{name}.py"
    head, _, tail = _SOURCE.partition("def helper_{n}")
    path.write_text(head + "".join(f"def helper_{n}" + tail for n in range(copies)))
    return path


def _run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    return done.stdout + done.stderr


def _compress(text: str, command: str) -> tuple[str, MemoryStore]:
    store = MemoryStore()
    context = SegmentContext("Bash", f'{{"command": "{command}"}}', "Fix what the checker reports.")
    out, report = Pipeline(CompressConfig(), store).compress_text(text, context)
    assert report.compressor == "diagnostics", report
    return out, store


# Lines of a scope: the include chain, "In function", "In instantiation", "required from".
_CONTEXT_LINE = re.compile(r"^(?:In file included from |\s+from |\S.*: In |\S+:\d+:\d+:\s+required )")
_RUFF_LOCATION = re.compile(r"^\s*--> (?P<path>\S+):(?P<line>\d+):(?P<col>\d+)$", re.M)
_RUFF_HEADER = re.compile(r"^(?P<code>[A-Z]+\d+) ", re.M)


def _shown(out: str, path: str, line: str, col: str) -> bool:
    """Whether a diagnostic's location is in the output: its own line, or a marker listing it."""
    if f"{path}:{line}:{col}" in out:
        return True
    return any(path in m and re.search(rf"\b{line}:{col}\b", m) for m in out.split("\n") if m.startswith(MARKER_PREFIX))


def _every_finding_shown(out: str, concise: str) -> None:
    """Each finding of a concise report (`path:line:col: CODE msg`) is in `out` or a marker's list."""
    located = re.findall(r"^(\S+):(\d+):(\d+): [A-Z]+\d+ ", concise, re.M)
    assert len(located) > 100
    for path, line, col in located:
        assert _shown(out, path, line, col), (path, line, col)


@pytest.fixture(scope="module")
def ruff_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    directory = tmp_path_factory.mktemp("ruff")
    for name in ("store", "loader", "helpers"):
        _module(directory, name, copies=6)
    out = _run([str(BIN / "ruff"), "check", "--select", "ALL", "--no-cache", "--output-format", "full", "."], directory)
    return out, directory


def test_ruff_report_keeps_every_location_and_one_snippet_per_rule(ruff_report: tuple[str, Path]) -> None:
    text, _ = ruff_report
    assert detect(text).kind == ContentKind.DIAGNOSTICS
    out, store = _compress(text, "ruff check --select ALL .")
    assert len(out) < 0.5 * len(text)
    locations = list(_RUFF_LOCATION.finditer(text))
    assert len(locations) > 100
    for found in locations:
        assert _shown(out, found["path"], found["line"], found["col"]), found.group(0)
    # Each rule's first diagnostic keeps its header, its location and the line it flags; the
    # code quoted around that line (context, carets, the suggested fix) goes.
    first_of: dict[str, int] = {}
    for found in _RUFF_HEADER.finditer(text):
        first_of.setdefault(found["code"], found.start())
    for code, start in first_of.items():
        block = text[start:].split("\n\n", 1)[0].split("\n")
        line = re.search(r":(\d+):\d+$", block[1])
        assert line is not None, block[1]
        flagged = [row for row in block[2:] if re.match(rf"\s*{line.group(1)} \|", row)]
        assert "\n".join(block[:2] + flagged[:1]) in out, code
        shown = block[:2] + flagged[:1]
        after = block[block.index(shown[-1]) + 1 :]
        if after and re.match(r"\s*\d* \|", after[0]):  # the context line after it: gone
            assert "\n".join([*shown, after[0]]) not in out, code
    # No piece of a dropped diagnostic is left behind: a snippet or suggested-fix line only
    # follows its diagnostic's location, never a marker (ruff's "529 +  fixed" lines were).
    last = ""
    for line in out.split("\n"):
        if re.match(r"^\s*\d+\s*[|+]", line):
            assert not last.startswith(MARKER_PREFIX), line
        if line.strip():
            last = line if line.startswith(MARKER_PREFIX) or "-->" in line else last
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text
    # The ref is on the top marker, then only every few thousand characters.
    markers = [line for line in out.split("\n") if line.startswith(MARKER_PREFIX)]
    assert markers[0].endswith(f"ref={ref}]") and sum("ref=" in m for m in markers) < len(markers) / 2
    assert _compress(text, "ruff check --select ALL .")[0] == out  # deterministic


def test_diagnostics_the_task_names_keep_message_and_location(ruff_report: tuple[str, Path]) -> None:
    text, _ = ruff_report
    store = MemoryStore()
    context = SegmentContext("Bash", '{"command": "ruff check ."}', "Fix the mutable argument defaults.")
    out, _ = Pipeline(CompressConfig(), store).compress_text(text, context)
    lines = text.split("\n")
    named = [(line, lines[k + 1]) for k, line in enumerate(lines[:-1]) if line.startswith("B006 ")]
    assert len(named) > 10
    for message, location in named:
        assert f"{message}\n{location}" in out


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_gcc_warnings_keep_each_location_and_function_context(tmp_path: Path) -> None:
    body = "\n".join(
        f"static int f{n}(int unused_{n}, const char *name) {{ char *p = name; int x = 3.5; return p[0]; }}"
        for n in range(40)
    )
    (tmp_path / "many.c").write_text(body + "\nint main(void) { return 0; }\n")
    text = _run(["gcc", "-c", "-Wall", "-Wextra", "-o", "/dev/null", "many.c"], tmp_path)
    assert text.count("warning:") > 80
    assert detect(text).kind == ContentKind.DIAGNOSTICS
    out, _ = _compress(text, "gcc -Wall -Wextra -c many.c")
    assert len(out) < 0.4 * len(text)
    for found in re.finditer(r"^many\.c:(\d+):(\d+): warning:", text, re.M):
        assert _shown(out, "many.c", found[1], found[2]), found.group(0)
    # The function context line goes with the diagnostic it introduces.
    kept = [line for line in out.split("\n") if line.startswith("many.c:") and ": warning:" in line]
    for line in kept:
        at = text.index(line)
        context = text[:at].rstrip("\n").rsplit("\n", 1)[-1]
        if "In function" in context:
            assert context in out


def test_mypy_pretty_report_keeps_wrapped_messages_with_their_code(tmp_path: Path) -> None:
    for name in ("store", "loader"):
        _module(tmp_path, name, copies=4)
    text = _run(
        [str(BIN / "mypy"), "--strict", "--pretty", "--no-incremental", "--no-error-summary", "store.py", "loader.py"],
        tmp_path,
    )
    assert text.count(": error:") > 20
    assert detect(text).kind == ContentKind.DIAGNOSTICS
    out, _ = _compress(text, "mypy --strict --pretty .")
    assert len(out) < 0.7 * len(text)
    for found in re.finditer(r"^(\w+\.py):(\d+): error:", text, re.M):
        assert f"{found[1]}:{found[2]}: error:" in out or any(
            found[1] in m and re.search(rf"\b{found[2]}\b", m) for m in out.split("\n") if m.startswith(MARKER_PREFIX)
        ), found.group(0)
    # A wrapped message keeps its second line (where mypy puts the error code).
    lines = text.split("\n")
    for k, line in enumerate(lines[:-1]):
        if line in out and ": error:" in line and not line.rstrip().endswith("]") and lines[k + 1].endswith("]"):
            assert f"{line}\n{lines[k + 1]}" in out


def test_rustc_notes_stay_inside_the_diagnostic_they_explain() -> None:
    text = (FIXTURES / "cargo_clippy.txt").read_text()
    assert detect(text).kind == ContentKind.DIAGNOSTICS
    out, _ = _compress(text, "cargo clippy -- -W clippy::pedantic")
    assert len(out) < 0.4 * len(text)
    markers = [line for line in out.split("\n") if line.startswith(MARKER_PREFIX)]
    assert not any(" more note:" in m or " more help:" in m for m in markers)
    # The summary lines cargo prints after the diagnostics stay.
    for line in text.rstrip("\n").split("\n")[-3:]:
        assert line in out
    for found in re.finditer(r"^\s*--> (src/\S+):(\d+):(\d+)$", text, re.M):
        assert _shown(out, found[1], found[2], found[3]) or found[1] in out, found.group(0)


def test_grep_hits_of_the_word_error_are_not_diagnostics(ruff_report: tuple[str, Path]) -> None:
    _, directory = ruff_report
    hits = "\n".join(f"src/app/mod{n}.py:{10 + n}:error: raise ValueError(name)" for n in range(3))
    text = hits + "\n" + "\n".join(f"src/app/mod{n}.py:{20 + n}:    error = compute(x)" for n in range(30))
    assert detect(text).kind == ContentKind.SEARCH
    one_line = _run([str(BIN / "mypy"), "--strict", "--no-incremental", "store.py"], directory)
    assert one_line.count(": error:") > 10
    assert detect(one_line).kind == ContentKind.SEARCH  # one line each: the search compressor's form


def _owners(text: str) -> tuple[list[str], dict[int, int], set[int]]:
    """The report's lines, the diagnostic (its first line) each line belongs to, and the lines
    that open a diagnostic's message or location (which may stand alone in the output)."""
    lines = text.split("\n")
    parsed = _parse(lines)
    assert parsed is not None
    owner = {k: d.start for d in parsed.diagnostics for k in range(d.start, d.end)}
    heads = {k for d in parsed.diagnostics for k in d.head}
    return lines, owner, heads


@pytest.mark.parametrize(
    "name",
    [
        "cargo_borrow.txt",
        "cargo_clippy.txt",
        "gcc_note.txt",
        "gcc_include_chain.txt",
        "gpp_template.txt",
        "mypy_from.txt",
        "mypy_notes.txt",
        "mypy_wrapped.txt",
        "ruff_strings.txt",
        "ws2.txt",
    ],
)
def test_no_kept_line_sits_under_another_diagnostic(name: str) -> None:
    """Each line of the output is a marker or a line of the report, in order; a line of a
    diagnostic that is not its message or location follows a line of the same diagnostic (not a
    marker, not another diagnostic): rustc's `...`, a mypy snippet reading `from x import (`, a
    gcc note and a ruff snippet quoting `"a.c:3:33: warning: ..."` used to land elsewhere."""
    text = (FIXTURES / name).read_text()
    lines, owner, heads = _owners(text)
    out, _ = _compress(text, "cargo build")
    k, previous = 0, None
    for line in out.split("\n"):
        if line.startswith(MARKER_PREFIX):
            previous = None
            continue
        while lines[k] != line:
            k += 1
        if k in owner and k not in heads:
            assert previous is not None and owner.get(previous) == owner[k], (name, k, line)
        previous, k = k, k + 1


def test_lines_between_diagnostics_stay() -> None:
    """Build-tool lines between diagnostics are not part of one: make's error line after tsc's
    report, cargo's `Compiling` line per crate of a workspace."""
    make_tsc = (FIXTURES / "make_tsc.txt").read_text()
    out, _ = _compress(make_tsc, "make check")
    assert "make: *** [Makefile:2: check] Error 2" in out
    workspace = (FIXTURES / "ws2.txt").read_text()
    out, _ = _compress(workspace, "cargo build")
    compiling = [line for line in workspace.split("\n") if line.lstrip().startswith("Compiling ")]
    assert len(compiling) == 8
    assert all(line in out.split("\n") for line in compiling)


def test_a_bug_report_quoting_a_build_is_a_document() -> None:
    text = (FIXTURES / "tsc_in_issue.md").read_text()
    assert detect(text).kind == ContentKind.MIXED
    out, _ = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Read", None, "x"))
    assert out.count("```") == text.count("```")


def test_tsc_pretty_related_locations_stay_with_their_diagnostic() -> None:
    """tsc --pretty: snippet lines at column 0 after a blank line, and a related location
    indented under a blank line ("  f1.ts:2:18", its code, "'name' is declared here.")."""
    text = (FIXTURES / "tsc_pretty2.txt").read_text()
    parsed = _parse(text.split("\n"))
    assert parsed is not None and len(parsed.diagnostics) == 33
    out, store = _compress(text, "npx tsc --noEmit --pretty")
    assert len(out) < 0.5 * len(text)
    # A kept diagnostic keeps its related location; the table tsc closes with stays.
    first = out.index("f1.ts:3:44 - error TS2551")
    assert out.index("'name' is declared here.") > first
    assert out.index("'name' is declared here.") < out.index("f1.ts:4:7 - error TS2322")
    assert "Errors  Files\n    11  f1.ts:3" in out
    assert {retrieve(store, ref).text for ref in find_refs(out)} == {text}


def test_a_coloured_tsc_pretty_run_compresses() -> None:
    """A real `npx tsc --noEmit --pretty` (coloured, as tsc prints it forced or in a pty): 590
    errors over three files, cut to 61 whole diagnostics and the closing table."""
    text = (FIXTURES / "tsc_pretty_colour.txt").read_text()
    assert "\x1b[" in text
    out, store = _compress(text, "npx tsc --noEmit --pretty")
    assert "\x1b" not in out and len(out) < 0.3 * len(text)
    for kept in (
        "error TS2683: 'this' implicitly has type 'any'",
        "An outer value of 'this' is shadowed",
        "275  node.js:2",
    ):
        assert kept in out
    assert {retrieve(store, ref).text for ref in find_refs(out)} == {text}


def test_a_layout_it_does_not_know_passes_whole() -> None:
    """Where a line looks like part of a diagnostic yet belongs to none the parser found (here
    a snippet line before the first diagnostic), nothing is dropped (asked directly: the router
    does not send it here)."""
    text = "  | stray snippet\n" + (FIXTURES / "tsc_pretty2.txt").read_text()
    assert len(re.findall(r"^\S+:\d+:\d+ - error TS\d+:", text, re.M)) > 10
    segment = Segment(text, SegmentContext("Bash", None, "fix"), ContentKind.DIAGNOSTICS)
    assert DiagnosticsCompressor().compress(segment).text == text


def test_scopes_and_include_chains_go_with_their_diagnostics() -> None:
    """gcc's "In file included from ..." chain before a scope in a header, and g++'s template
    instantiation context ("In instantiation of", "required from"): kept with a diagnostic
    under them, dropped with the last of them, and never left in front of a marker."""
    for name in ("gcc_include_chain.txt", "gpp_template.txt"):
        text = (FIXTURES / name).read_text()
        out, _ = _compress(text, "make")
        assert len(out) < 0.5 * len(text), name
        # Each kept scope has a kept diagnostic under it, before the next scope.
        lines = out.split("\n")
        for k, line in enumerate(lines):
            if not re.match(r"^\S.*: In (?:function|instantiation) ", line) or _CONTEXT_LINE.match(lines[k + 1]):
                continue
            under = []
            for after in lines[k + 1 :]:
                if _CONTEXT_LINE.match(after):
                    break
                under.append(after)
            assert any(re.match(r"^\S+:\d+:\d+: (?:warning|error):", x) for x in under), (name, line)


def test_notes_of_their_own_stay_diagnostics() -> None:
    """mypy's `reveal_type` notes and notes with their own code are not part of the error before
    them: dropped ones are listed by location like any other."""
    text = (FIXTURES / "mypy_notes.txt").read_text()
    out, _ = _compress(text, "mypy --pretty .")
    assert 'm6.py:8: note: Revealed type is "def (x: int) -> str"' in out
    assert re.search(r"more note: Revealed type is [^:]*: m5\.py 8; m4\.py 8", out)
    assert re.search(r"more annotation-unchecked: m5\.py 5", out)


def test_pyright_rules_and_crlf_gcc_codes_name_the_kinds(tmp_path: Path) -> None:
    text = (FIXTURES / "pyright.txt").read_text()
    out, _ = _compress(text, "pyright")
    markers = [line for line in out.split("\n") if line.startswith(MARKER_PREFIX) and " more " in line]
    assert markers and all(" more report" in m for m in markers), markers
    crlf = (FIXTURES / "gcc_note.txt").read_text().replace("\n", "\r\n")
    out, _ = _compress(crlf, "gcc -Wall")
    markers = [line for line in out.split("\r\n") if MARKER_PREFIX in line and " more " in line]
    assert markers and all(" more -W" in m and "\r" not in m.rstrip("\r") for m in markers), markers


def test_a_linters_one_line_report_is_grouped_by_rule_code(ruff_report: tuple[str, Path]) -> None:
    """ruff's concise format (`path:line:col: CODE message`) after the warnings it writes to
    stderr: diagnostics grouped by rule, every location shown, every output line a line of the
    report or a marker (as prose, one "sentence" marker hid hundreds of lines and glued two)."""
    _, directory = ruff_report
    args = [str(BIN / "ruff"), "check", "--select", "ALL", "--no-cache", "--output-format", "concise", "."]
    done = subprocess.run(args, cwd=directory, capture_output=True, text=True, timeout=300, check=False)
    assert done.stderr.startswith("warning: ")  # D203/D211 and D212/D213 cannot both hold
    text = done.stderr + done.stdout
    assert detect(text).kind == ContentKind.DIAGNOSTICS
    out, store = _compress(text, "ruff check --select ALL --output-format concise .")
    assert len(out) < 0.5 * len(text)
    _every_finding_shown(out, text)
    report_lines = set(text.split("\n"))
    assert all(line in report_lines or line.startswith(MARKER_PREFIX) for line in out.split("\n"))
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text


def test_rule_codes_need_a_column_to_make_a_diagnostic() -> None:
    """flake8's and pylint's lines carry a column; a grep hit (`path:line:`) whose text starts
    with a capitalised code does not make one."""
    pylint = "\n".join(
        f"pkg/mod{n}.py:{n + 1}:0: C0114: Missing module docstring (missing-module-docstring)" for n in range(6)
    )
    flake8 = "\n".join(f"pkg/mod{n}.py:{n + 3}:1: F401 'os' imported but unused" for n in range(6))
    for report in (pylint, flake8):
        parsed = _parse(report.split("\n"))
        assert parsed is not None and len(parsed.diagnostics) == 6
        assert {d.kind for d in parsed.diagnostics} == {report.split(" ")[1].rstrip(":")}
    grep = "\n".join(f"docs/rules{n}.md:{n + 4}: E501 line too long, see the table" for n in range(6))
    assert _parse(grep.split("\n")) == _parse([])
    assert detect(grep).kind != ContentKind.DIAGNOSTICS


def test_a_report_grouped_by_file_is_read_one_finding_per_line(ruff_report: tuple[str, Path]) -> None:
    """ruff's `grouped` format (a path, then its findings indented as `line:col CODE msg`): each
    finding is shown as the concise format writes it, naming its file, grouped by rule; every
    location shown or listed. As prose, a file's findings went as "sentences" and were glued."""
    _, directory = ruff_report
    args = [str(BIN / "ruff"), "check", "--select", "ALL", "--no-cache", "--output-format", "grouped", "."]
    text = _run(args, directory)
    assert re.search(r"^helpers\.py:$", text, re.M) and detect(text).kind == ContentKind.DIAGNOSTICS
    concise_args = [*args[:-2], "concise", "."]
    concise = _run(concise_args, directory)
    out, store = _compress(text, "ruff check --select ALL --output-format grouped .")
    assert len(out) < 0.6 * len(text)
    _every_finding_shown(out, concise)
    concise_lines = set(concise.split("\n"))
    assert all(line in concise_lines or line.startswith(MARKER_PREFIX) for line in out.split("\n") if line)
    top, inner = find_refs(out)[:2]
    assert retrieve(store, top).text == text
    # What the markers inside cite is the report as ruff's own concise format writes it.
    rewritten = retrieve(store, inner).text
    findings = re.compile(r"^\S+:\d+:\d+: [A-Z]+\d+ .*$", re.M)
    assert sorted(findings.findall(rewritten)) == sorted(findings.findall(concise))
