"""Unrecognised text whose lines keep coming back: a real traceback of mutual recursion."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext

_WALK = """
import sys
sys.setrecursionlimit(300)

def visit(node, path):
    if isinstance(node, dict):
        return visit_dict(node, path)
    return visit_list(node, path)

def visit_dict(node, path):
    for key, value in node.items():
        visit(value, path + "/" + key)

def visit_list(node, path):
    for i, value in enumerate(node):
        visit(value, f"{path}[{i}]")

doc = {}
doc["self"] = [doc]
visit(doc, "")
"""


def _traceback(tmp_path: Path) -> str:
    script = tmp_path / "walk.py"
    script.write_text(_WALK)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "RecursionError" in done.stderr
    return done.stderr


def _expand(out: str) -> list[str]:
    """The text a folded output stands for, rebuilt from what each marker says it repeats."""
    lines: list[str] = []
    for line in out.split("\n"):
        said = re.search(r"lines (\d+)-(\d+)\): the (?:line|(\d+) lines) above.*? again, (\d+) more times", line)
        if said is None:
            lines.append(line)
            continue
        first, last = int(said[1]), int(said[2])
        cycle = int(said[3] or 1)
        for k in range(first, last + 1):
            lines.append(lines[k - 1 - cycle])
    return lines


def test_a_traceback_of_mutual_recursion_folds_its_cycles(tmp_path: Path) -> None:
    text = _traceback(tmp_path)
    lines = text.split("\n")
    assert len(lines) > 300 and detect(text).kind == ContentKind.REPEATS
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(
        text, SegmentContext("Bash", None, "why does it crash?")
    )
    assert report.compressor == "repeats" and report.tokens_after < 0.2 * report.tokens_before
    kept = out.split("\n")
    assert set(lines) <= set(kept) | {""}  # every distinct line still shown
    assert kept[:4] == lines[:4] and kept[-2:] == lines[-2:]  # the call that started it; the error itself
    assert _expand(out) == lines  # the markers say exactly what they stand for
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text
    assert Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash"))[0] == out


def test_a_zero_filled_table_folds_but_stays_whole_when_asked_for_as_text() -> None:
    """Sixty identical rows are "the line above, 59 more times"; a caller asking for plain text
    (MCP `content_type="text"`) gets the text as it is."""
    rows = "".join(f"    {{{i}, {i + 1}, {i + 2}, {i + 3}}},\n" for i in range(4)) + "    {0, 0, 0, 0},\n" * 60
    source = f"static const uint8_t table[64][4] = {{\n{rows}}};\n\nint lookup(int i) {{ return table[i][0]; }}\n"
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(source, SegmentContext("Bash"))
    assert report.compressor == "repeats" and _expand(out) == source.split("\n")
    assert "the line above again" in out
    plain, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        source, SegmentContext("mcp"), kind=ContentKind.TEXT
    )
    assert plain == source and report.compressor == "passthrough"


def test_lines_that_recur_out_of_cycle_stay() -> None:
    """A column of PASS and FAIL, items in a shuffled order, unique steps, blank lines: lines
    seen before, but no run repeating the lines just above it. Nothing folds."""
    draw = random.Random(7)
    verdicts = "\n".join("FAIL" if draw.random() < 0.1 else "PASS" for _ in range(400))
    unique = "\n".join(f"step {k}: moved crate {k * 7 % 31} to bay {k % 9}" for k in range(200))
    blank = "header\n" + "\n" * 60 + "footer\n" + "\n".join(f"row {k}" for k in range(40))
    shuffled = "\n".join(f"item {k * 7 % 20}" if k % 3 else f"new {k}" for k in range(300))
    for text in (verdicts, unique, blank, shuffled):
        out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash"))
        assert "[headroom:" not in out and report.compressor != "repeats", text[:20]


def test_a_traceback_without_carets_is_no_log(tmp_path: Path) -> None:
    """Python 3.10 writes no `^^^^` under a frame: the traceback is all `File "..."` lines, which
    the log sniffer takes, and its templates fold nothing. Its cycles come first."""
    lines = [line for line in _traceback(tmp_path).split("\n") if not line.strip().startswith("^")]
    text = "\n".join(lines)
    assert detect(text).kind == ContentKind.REPEATS
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash"))
    assert report.tokens_after < 0.2 * report.tokens_before and _expand(out) == lines


def test_a_fold_says_again_only_of_lines_the_same_byte_for_byte() -> None:
    """`x` and `x ` (a trailing space) are not the same line: a run alternating them is a cycle
    of two, never "the line above again"; a run of blank CRLF lines is no cycle of written lines."""
    line = "retrying the connection to db-primary.internal:5432 after a refused handshake"
    text = "\n".join(["start", *([line + " ", line] * 40), "end"])
    out, _ = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash"))
    assert "the 2 lines above" in out and _expand(out) == text.split("\n")
