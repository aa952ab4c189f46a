"""Test runs: real output of pytest and unittest (run here), cargo test and jest (fixtures)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import MARKER_PREFIX, find_refs
from headroom.ccr.retrieval import retrieve
from headroom.compressors._task_match import task_matches
from headroom.compressors.test_report import looks_like_test_report
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext
from headroom.tokens import count_tokens
from tests.factories import unpadded

FIXTURES = Path(__file__).parent.parent / "fixtures" / "test_reports"

# A module under test with a bug every caller of `parse_price` trips over, and tests of it.
_MODULE = """
def parse_price(text):
    amount, currency = text.split(" ")
    return round(float(amount), 2), currency.upper()


def total(prices):
    return sum(parse_price(p)[0] for p in prices)
"""
_TESTS = """
import pytest
from shop import parse_price, total


@pytest.mark.parametrize("n", range(20))
def test_prices_parse_below_twenty(n):
    assert parse_price(f"{n}.50 eur") == (n + 0.5, "EUR")


def test_receipt_header():
    assert parse_price("1 chf") == (1.0, "CHF")


@pytest.mark.parametrize("n", range(20, 40))
def test_prices_parse(n):
    assert parse_price(f"{n}.50 eur") == (n + 0.5, "EUR")


@pytest.mark.parametrize("n", range(25))
def test_totals_with_a_thousands_separator(n):
    assert total([f"1,{n:03d}.00 usd", "2.00 usd"]) == 1002.0 + n


def test_refund_rounding():
    assert parse_price("0.125 gbp") == (0.13, "GBP")


def test_currency_case():
    assert parse_price("3 Usd")[1] == "usd"
"""


def _pytest_run(tmp_path: Path, *args: str) -> str:
    (tmp_path / "shop.py").write_text(_MODULE)
    (tmp_path / "test_shop.py").write_text(_TESTS)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", *args, "test_shop.py"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300)
    return done.stdout


def _compress(text: str, command: str, query: str = "Fix the failing tests.") -> tuple[str, MemoryStore, str]:
    store = MemoryStore()
    context = SegmentContext("Bash", json.dumps({"command": command}), query)
    out, report = Pipeline(CompressConfig(), store).compress_text(text, context)
    return out, store, report.kind


def _assert_retrievable(out: str, store: MemoryStore, original: str) -> None:
    refs = find_refs(out)
    assert refs
    assert all(retrieve(store, ref).text == original for ref in refs)


def test_failures_of_one_kind_show_one_whole_and_the_summary_names_each(tmp_path: Path) -> None:
    text = _pytest_run(tmp_path, "-q")
    assert "27 failed, 41 passed" in text  # the 25 totals crash in float() the same way
    assert detect(text).kind == ContentKind.TEST_REPORT
    out, store, kind = _compress(text, "python -m pytest -q")
    assert kind == "test_report"
    assert count_tokens(out) < 0.35 * count_tokens(text)
    # The first totals failure whole: its traceback down to the line that raised.
    assert "ValueError: could not convert string to float: '1,000.00'" in out
    assert "shop.py:4: ValueError" in out
    # The others of its kind by name, here left to the summary that names each one.
    assert re.search(r"\[headroom: \d+ more failures of this kind \(ValueError at shop\.py:4\)", out)
    for line in text.splitlines():
        if line.startswith("FAILED "):
            assert line in out
    # The two failures of their own kinds stay whole.
    assert "assert (0.12, 'GBP') == (0.13, 'GBP')" in out
    assert "AssertionError: assert 'USD' == 'usd'" in out
    _assert_retrievable(out, store, text)


def test_verbose_run_keeps_each_failed_line_and_counts_the_passed_per_file(tmp_path: Path) -> None:
    text = _pytest_run(tmp_path, "-v")
    out, store, _ = _compress(text, "python -m pytest -v")
    assert count_tokens(out) < 0.4 * count_tokens(text)
    for line in text.splitlines():
        if line.endswith("%]") and " FAILED " in line:
            assert line in out
    assert " PASSED " not in out
    counted = sum(int(n) for n in re.findall(r"per file: test_shop\.py (\d+)", out))
    assert counted == text.count(" PASSED ")
    _assert_retrievable(out, store, text)


def test_a_passed_test_the_task_names_keeps_its_line(tmp_path: Path) -> None:
    text = _pytest_run(tmp_path, "-v")
    out, _, _ = _compress(text, "python -m pytest -v", "Does the receipt header test still pass?")
    kept = next(line for line in text.splitlines() if line.startswith("test_shop.py::test_receipt_header PASSED"))
    assert kept in out.splitlines()
    assert "test_shop.py::test_prices_parse[21] PASSED" not in out


def test_the_words_of_the_command_do_not_keep_lines(tmp_path: Path) -> None:
    text = _pytest_run(tmp_path, "-v")
    out, _, _ = _compress(text, "python -m pytest -v test_shop.py -k prices_parse or receipt")
    assert " PASSED " not in out


def test_unittest_verbose_run_counts_its_ok_lines_and_keeps_each_failure(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(_MODULE)
    cases = "\n".join(
        f"    def test_price_{n}(self):\n        self.assertEqual(parse_price('{n}.25 eur'), ({n}.25, 'EUR'))\n"
        for n in range(60)
    )
    broken = "    def test_total(self):\n        self.assertEqual(total(['1,000.00 usd']), 1000.0)\n"
    header = "import unittest\nfrom shop import parse_price, total\n\n\nclass ShopTest(unittest.TestCase):\n"
    (tmp_path / "test_shop.py").write_text(f"{header}{cases}\n{broken}")
    command = [sys.executable, "-m", "unittest", "-v", "test_shop"]
    text = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300).stderr
    assert "FAILED (errors=1)" in text
    assert detect(text).kind == ContentKind.TEST_REPORT
    out, store, _ = _compress(text, "python -m unittest -v test_shop")
    assert count_tokens(out) < 0.4 * count_tokens(text)  # 3.10 names the class only: shorter lines
    assert " ... ok" not in out
    assert "ERROR: test_total (test_shop.ShopTest" in out
    assert "ValueError: could not convert string to float: '1,000.00'" in out
    assert re.search(r"60 passed tests omitted \(per file: test_shop 60\)", out)
    _assert_retrievable(out, store, text)


def test_cargo_build_warnings_then_tests_compress_both_parts() -> None:
    text = (FIXTURES / "cargo_build_then_tests.txt").read_text()
    assert detect(text[:8000]).kind == ContentKind.DIAGNOSTICS  # the head alone is the build
    assert detect(text).kind == ContentKind.TEST_REPORT  # the run's totals end it
    out, store, _ = _compress(text, "cargo test --no-fail-fast")
    assert count_tokens(out) < 0.35 * count_tokens(text)
    assert "more unexpected_cfgs" in out or "more " in out.split("Finished")[0]  # the warnings listed
    for name in ("test_multiple", "test_greater_than", "src/lib.rs - (line 19)"):
        assert f"---- {name} stdout ----" in out
    for line in text.splitlines():  # every panic, every failed test and every total stays
        if "panicked at" in line or line.endswith("... FAILED") or line.startswith("test result:"):
            assert line in out
    assert out.count("... ok") * 5 <= text.count("... ok")  # runs of one or two tests stay
    _assert_retrievable(out, store, text)


def test_jest_repeated_console_blocks_go_and_passed_tests_are_counted() -> None:
    text = (FIXTURES / "jest_verbose.txt").read_text()
    out, store, kind = _compress(text, "npx jest --verbose")
    assert kind == "test_report"
    assert count_tokens(out) < 0.4 * count_tokens(text)
    assert "✓" not in out
    assert "more console blocks repeating one shown above" in out
    assert out.count("Duplicate headers found and renamed.") < text.count("Duplicate headers found and renamed.")
    assert "Tests:       25 skipped, 264 passed, 289 total" in out
    _assert_retrievable(out, store, text)


def test_a_page_read_from_the_middle_of_a_saved_run_compresses(tmp_path: Path) -> None:
    """Claude Code saves a long run to a file; the model pages it with Read offset/limit."""
    text = _pytest_run(tmp_path, "-q")
    lines = text.splitlines()
    page = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(lines[60:], 61))
    store = MemoryStore()
    context = SegmentContext("Read", json.dumps({"file_path": "/root/.claude/tool-results/x.txt", "offset": 61}))
    out, report = Pipeline(CompressConfig(), store).compress_text(page, context)
    assert report.kind == "test_report"
    assert report.tokens_after < 0.5 * report.tokens_before
    shown = set(unpadded(page).split("\n"))
    assert all(line in shown for line in out.split("\n") if not line.startswith(MARKER_PREFIX))


@pytest.mark.parametrize(
    "text",
    [
        "tests/test_a.py:12:def test_parse():\ntests/test_a.py:30:def test_total():\ntests/test_b.py:4:def test_x():\n",
        "2024-05-01 10:00:00 INFO test run started\n2024-05-01 10:00:01 INFO ok\n2024-05-01 10:00:02 INFO ok\n",
        "The release ran the whole suite.\n\n```\n===== test session starts =====\ntests/a.py ... [100%]\n```\n",
        "def test_a():\n    assert f() ... ok\n\n\ndef test_b():\n    pass\n",
        # docker compose: check marks, but no jest or mocha file or totals line
        "".join(
            f" ✔ Container shop-{name}-1  Started   0.{n}s\n" for n, name in enumerate("web db cache queue".split())
        ),
        # notes with bullets
        "Q3 planning\n\n● Payments\n    ○ Status: on track\n    ○ Owner: Dana\n● Search\n    ○ Status: late\n",
        # a log with one cargo test run in it
        "".join(f"2024-05-01T10:00:{n:02d}Z step {n} done\n" for n in range(40))
        + "running 2 tests\ntest a ... ok\ntest b ... ok\n",
        # grep hits over saved pytest output
        "".join(f"logs/ci_{n}.log:{17 + n}:tests/test_x.py::test_{n} PASSED [ {n}%]\n" for n in range(20)),
    ],
)
def test_other_text_is_no_test_report(text: str) -> None:
    assert not looks_like_test_report(text + "\n")


def test_same_input_same_bytes(tmp_path: Path) -> None:
    text = _pytest_run(tmp_path, "-v")
    assert _compress(text, "pytest -v")[0] == _compress(text, "pytest -v")[0]


_MANY_TESTS = """
import pytest


@pytest.mark.parametrize("n", range(3000))
def test_square(n):
    assert n * n == n**2


@pytest.mark.parametrize("n", [3, 7])
def test_parity(n):
    assert n % 2 == 0, f"{n} is odd"
"""


@pytest.mark.parametrize("flags", [("-q",), ("-rA", "--tb=line")])
def test_progress_dots_and_the_passed_summary_lines_are_counted(tmp_path: Path, flags: tuple[str, ...]) -> None:
    (tmp_path / "test_many.py").write_text(_MANY_TESTS)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", *flags, "test_many.py"]
    text = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300).stdout
    assert "2 failed, 3000 passed" in text
    assert detect(text).kind == ContentKind.TEST_REPORT
    out, store, _ = _compress(text, "python -m pytest " + " ".join(flags))
    assert count_tokens(out) < 0.5 * count_tokens(text)
    dots = [line for line in text.splitlines() if re.fullmatch(r"\.+\s+\[\s*\d+%\]", line)]
    assert all(line not in out.splitlines() for line in dots[1:-1])  # a run of them is one marker
    assert "PASSED test_many.py::test_square" not in out
    for line in text.splitlines():
        if line.startswith("FAILED ") or ("F" in line and line.endswith("%]")):
            assert line in out
    _assert_retrievable(out, store, text)


_NODE_TESTS = """
import test from 'node:test';
import assert from 'node:assert';
for (let i = 0; i < 40; i++) test(`adds ${i}`, () => assert.strictEqual(i + 1, 1 + i));
test('rounds prices', () => assert.strictEqual(0.1 + 0.2, 0.3));
test('carts', async (t) => {
  await t.test('empty cart', () => {});
  await t.test('cart total', () => assert.deepStrictEqual({ total: 1 }, { total: 2 }));
});
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_node_test_tap_output_counts_passes_and_keeps_each_failure(tmp_path: Path) -> None:
    (tmp_path / "prices.test.mjs").write_text(_NODE_TESTS)
    command = ["node", "--test", "--test-reporter=tap", "prices.test.mjs"]
    text = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300).stdout
    assert "not ok 41 - rounds prices" in text
    assert detect(text).kind == ContentKind.TEST_REPORT
    out, store, _ = _compress(text, "node --test")
    assert count_tokens(out) < 0.5 * count_tokens(text)  # the three failures' YAML blocks are most of it
    assert "ok 7 - adds 6" not in out and "duration_ms" in out  # a failure keeps its YAML block
    for line in text.splitlines():
        if line.lstrip().startswith("not ok") or line.startswith(("# pass", "# fail")):
            assert line in out.splitlines()
    assert "    # Subtest: cart total" in out.splitlines()  # the title a failure ran under
    _assert_retrievable(out, store, text)


def _tap_failures(closed: bool) -> str:
    lines = ["TAP version 13"]
    for n in range(1, 7):
        lines += [f"not ok {n} - parses price {n}", "  ---", "  operator: equal", f"  expected: {n}", "  actual: 0"]
        lines += ["  at: Test.<anonymous> (/src/test/price.js:20:5)"] + (["  ..."] if closed else [])
    return "\n".join([*lines, "", "1..6", "# tests 6", "# pass  0", "# fail  6", ""])


@pytest.mark.parametrize("closed", [True, False])
def test_every_tap_failure_stays_or_is_named_even_when_its_yaml_block_is_left_open(closed: bool) -> None:
    text = _tap_failures(closed)
    out, store, _ = _compress(text, "node test/price.js")
    shown = out.split("\n")
    for n in range(1, 7):
        assert f"not ok {n} - parses price {n}" in shown or f"#{n} parses price {n}" in out
    assert shown[1:3] == ["TAP version 13", "not ok 1 - parses price 1"]  # no YAML line without its header
    _assert_retrievable(out, store, text)


_PRINTING_TESTS = """
import pytest


@pytest.mark.parametrize("n", range(12))
def test_order_logs(n):
    print(f"order {n} logged")
    assert n >= 0


@pytest.mark.parametrize("n", range(6))
def test_order_totals(n):
    assert n * 10 == n + 10
"""


def test_what_passing_tests_printed_is_no_failure(tmp_path: Path) -> None:
    """pytest -rA shows a PASSES block: one section per passing test with what it printed."""
    (tmp_path / "test_orders.py").write_text(_PRINTING_TESTS)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-rA", "test_orders.py"]
    text = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300).stdout
    assert "= PASSES =" in text and "6 failed, 12 passed" in text
    out, store, _ = _compress(text, "python -m pytest -rA")
    assert out.startswith("[headroom: ") and "6 failures of 1 kind" in out.split("\n")[0]
    assert "order 3 logged" not in out
    assert "test_order_logs" not in "".join(line for line in out.split("\n") if "failures of this kind" in line)
    _assert_retrievable(out, store, text)


def test_a_truncation_note_stays_where_the_client_cut_the_output(tmp_path: Path) -> None:
    text = _pytest_run(tmp_path, "-q")
    lines = text.split("\n")
    third = len(lines) // 3
    note = f"... [{sum(len(line) + 1 for line in lines[third : 2 * third])} characters truncated] ..."
    cut = "\n".join([*lines[:third], note, *lines[2 * third :]])
    out, _, _ = _compress(cut, "python -m pytest -q")
    assert note in out.split("\n")


def test_a_unittest_failure_shown_by_head_keeps_its_exception_line(tmp_path: Path) -> None:
    cases = "".join(
        f"    def test_list_{n}(self):\n        self.assertEqual([1, 2, {n}], [1, 2, {n + 1}, 4])\n\n"
        for n in range(30)
    )
    (tmp_path / "test_lists.py").write_text(f"import unittest\n\n\nclass ListTests(unittest.TestCase):\n{cases}")
    command = [sys.executable, "-m", "unittest", "-v", "test_lists"]
    text = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300).stderr
    out, _, kind = _compress(text, "python -m unittest -v test_lists")
    assert kind == "test_report"
    assert out.count("AssertionError: Lists differ") == text.count("AssertionError: Lists differ") == 30


def test_go_keeps_the_run_line_of_a_subtest_whose_output_stays() -> None:
    lines = [f"=== RUN   TestRound/case_{n}" for n in range(30)]
    lines[17:17] = ["    round_test.go:41: Round(2.5) = 2, want 3"]
    lines += ["--- FAIL: TestRound (0.00s)", *[f"    --- PASS: TestRound/case_{n} (0.00s)" for n in range(30)]]
    text = "\n".join([*lines, "FAIL", "FAIL\texample.com/round\t0.004s", ""])
    out, _, _ = _compress(text, "go test -v ./...")
    shown = out.split("\n")
    at = shown.index("    round_test.go:41: Round(2.5) = 2, want 3")
    assert shown[at - 1] == "=== RUN   TestRound/case_16"
    assert "--- PASS: TestRound/case_3 (0.00s)" not in out


@pytest.mark.parametrize(
    "code",
    [
        # 3.11+: the call that raised, underlined with carets
        "    self.assertEqual([1, 2], [1, 2, 9])\n    ~~~~~~~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^^^^\n",
        # 3.13: an expression over several lines, one of them underlined with tildes alone
        "    self.assertEqual(\n    ~~~~~~~~~~~~~~~~^\n        total([1, 2]),\n            ~~~~~~~~~~\n",
    ],
)
def test_a_traceback_underline_is_no_markdown_fence(code: str) -> None:
    """The `~~~~^^^^` or `~~~~` under the code that raised is not a `~~~` fence (which would make
    the run a markdown document, passed whole)."""
    section = (
        "======================================================================\n"
        "FAIL: test_sum_{n} (test_calc.CalcTests.test_sum_{n})\n"
        "----------------------------------------------------------------------\n"
        "Traceback (most recent call last):\n"
        '  File "/src/test_calc.py", line {n}, in test_sum_{n}\n'
        "{code}"
        "AssertionError: 3 != 4\n\n"
    )
    text = "".join(f"test_sum_{n} (test_calc.CalcTests.test_sum_{n}) ... FAIL\n" for n in range(3))
    text += "\n" + "".join(section.format(n=n, code=code) for n in range(3)) + "-" * 70 + "\nRan 3 tests in 0.001s\n"
    assert looks_like_test_report(text)


_DOCTESTED = '''"""Prices.

>>> parse_price("1 eur")
(1.0, 'EUR')
"""


def parse_price(text):
    """Parse "<amount> <currency>".

    >>> parse_price("2.50 usd")
    (2.5, 'USD')
    """
    amount, currency = text.split(" ")
    return round(float(amount), 2), currency.upper()
'''


def _unittest_with_doctests(tmp_path: Path) -> str:
    """`python -m unittest -v` of a suite that also runs the module's doctests: unittest prints
    each doctest as "parse_price (shop)" then "Doctest: shop.parse_price ... ok"."""
    (tmp_path / "shop.py").write_text(_DOCTESTED)
    cases = "\n".join(
        f"    def test_price_{n}(self):\n        self.assertEqual(shop.parse_price('{n}.25 eur'), ({n}.25, 'EUR'))\n"
        for n in range(40)
    )
    (tmp_path / "test_shop.py").write_text(
        "import doctest\nimport unittest\n\nimport shop\n\n\n"
        "def load_tests(loader, tests, pattern):\n"
        "    tests.addTests(doctest.DocTestSuite(shop))\n    return tests\n\n\n"
        f"class ShopTest(unittest.TestCase):\n{cases}"
    )
    command = [sys.executable, "-m", "unittest", "-v", "test_shop"]
    text = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300).stderr
    assert "Doctest: shop.parse_price ... ok" in text and "OK" in text
    return text


def test_the_subject_of_every_test_name_keeps_no_line(tmp_path: Path) -> None:
    text = _unittest_with_doctests(tmp_path)
    # "shop" is a whole word only on the doctest lines, but a piece of every test's name
    # (test_shop.ShopTest): the subject of the run, naming none of its tests.
    query = "The shop tests fail since my change to shop.py."
    out, store, _ = _compress(text, "python -m unittest -v test_shop", query)
    assert " ... ok" not in out
    assert re.search(r"42 passed tests omitted", out)
    _assert_retrievable(out, store, text)


def test_a_named_doctest_keeps_the_line_unittest_printed_before_it(tmp_path: Path) -> None:
    text = _unittest_with_doctests(tmp_path)
    # The words name the doctest `shop.parse_price` by its pieces, not the line before it.
    out, _, _ = _compress(text, "python -m unittest -v test_shop", "Does the shop parse doctest still pass?")
    lines = out.splitlines()
    at = lines.index("Doctest: shop.parse_price ... ok")
    assert lines[at - 1] == "parse_price (shop)"
    assert "test_price_3 (" not in out


def test_a_task_word_inside_the_words_of_every_record_still_names_records() -> None:
    """ "int" is inside `printing`, in the path of every record: that is no piece of a name, so
    the errors that say "int" are still the ones the task names."""
    lines = [f"src/shop/printing/layout_{n}.py:{10 + n}: error: Missing return statement  [return]" for n in range(30)]
    lines += [
        f'src/shop/printing/cells_{n}.py:{40 + n}: error: Argument 1 to "pad_{n}" has incompatible type "str"; '
        'expected "int"  [arg-type]'
        for n in range(12)
    ]
    context = SegmentContext("Bash", '{"command": "mypy src"}', "where does mypy expect an int?")
    assert task_matches(lines, context) == [False] * 30 + [True] * 12


def test_a_run_of_passes_shorter_than_its_marker_stays() -> None:
    """TAP lines are short: the three before the test the task names cost less than a marker
    counting them, so they stay; the long run after it is counted."""
    names = ["a", "b", "c", "parse_price rounds cents"] + [f"case {n}" for n in range(5, 41)]
    lines = ["TAP version 13", *(f"ok {n} - {name}" for n, name in enumerate(names, start=1))]
    text = "\n".join([*lines, "1..40", "# tests 40", "# pass 40", "# fail 0"]) + "\n"
    out, _, kind = _compress(text, "node --test", "does parse_price round cents?")
    assert kind == "test_report"
    assert "\n".join(lines[1:5]) in out
    assert "ok 20 - case 20" not in out and "36 passed tests omitted" in out
