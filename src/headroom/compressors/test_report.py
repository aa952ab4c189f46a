"""Test runs: every failure stays, the tests that passed are counted.

Agents run the tests after every change and read what the runner prints: pytest (`-q`, `-v`,
`-rA`, the FAILURES and ERRORS sections), `python -m unittest -v`, `cargo test`, `go test -v`,
jest and mocha, TAP (tape, `node --test`). Two things make the bulk of it:

- one line per test that ran (`tests/x.py::test_a PASSED [ 3%]`, `test_a (m.C.test_a) ... ok`,
  `test a::b ... ok`, `--- PASS: TestA (0.00s)`, `✓ renders (3 ms)`, `ok 12 - name`), with
  pytest's progress dots, go's `=== RUN` lines, TAP's subtest titles and what passing tests
  printed (pytest -rA's PASSES, cargo's `successes:`): a run of them becomes one marker
  counting them per file or module, keeping the failures, the lines naming the task and runs
  too short to be worth a marker;
- one section per failure (pytest's `____ test_a ____`, unittest's `FAIL: test_a (...)`, cargo's
  `---- a stdout ----`, jest's `● Suite › a`, TAP's `not ok 3` and its YAML block): when a change
  breaks many tests they fail the same way, at the same line with the same exception. A
  failure's kind is where it crashed and what it raised (or its first message line, masked).
  The first failure of each kind shows whole (a very long one its start and its end), those
  naming the task too; a few more whose messages differ show their header, error lines and
  location; the others of the kind are named in one marker where the first of them was (or
  the marker says the runner's own summary below names each one).

Everything else stays: the session header, progress lines with a failure in them, warnings,
the short summary listing each failed test, the totals, a client's truncation note. A build's
warnings before `cargo test` ran go to the diagnostics compressor; a jest `console.warn` block
the same as one before it goes. One marker at the top says what was left out; the whole output
is retrievable by its ref.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from headroom.ccr.markers import SparseRefs, marker
from headroom.compressors._task_match import named_by_pieces, task_matches
from headroom.compressors.base import Compressed, register
from headroom.compressors.diagnostics import FENCE_LINE, DiagnosticsCompressor, looks_like_diagnostics
from headroom.envelopes import TRUNCATION_NOTE
from headroom.segments import ContentKind, Segment

__all__ = ["TestReportCompressor", "looks_like_test_report"]

# One line per test that ran: (status, test name, the file or module it counts under).
_PYTEST_LINE = re.compile(
    r"^(?:\[gw\d+\] \[\s*\d+%\] (?P<xstatus>[A-Z]+) (?P<xname>\S+::\S.*?)"
    r"|(?P<name>\S+::\S.*?) (?P<status>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)(?: \(.*\))?(?:\s+\[\s*\d+%\])?)\s*$"
)
_UNITTEST_LINE = re.compile(
    r"^(?:(?P<name>\w+) \((?P<group>[\w.]+)\)|Doctest: (?P<doctest>\S+)|(?P<described>.+?))"
    r" \.\.\. (?P<status>ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)\s*$"
)
_UNITTEST_DESCRIBED = re.compile(r"^(?P<name>\w[\w.]*) \((?P<group>[\w.]*)\)\s*$")  # before a docstring line
_CARGO_LINE = re.compile(r"^test (?P<name>\S+)(?: - should panic)? \.\.\. (?P<status>ok|FAILED|ignored\b.*)\s*$")
_GO_LINE = re.compile(
    r"^\s*(?:--- (?P<status>PASS|FAIL|SKIP): (?P<name>\S+) \([\d.]+s\)|=== (?:RUN|PAUSE|CONT|NAME)\s+\S+)\s*$"
)
_JS_LINE = re.compile(r"^\s+(?P<mark>[✓✔√✕✗×○↓]|\(skip\)) (?P<name>\S.*?)(?: \(\d+(?:\.\d+)? ?m?s\))?\s*$")
_JS_FILE = re.compile(r"^\s*(?:PASS|FAIL|[✓✔√❯×]) (?P<path>\S+\.\w+)\b")  # the file a jest/vitest block is for
# pytest -rA's short summary: `PASSED tests/x.py::test_a`, `SKIPPED [1] tests/x.py:12: reason`.
_PYTEST_SUMMARY = re.compile(r"^(?P<status>PASSED|SKIPPED|XFAIL|XPASS) (?:\[\d+\] )?(?P<name>\S+)")
# pytest's progress lines: `tests/test_x.py ..F.s   [ 12%]` (`-q`: no file). Only dots and s: noise.
_PROGRESS = re.compile(r"^(?:\S+\.py ?)?[.sSxXFEf]+\s*\[\s*\d+%\]\s*$")
_PROGRESS_PASSED = re.compile(r"^(?:\S+\.py ?)?[.sSxX]+\s*\[\s*\d+%\]\s*$")
# TAP (tape, node:test, prove): `ok 12 - name`, `not ok 3 name # TODO`, `# subtest` titles; node:test
# running tape files passes their TAP on as comments (`# ok 3 ...`).
_TAP_LINE = re.compile(
    r"^\s*(?:#\s+)?(?P<status>ok|not ok) (?P<number>\d+)(?: -)?(?: (?P<name>.*?))?"
    r"(?:\s+# (?P<directive>SKIP|TODO)\b.*)?\s*$"
)
_TAP_TITLE = re.compile(
    r"^\s*# (?!(?:tests|suites|pass|fail|cancelled|skip(?:ped)?|todo|duration_ms|ok|not ok)\b|TAP version)"
    r"(?P<title>\S.*?)\s*$"
)
# A failure's YAML block: tape's `at: Test.<anonymous> (path:453:12)`, node:test's `location: 'path:4:1'`.
_TAP_AT = re.compile(r"^\s+(?:at|location): .*?\(?'?(?:file://)?(?P<where>[^\s()']+:\d+):\d+")
_TAP_FIELD = re.compile(r"^\s+(?:operator|expected|actual|at|location|message|error|name|code):")
_TAP_YAML_END = re.compile(r"^\s+\.\.\.\s*$")
_PASSED = frozenset({"PASSED", "ok", "PASS", "✓", "✔", "√"})
_SKIPPED = frozenset({"SKIPPED", "XFAIL", "SKIP", "ignored", "skipped", "expected failure", "○", "↓", "(skip)"})

# Failure sections.
_PYTEST_SECTION = re.compile(r"^_+ (?P<name>[^_\s].*?) _+\s*$")  # long names get one underscore each side
_PYTEST_BANNER = re.compile(r"^={3,} (?P<title>.+?) ={3,}\s*$")
_PYTEST_CRASH = re.compile(r"^(?P<where>[^\s:]+:\d+):(?: in (?P<func>\S+)| (?P<exc>[\w.]+))\s*$")
_PYTEST_ERROR = re.compile(r"^E\s")
_CAPTURED = re.compile(r"^-{3,} Captured .+ -{3,}\s*$")
_UNITTEST_RULE = re.compile(r"^={40,}\s*$")
_UNITTEST_DASHES = re.compile(r"^-{40,}\s*$")
_UNITTEST_TITLE = re.compile(r"^(?:FAIL|ERROR|UNEXPECTED SUCCESS): (?P<name>.+?)\s*$")
_PY_FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+)')
_PY_RAISED = re.compile(r"^(?P<exc>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Warning|Failure|Interrupt|Iteration))\b")
_CARGO_SECTION = re.compile(r"^---- (?P<name>\S.*?) stdout ----\s*$")  # doctests: `src/lib.rs - (line 19)`
_CARGO_PANIC = re.compile(r"panicked at (?P<where>\S+?:\d+:\d+)")
_CARGO_END = re.compile(r"^(?:failures:|successes:|test result: |error: test failed)")
_JS_SECTION = re.compile(r"^\s*● (?P<name>\S.*?)\s*$")
_JS_AT = re.compile(r"\((?P<where>[^()\s]+:\d+):\d+\)\s*$|^\s*at (?P<bare>\S+:\d+):\d+\s*$")
_JS_CONSOLE = re.compile(r"^(?P<indent>\s*)console\.(?:log|warn|error|info|debug|trace)\s*$")  # jest's captured console
_JS_END = re.compile(r"^(?:Test Suites:|Tests:|\s*(?:PASS|FAIL) \S)")

_SESSION = re.compile(
    r"^(?:={3,} (?:test session starts|FAILURES|ERRORS|short test summary info|warnings summary) ={3,}"
    r"|running \d+ tests?|test result: (?:ok|FAILED)\. \d+ passed|Ran \d+ tests? in [\d.]+s"
    r"|Test Suites: .*\d+ total|Tests: .*\d+ total|TAP version \d+|1\.\.\d+"
    r"|(?:={3,} )?\d+ (?:failed|passed|errors?)\b.* in [\d.]+s(?: \(.*\))?(?: ={3,})?"
    r"|(?:PASS|FAIL) \S+\.[cm]?[jt]sx?(?: \([\d.]+ m?s\))?)\s*$"
)
_SUMMARY_FAILED = re.compile(r"^(?:FAILED|ERROR) (?P<node>\S+::\S+?)(?: - .*)?\s*$")
# Where the tests start after a build: cargo's `Running unittests src/lib.rs (...)`.
_CARGO_RUNNING = re.compile(r"^\s+Running \S")
_MAX_MATCHED_LINE = 2_000  # a longer line is no status line or header (and regexes stay linear)
_GREP_HIT = re.compile(r"^[^\s:]+:\d+[:-]")  # grep -n's `path:12:` before a line it found
_PYTEST_START = re.compile(r"^={3,} test session starts ={3,}\s*$")
_JS_TOTALS = re.compile(r"^(?:Test Suites:|Tests:|PASS |FAIL )")
_MOCHA_TOTALS = re.compile(r"^\s+\d+ (?:passing|failing|pending)(?: \(\d+m?s\))?\s*$")
_NUMBER = re.compile(r"\d+")
_QUOTED = re.compile(r"[`'\"]([^`'\"\n]{1,80})[`'\"]")

# Per-line states a run of which becomes a marker: a test passed or skipped, go's `=== RUN`, a
# TAP subtest title, a pytest progress line of dots.
_COLLAPSIBLE = frozenset({"pass", "skip", "run", "title", "progress", "output"})
_MIN_PASSES = 8  # fewer passed lines than this in all stay as they are
_MIN_RUN = 3  # and so does a shorter run of them (a marker costs what two lines do)
_GROUPS_LISTED = 12  # a run's marker counts the tests of this many files, then how many more
_MAX_FULL = 8  # kinds whose first failure shows whole; later kinds show theirs by head
_HEADS_PER_KIND = 3  # more failures of a kind shown by header, error lines and location
_NAMED_FULL = 12
_HEAD_ERROR_LINES = 6
_LONG_SECTION = 80  # a failure shown whole keeps its first and last lines past this many
_SECTION_HEAD = 12
_SECTION_TAIL = 50
_LISTED_NAMES = 40


@dataclass(slots=True)
class _Failure:
    start: int
    end: int
    name: str
    kind: str  # where it crashed and what it raised, or its first message line masked
    head: list[int]  # the lines kept when shown by header, error lines and location
    message: str  # its error lines masked: failures whose messages differ show by head
    matches_task: bool = False
    keep: str = "drop"  # "full", "head" or "drop"


def _console_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """Jest's `console.warn` blocks (the message, the code frame, the stack): each runs to the
    next line indented no deeper than its own first line."""
    blocks = []
    k = 0
    while k < len(lines):
        found = _JS_CONSOLE.match(lines[k])
        if found is None:
            k += 1
            continue
        depth = len(found["indent"])
        end = k + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > depth):
            end += 1
        blocks.append((k, end))
        k = end
    return blocks


@dataclass(slots=True)
class _Parsed:
    status: list[str | None]  # per line: "pass" or "skip" (collapsible), "fail", or None
    group: list[str]  # per status line: the file or module it counts under
    name: list[str]  # per status line: the test's name
    failures: list[_Failure] = field(default_factory=list)


def _status_of(line: str) -> tuple[str, str, str] | None:
    """A per-test line's (status, name, group)."""
    pytest = _PYTEST_LINE.match(line)
    if pytest:
        name = pytest["name"] or pytest["xname"]
        status = pytest["status"] or pytest["xstatus"]
        path, _, test = name.partition("::")
        return _status_word(status), test, path
    cargo = _CARGO_LINE.match(line)
    if cargo:
        name = cargo["name"]
        return _status_word(cargo["status"]), name, name.rsplit("::", 1)[0] if "::" in name else ""
    unittest = _UNITTEST_LINE.match(line)
    if unittest:
        name = unittest["name"] or unittest["doctest"] or unittest["described"]
        return _status_word(unittest["status"]), name, _module_of(unittest["group"] or unittest["doctest"] or "")
    go = _GO_LINE.match(line)
    if go:
        if go["status"] is None:
            return "run", "", ""
        return _status_word(go["status"]), go["name"], go["name"].split("/", 1)[0]
    js = _JS_LINE.match(line)
    if js:
        return _status_word(js["mark"]), js["name"], ""
    summary = _PYTEST_SUMMARY.match(line)
    if summary:
        path, _, test = summary["name"].partition("::")
        return _status_word(summary["status"]), test, path.split(":", 1)[0]
    tap = _TAP_LINE.match(line)
    if tap:
        status = "skip" if tap["directive"] else ("pass" if tap["status"] == "ok" else "fail")
        return status, tap["name"] or tap["number"], ""
    if _PROGRESS_PASSED.match(line):
        return "progress", "", ""
    return None


def _module_of(dotted: str) -> str:
    """`test.test_json.test_decode.TestCDecode.test_bytes` -> `test.test_json.test_decode`: the
    module a unittest test counts under (3.11+ name the method after the class, older ones the
    class alone; a doctest names a function or method of a module)."""
    parts = dotted.split(".")
    if len(parts) > 2 and parts[-2][:1].isupper():
        return ".".join(parts[:-2])
    if len(parts) > 1 and parts[-1][:1].isupper():
        return ".".join(parts[:-1])
    return dotted


def _status_word(word: str) -> str:
    if word in _PASSED:
        return "pass"
    if word in _SKIPPED or word.startswith(("skipped", "ignored")):
        return "skip"
    return "fail"


def _masked(text: str) -> str:
    return _NUMBER.sub("#", _QUOTED.sub("`_`", text))[:120]


def _pytest_failure(lines: list[str], start: int, end: int, name: str) -> _Failure:
    errors = [k for k in range(start + 1, end) if _PYTEST_ERROR.match(lines[k])]
    body_end = next((k for k in range(start + 1, end) if _CAPTURED.match(lines[k])), end)
    crash = None
    for k in range(body_end - 1, start, -1):
        found = _PYTEST_CRASH.match(lines[k])
        if found:
            crash = (k, found)
            break
    raised = next((m["exc"] for k in errors if (m := _PY_RAISED.match(lines[k][1:].strip()))), None)
    where = crash[1]["where"] if crash else ""
    exception = (crash[1]["exc"] if crash else None) or raised or ("assert" if errors else "")
    message = " ".join(lines[k][1:].strip() for k in errors[:3])
    kind = f"{exception} at {where}" if where else f"{exception}: {_masked(message)}"
    head = [start, *errors[:_HEAD_ERROR_LINES]]
    if crash and crash[0] not in head:
        head.append(crash[0])
    return _Failure(start, end, name, kind, sorted(head), _masked(message))


def _unittest_failure(lines: list[str], start: int, end: int, name: str) -> _Failure:
    frames = [k for k in range(start, end) if _PY_FRAME.match(lines[k])]
    body = [k for k in range(start + 2, end) if lines[k].strip()]
    # The exception line follows the last frame and its code line (an assertion's diff after it).
    after = frames[-1] + 1 if frames else start
    last = next((k for k in body if k > after and _PY_RAISED.match(lines[k])), body[-1] if body else start)
    raised = _PY_RAISED.match(lines[last])
    where = ""
    if frames:
        frame = _PY_FRAME.match(lines[frames[-1]])
        assert frame is not None
        where = f"{frame['path']}:{frame['line']}"
    exception = raised["exc"] if raised else lines[last].split(":", 1)[0][:60]
    kind = f"{exception} at {where}" if where else f"{exception}: {_masked(lines[last])}"
    # the title, its rule, the last frame and its code line, and the exception raised
    head = [start - 1, start, start + 1] + ([*frames[-1:], frames[-1] + 1] if frames else []) + [last]
    head = sorted({k for k in head if start - 1 <= k < end})
    return _Failure(start - 1, end, name, kind, head, _masked(lines[last]))


def _cargo_failure(lines: list[str], start: int, end: int, name: str) -> _Failure:
    panic = next(((k, m) for k in range(start + 1, end) if (m := _CARGO_PANIC.search(lines[k]))), None)
    if panic is None:
        message_lines = [k for k in range(start + 1, end) if lines[k].strip()][:3]
        message = " ".join(lines[k].strip() for k in message_lines)
        return _Failure(start, end, name, _masked(message), [start, *message_lines], _masked(message))
    k, found = panic
    follow = [j for j in range(k + 1, min(end, k + 1 + _HEAD_ERROR_LINES)) if lines[j].strip()]
    follow = [j for j in follow if not lines[j].startswith("note: run with")]
    message = " ".join(lines[j].strip() for j in follow[:2])
    return _Failure(start, end, name, f"panic at {found['where']}", [start, k, *follow], _masked(message))


def _js_failure(lines: list[str], start: int, end: int, name: str) -> _Failure:
    body = [k for k in range(start + 1, end) if lines[k].strip()]
    first = body[0] if body else start
    at = next(((k, m) for k in body if (m := _JS_AT.search(lines[k]))), None)
    where = (at[1]["where"] or at[1]["bare"]) if at else ""
    kind = f"{_masked(lines[first].strip())} at {where}" if where else _masked(lines[first].strip())
    head = [start, *body[:_HEAD_ERROR_LINES]] + ([at[0]] if at else [])
    return _Failure(start, end, name, kind, sorted(set(head)), _masked(" ".join(lines[k].strip() for k in body[:3])))


def _yaml_end(lines: list[str], start: int) -> int:
    """One past the `...` closing the YAML block whose `---` is at `start`."""
    end = start + 1
    while end < len(lines) and not _TAP_YAML_END.match(lines[end]) and lines[end][:1] in (" ", "\t"):
        end += 1
    closed = end < len(lines) and _TAP_YAML_END.match(lines[end]) is not None
    return end + 1 if closed else end  # a block left open ends before the next line of its own


def _tap_failure(lines: list[str], start: int, end: int, name: str) -> _Failure:
    """`not ok 3 name` and its YAML block: operator, expected, actual, at, stack."""
    at = next(((k, m) for k in range(start + 1, end) if (m := _TAP_AT.match(lines[k]))), None)
    where = at[1]["where"] if at else ""
    fields = [k for k in range(start + 1, end) if _TAP_FIELD.match(lines[k])]
    head = [start, *fields[:_HEAD_ERROR_LINES]]
    operator = next((lines[k].strip() for k in fields if lines[k].strip().startswith("operator:")), "")
    kind = f"{_masked(name.split(' ', 1)[-1])} ({operator})" + (f" at {where}" if where else "")
    message = _masked(" ".join(lines[k].strip() for k in fields))
    return _Failure(start, end, name, kind, sorted(set(head)), message)


def _sections(lines: list[str]) -> tuple[list[_Failure], list[tuple[int, int]]]:
    """The failure sections of every layout found, in line order, and the sections of tests
    that passed (pytest -rA's PASSES, cargo --show-output's `successes:`): their output."""
    failures: list[_Failure] = []
    passes: list[tuple[int, int]] = []
    passing = False  # inside pytest's PASSES block or cargo's `successes:` list
    k = 0
    n = len(lines)
    while k < n:
        line = lines[k]
        if len(line) > _MAX_MATCHED_LINE or TRUNCATION_NOTE.search(line):
            k += 1
            continue
        banner = _PYTEST_BANNER.match(line)
        if banner or line.startswith(("successes:", "failures:", "test result: ")):
            passing = (banner is not None and banner["title"] == "PASSES") or line.startswith("successes:")
            k += 1
            continue
        section = _PYTEST_SECTION.match(line) or _CARGO_SECTION.match(line)
        if section and passing:
            end = _run_until(lines, k + 1, _ends_section)
            passes.append((k, end))
            k = end
            continue
        headed = _headed_failure(lines, k)  # pytest's `____ test_a ____`, cargo's `---- a stdout ----`
        if headed is not None:
            failures.append(headed)
            k = headed.end
            continue
        title = _UNITTEST_TITLE.match(line) if k and _UNITTEST_RULE.match(lines[k - 1]) else None
        if title and k + 1 < n and _UNITTEST_DASHES.match(lines[k + 1]):
            end = _run_until(
                lines, k + 2, lambda line: bool(_UNITTEST_RULE.match(line) or _UNITTEST_DASHES.match(line))
            )
            failures.append(_unittest_failure(lines, k, end, title["name"]))
            k = end
            continue
        tap = _TAP_LINE.match(line) if line.lstrip().startswith("not ok") and k + 1 < n else None
        if tap and lines[k + 1].strip() == "---":
            end = _yaml_end(lines, k + 1)
            failures.append(_tap_failure(lines, k, end, f"#{tap['number']} {tap['name'] or ''}".rstrip()))
            k = end
            continue
        js = _JS_SECTION.match(line)
        if js and js["name"] != "Console":  # `● Console`: what the tests logged, not a failure
            end = _run_until(lines, k + 1, lambda line: bool(_JS_SECTION.match(line) or _JS_END.match(line)))
            failures.append(_js_failure(lines, k, end, js["name"]))
            k = end
            continue
        k += 1
    return failures, passes


def _headed_failure(lines: list[str], k: int) -> _Failure | None:
    """The failure whose header (pytest's or cargo's) is line `k`: it runs to the next header
    of its layout, a banner, cargo's lists and totals, or a truncation note."""
    for header, build in ((_PYTEST_SECTION, _pytest_failure), (_CARGO_SECTION, _cargo_failure)):
        found = header.match(lines[k])
        if found is not None:

            def stops(line: str, header: re.Pattern[str] = header) -> bool:
                return bool(header.match(line)) or _ends_section(line)

            return build(lines, k, _run_until(lines, k + 1, stops), found["name"])
    return None


def _run_until(lines: list[str], start: int, stops: Callable[[str], bool]) -> int:
    """One past a section's last line: the first line from `start` that `stops` says begins
    something else, or a client's truncation note."""
    end = start
    while end < len(lines) and not stops(lines[end]) and not TRUNCATION_NOTE.search(lines[end]):
        end += 1
    return end


def _ends_section(line: str) -> bool:
    """A banner, cargo's lists and totals, or a client's truncation note end a section."""
    return bool(_PYTEST_BANNER.match(line) or _CARGO_END.match(line) or TRUNCATION_NOTE.search(line))


def _parse(lines: list[str]) -> _Parsed:
    status: list[str | None] = [None] * len(lines)
    group = [""] * len(lines)
    name = [""] * len(lines)
    js_file = ""
    title = -1  # the line of the TAP subtest title the lines after it are under
    for k, line in enumerate(lines):
        if len(line) > _MAX_MATCHED_LINE:
            continue
        found = _status_of(line)
        if found is None:
            js = _JS_FILE.match(line)
            if js:
                js_file = js["path"]
            elif _TAP_TITLE.match(line):
                status[k], title = "title", k
            continue
        if title >= 0 and found[0] == "fail" and _TAP_LINE.match(line):
            status[title] = None  # a failure keeps the title it ran under
        if found[0] in ("pass", "skip") and k + 1 < len(lines) and lines[k + 1].strip() == "---":
            yaml_end = _yaml_end(lines, k + 1)  # node:test's `duration_ms` block after each test
            for j in range(k + 1, yaml_end):
                status[j], group[j] = found[0], "-"
        status[k], name[k], group[k] = found
        if found[0] in ("pass", "skip") and k and status[k - 1] is None and _UNITTEST_DESCRIBED.match(lines[k - 1]):
            status[k - 1] = found[0]  # unittest's "test_a (m.C.test_a)" before the docstring line
            group[k - 1] = "-"
        if not group[k] and _JS_LINE.match(line):
            group[k] = js_file
    for k, state in enumerate(status):
        # go's `=== RUN TestA/case_3` before the test's own output (`x_test.go:12: got 3`) says
        # whose output it is: it stays.
        if state == "run" and k + 1 < len(lines) and lines[k + 1].strip() and status[k + 1] not in _COLLAPSIBLE:
            status[k] = None
    parsed = _Parsed(status, group, name)
    parsed.failures, passes = _sections(lines)
    for failure in parsed.failures:  # a per-test line quoted inside a failure belongs to it
        for k in range(failure.start, failure.end):
            status[k] = None
    for start, end in passes:  # what tests that passed printed (pytest -rA, cargo --show-output)
        for k in range(start, end):
            status[k], group[k] = "output", "-"
    return parsed


_COLLECTED_ITEM = re.compile(r"[ \t]*<(?:Dir|Package|Module|Class|Function|UnitTestCase|TestCaseFunction) [^<>=\"\n]+>")


def looks_like_test_report(head: str) -> bool:
    """A test runner's banner or totals with a failure section, or with per-test lines making
    up a tenth of the text; two failure sections; or per-test lines making up a third of it.
    Not: a document with fenced blocks (an issue quoting a test run is a markdown document,
    whose blocks are compressed on their own); a log with one `running 2 tests` in it; grep
    hits over test logs (`ci.log:17:tests/x.py::test_a PASSED`); check marks with no jest or
    mocha file or totals line beside them (`✔ Container web Started`)."""
    if FENCE_LINE.search(head):
        return False
    lines = head.split("\n")[:-1]  # the last may be cut
    filled = sections = statuses = marks = js_sections = 0
    session = js_context = False
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        filled += 1
        if len(line) > _MAX_MATCHED_LINE or _GREP_HIT.match(line):
            continue
        if _PYTEST_START.match(line):
            # pytest's own banner: nothing else writes it. Over a collection tree
            # (`--collect-only`: `<Function test_a>` lines) no test ran: a list of names.
            tree = sum(1 for rest in lines[k + 1 :] if _COLLECTED_ITEM.fullmatch(rest))
            return tree * 2 < sum(1 for rest in lines[k + 1 :] if rest.strip())
        if _SESSION.match(line):
            session = True
            js_context = js_context or bool(_JS_TOTALS.match(line))
        elif _JS_FILE.match(line) or _MOCHA_TOTALS.match(line):
            js_context = True
        elif _is_section_start(lines, k):
            sections += 1
        elif _JS_SECTION.match(line) and " › " in line:
            js_sections += 1
        elif _PROGRESS.match(line):
            statuses += 1
        elif (found := _status_of(line)) is not None:
            if not _JS_LINE.match(line):
                statuses += 1
            elif found[0] == "pass" and line.startswith("  "):
                statuses += 1  # a passed test's check mark under its suite (mocha, jest --verbose)
            else:
                marks += 1  # ✕ ○ ↓ and unindented marks: jest's only beside a jest or mocha line
    if js_context:
        statuses += marks
        sections += js_sections
    if session and (sections or statuses * 10 >= filled):
        return True
    return sections >= 2 or (statuses >= 3 and statuses * 3 >= filled)


def _is_section_start(lines: list[str], k: int) -> bool:
    line = lines[k]
    if _PYTEST_SECTION.match(line) or _CARGO_SECTION.match(line):
        return True
    return k > 0 and _UNITTEST_TITLE.match(line) is not None and _UNITTEST_RULE.match(lines[k - 1]) is not None


def _run_summary(counts: Counter[str], groups: Counter[str]) -> str:
    said = []
    if counts["pass"]:
        said.append(f"{counts['pass']} passed")
    if counts["skip"]:
        said.append(f"{counts['skip']} skipped")
    total = counts["pass"] + counts["skip"]
    text = " and ".join(said) + (" test omitted" if total == 1 else " tests omitted") if said else ""
    others = [(counts["progress"], "progress lines of passed tests"), (counts["title"], "subtest titles")]
    others.append((counts["output"], "lines that passing tests printed"))
    others.append((counts["run"], "lines starting tests"))
    extra = ", ".join(f"{n} {what}" for n, what in others if n)
    if extra:
        text = f"{text}, with {extra}" if text else f"{extra} omitted"
    named = [(g, c) for g, c in groups.items() if g and g != "-"]
    if named:
        # The files' shared directory (module) once: "in tests/compressors/: test_diff.py 46, ..."
        common = os.path.commonprefix([g for g, _ in named])  # noqa: RUF071 (cut at a separator below)
        separator = "/" if any("/" in g for g, _ in named) else "."  # a file's own dot is no module's
        cut = common.rfind(separator) + 1 if len(named) > 1 else 0
        where = f"per file in {common[:cut]}" if cut >= 6 else "per file"
        listed = ", ".join(f"{g[cut if cut >= 6 else 0 :]} {c}" for g, c in named[:_GROUPS_LISTED])
        more = len(named) - _GROUPS_LISTED
        text += f" ({where}: {listed}" + (f", and {more} more" if more > 0 else "") + ")"
    return text


def _choose(by_kind: dict[str, list[_Failure]]) -> None:
    """What each failure keeps: the first of each kind whole (the first `_MAX_FULL` kinds; the
    others by header, error lines and location), those naming the task whole; a few more of a
    kind whose messages differ, and the others naming the task, by head; the rest only their
    name, in the kind's marker."""
    full = named_full = 0
    for group in by_kind.values():
        heads = 0
        shown: set[str] = set()
        for rank, failure in enumerate(group):
            if failure.matches_task and named_full < _NAMED_FULL:
                failure.keep = "full"
                named_full += 1
            elif rank == 0:
                failure.keep = "full" if full < _MAX_FULL else "head"
                full += 1
            elif failure.matches_task or (heads < _HEADS_PER_KIND and failure.message not in shown):
                failure.keep = "head"
                heads += 1
            if failure.keep != "drop":
                shown.add(failure.message)


def _names(dropped: list[_Failure], summarized: frozenset[str]) -> str:
    """The dropped failures' names, unless the runner's own summary after them names each one
    (pytest's `FAILED path::Class::test_a - ...`, cargo's `failures:` list)."""
    if all(failure.name in summarized for failure in dropped):
        return "each one is named in the summary below"
    text = ", ".join(f.name for f in dropped[:_LISTED_NAMES])
    more = len(dropped) - _LISTED_NAMES
    return text + (f", and {more} more" if more > 0 else "")


def _summarized(lines: list[str], after: int) -> frozenset[str]:
    """The failed tests the runner's summary names after line `after`, as their sections name
    them: pytest's node ids without the file (`Class.test_a`), cargo's test paths."""
    names: set[str] = set()
    cargo_list = False
    for line in lines[after:]:
        failed = _SUMMARY_FAILED.match(line)
        if failed:
            node = failed["node"]
            names.add(node.split("::", 1)[-1].replace("::", "."))
            continue
        if line.startswith("failures:"):
            cargo_list = True
        elif cargo_list and line.startswith("    ") and line.strip():
            names.add(line.strip())
    return frozenset(names)


@register(sniffer=looks_like_test_report, sniff_rank=12)
class TestReportCompressor:
    __test__ = False  # not a pytest test class, whatever its name
    name: ClassVar[str] = "test_report"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.TEST_REPORT})
    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        lines = segment.text.split("\n")
        parsed = _parse([line.rstrip("\r") for line in lines])
        build = _build_part(lines, parsed)
        failures = parsed.failures
        matched = _named([f.name for f in failures], [f"{f.name}\n{f.message}" for f in failures], segment)
        by_kind: dict[str, list[_Failure]] = defaultdict(list)
        for failure, named in zip(failures, matched, strict=True):
            failure.matches_task = named
            by_kind[failure.kind].append(failure)
        _choose(by_kind)
        dropped_lines: set[int] = set()
        markers_at: dict[int, str] = {}
        summarized = _summarized(lines, failures[-1].end) if failures else frozenset()
        for kind, group in by_kind.items():
            dropped = [f for f in group if f.keep == "drop"]
            if dropped:
                label = kind if len(kind) <= 80 else kind[:77] + "..."
                listing = _names(dropped, summarized)
                markers_at[dropped[0].start] = f"{len(dropped)} more failures of this kind ({label}): {listing}"
        for failure in failures:
            if failure.keep == "full":
                size = failure.end - failure.start
                if size > _LONG_SECTION:
                    cut = range(failure.start + _SECTION_HEAD, failure.end - _SECTION_TAIL)
                    dropped_lines.update(cut)
                    markers_at[cut.start] = f"{len(cut)} lines of this failure"
                continue
            keep = set(failure.head) if failure.keep == "head" else set()
            dropped_lines.update(k for k in range(failure.start, failure.end) if k not in keep)
        repeats = _drop_repeated_blocks(lines, dropped_lines, markers_at)
        passed = self._collapse_passes(lines, parsed, segment, dropped_lines, markers_at)
        build_text = _compress_build(lines[:build], segment) if build else None
        if not dropped_lines and build_text is None:
            return Compressed(segment.text)
        listed = sum(f.keep == "drop" for f in failures)
        heads = sum(f.keep == "head" for f in failures)
        said = [f"{passed} lines about tests that passed or were skipped, counted in markers"] if passed else []
        if failures:
            failed = "1 failure" if len(failures) == 1 else f"{len(failures)} failures"
            said.append(f"{failed} of {len(by_kind)} kind" + ("s" if len(by_kind) > 1 else ""))
        if heads:
            said.append(f"{heads} shown by header, error lines and location only")
        if listed:
            said.append(f"{listed} listed by name")
        if repeats:
            said.append(f"{repeats} repeated console blocks")
        if build_text is not None:
            said.append("the build's warnings before the tests compressed as diagnostics")
        out = [marker("; ".join(said), segment.ref)]
        refs = SparseRefs(segment.ref)
        if build_text is not None:
            out.append(build_text)
            refs.wrote(build_text)
        out += refs.weave(lines, dropped_lines, markers_at, start=build if build_text is not None else 0)
        notes = {
            "failures": len(failures),
            "failure_kinds": len(by_kind),
            "failures_listed": listed,
            "passes_counted": passed,
            "repeats_dropped": repeats,
        }
        return Compressed("\n".join(out), lossy=True, notes=notes)

    @staticmethod
    def _collapse_passes(
        lines: list[str], parsed: _Parsed, segment: Segment, dropped_lines: set[int], markers_at: dict[int, str]
    ) -> int:
        """Replace each long run of passed/skipped lines by a marker counting them per file;
        a line naming the task stays (and splits the run). How many lines went."""
        collapsible = [k for k, s in enumerate(parsed.status) if s in _COLLAPSIBLE]
        if len(collapsible) < _MIN_PASSES:
            return 0
        named = _named([parsed.name[k] for k in collapsible], [lines[k] for k in collapsible], segment)
        keep_named = {k for k, hit in zip(collapsible, named, strict=True) if hit}
        # A kept test keeps the "name (module.Class)" line unittest printed before its docstring.
        keep_named |= {k - 1 for k in keep_named if k and parsed.group[k - 1] == "-" and parsed.status[k - 1]}
        total = 0
        run: list[int] = []
        for k in [*collapsible, -1]:
            if k != -1 and k not in keep_named and (not run or run[-1] == k - 1 or _blank_between(lines, run[-1], k)):
                run.append(k)
                continue
            if len(run) >= _MIN_RUN:
                counts = Counter(
                    parsed.status[j] or "" for j in run if parsed.group[j] != "-" or parsed.status[j] == "output"
                )
                groups = Counter(parsed.group[j] for j in run if parsed.status[j] in ("pass", "skip"))
                summary = _run_summary(counts, groups)
                # A marker no shorter than the lines it stands for saves nothing.
                if len(marker(summary, None)) < sum(len(lines[j]) + 1 for j in run):
                    dropped_lines.update(run)
                    markers_at[run[0]] = summary
                    total += len(run)
            run = [k] if k != -1 and k not in keep_named else []
        return total


def _drop_repeated_blocks(lines: list[str], dropped_lines: set[int], markers_at: dict[int, str]) -> int:
    """A console block the same as one shown before (numbers aside) goes; a marker where the
    first of a row of them was says how many. How many went."""
    seen: set[str] = set()
    gone = 0
    run: list[tuple[int, int]] = []
    blocks = [block for block in _console_blocks(lines) if block[0] not in dropped_lines]  # not in a failure gone
    for index, (start, end) in enumerate([*blocks, (-1, -1)]):
        key = _NUMBER.sub("#", "\n".join(lines[start:end]).strip()) if start >= 0 else ""
        if start >= 0 and key in seen:
            run.append((start, end))
            if index + 1 < len(blocks) and blocks[index + 1][0] == end:
                continue  # the next block follows right on: one marker for the row
        if run:
            for first, last in run:
                dropped_lines.update(range(first, last))
            markers_at[run[0][0]] = f"{len(run)} more console blocks repeating one shown above"
            gone += len(run)
            run = []
        seen.add(key)
    return gone


def _build_part(lines: list[str], parsed: _Parsed) -> int:
    """How many lines a build printed before the tests ran (cargo's warnings before
    `Running unittests ...`): 0 when the output starts with the tests."""
    for k, line in enumerate(lines):
        if parsed.status[k] not in (None, "title") or _SESSION.match(line) or _CARGO_RUNNING.match(line):
            return k
        if parsed.failures and k == parsed.failures[0].start:
            return k
    return 0


def _compress_build(lines: list[str], segment: Segment) -> str | None:
    """The build's part compressed as compiler diagnostics, or None when it is not theirs or
    nothing came off. Its markers cite the whole output's ref."""
    text = "\n".join(lines)
    if not looks_like_diagnostics(text[:8_000]):
        return None
    part = Segment(
        text, segment.context, ContentKind.DIAGNOSTICS, parent_ref=segment.ref, first_line=segment.first_line
    )
    try:
        result = DiagnosticsCompressor().compress(part)
    except Exception:  # the tests' part still compresses
        return None
    return result.text if len(result.text) < len(text) else None


def _named(names: list[str], texts: list[str], segment: Segment) -> list[bool]:
    """Which tests the user's words name: a word of the task in the line or failure, or the
    test's name by its word pieces. The command's words name what ran, not which test matters."""
    by_words = task_matches(texts, segment.context, with_arguments=False)
    by_pieces = named_by_pieces(names, segment.context)
    return [a or b for a, b in zip(by_words, by_pieces, strict=True)]


def _blank_between(lines: list[str], before: int, after: int) -> bool:
    return all(not lines[j].strip() for j in range(before + 1, after))
