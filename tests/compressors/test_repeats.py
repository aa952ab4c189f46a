"""Unrecognised text whose lines keep coming back: a real traceback of mutual recursion."""

from __future__ import annotations

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


def test_a_traceback_of_mutual_recursion_folds_its_repeats(tmp_path: Path) -> None:
    text = _traceback(tmp_path)
    lines = text.split("\n")
    assert len(lines) > 300 and detect(text).kind == ContentKind.TEXT
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(
        text, SegmentContext("Bash", None, "why does it crash?")
    )
    assert report.compressor == "repeats" and report.tokens_after < 0.2 * report.tokens_before
    kept = out.split("\n")
    # Every distinct line is still shown, the first frames and the last ones before the error
    # in place, and the marker names the lines it stands for.
    assert set(lines) <= set(kept) | {""}
    assert kept[:12] == lines[:12] and kept[-10:] == lines[-10:]
    (marker,) = [line for line in kept if line.startswith("[headroom:")]
    first, last = map(int, re.search(r"lines (\d+)-(\d+)", marker).groups())  # type: ignore[union-attr]
    assert kept == [*lines[: first - 1], marker, *lines[last:]]
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text
    assert Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash"))[0] == out


def test_text_without_long_runs_of_repeats_passes_as_before() -> None:
    unique = "\n".join(f"step {k}: moved crate {k * 7 % 31} to bay {k % 9}" for k in range(200))
    blank = "header\n" + "\n" * 60 + "footer\n" + "\n".join(f"row {k}" for k in range(40))
    shuffled = "\n".join(f"item {k % 20}" if k % 3 else f"new {k}" for k in range(300))  # no run of 24 repeats
    for text in (unique, blank, shuffled):
        out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash"))
        assert "[headroom:" not in out and report.compressor == "passthrough", text[:20]
