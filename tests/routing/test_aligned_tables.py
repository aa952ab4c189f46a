"""Command outputs laid out in space-aligned columns route as tables; aligned text that is not
a table of records (logs, code, prose, search hits, a hex dump) keeps its route."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.pipeline import Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext
from tests.factories import unpadded

STDLIB = Path(json.__file__).parent.parent
_LINES = re.compile(r"\(?lines? (\d+)(?:-(\d+))?")


def _output(args: list[str]) -> str:
    if shutil.which(args[0]) is None:
        pytest.skip(f"{args[0]} is not installed here")
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or not result.stdout.strip():
        pytest.skip(f"{' '.join(args)} gave nothing")
    return result.stdout


def _compress(text: str, tool: str = "Bash", query: str | None = None) -> tuple[str, MemoryStore]:
    store = MemoryStore()
    out, _ = Pipeline(store=store).compress_text(text, SegmentContext(tool, None, query))
    return out, store


def _check_lossless(text: str, out: str, store: MemoryStore) -> None:
    """Every output line is a line of the input or a marker, in order; the ref gives it all back."""
    lines = text.split("\n")
    at = 0
    for line in out.split("\n"):
        if line.startswith("[headroom:"):
            continue
        at = lines.index(line, at) + 1
    for ref in find_refs(out):
        assert retrieve(store, ref).text == text


def _ls_lar() -> str:
    return _output(["ls", "-laR", str(STDLIB / "email"), str(STDLIB / "json"), str(STDLIB / "logging")])


def test_ls_lar_keeps_every_directory_and_names_every_dropped_file() -> None:
    text = _ls_lar()
    assert detect(text).kind == ContentKind.TABLE
    out, store = _compress(text)
    assert len(out) < 0.7 * len(text)
    _check_lossless(text, out, store)
    for line in text.split("\n"):
        if line.endswith(":") or line.startswith("total "):
            assert line in out  # each directory's heading stays
    names = {line.split()[-1] for line in text.split("\n") if line[:1] in "-dl" and len(line.split()) >= 9}
    assert all(name in out for name in names)  # a dropped row is still named in its marker


def test_a_numbered_read_of_ls_output_keeps_its_numbers() -> None:
    text = _ls_lar()
    numbered = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.split("\n"), 1))
    out, store = _compress(numbered, tool="Read")
    lines = numbered.split("\n")
    for line in out.split("\n"):
        if line.startswith("[headroom:"):
            match = _LINES.search(line)
            assert match is not None
            first = int(match.group(1))
            (ref,) = find_refs(line)
            assert retrieve(store, ref, lines=f"{first}-{first}").text == lines[first - 1]
        else:
            number = int(line.split("\t", 1)[0])
            assert unpadded(lines[number - 1]) == line


def test_ps_aux_is_a_table_whose_dropped_processes_stay_named() -> None:
    text = _output(["ps", "aux"])
    assert detect(text).kind == ContentKind.TABLE
    out, store = _compress(text)
    _check_lossless(text, out, store)
    assert out.split("\n")[0] == text.split("\n")[0]  # the header
    if len(text.split("\n")) > 80:
        assert len(out) < len(text)
        dropped = [line for line in text.split("\n") if line.strip() and line not in out.split("\n")]
        for line in dropped:  # named by its command (cut short), beside its PID where commands repeat
            assert line.split(None, 10)[10][:30] in out


def test_dpkg_list_keeps_its_legend_and_the_packages_asked_about() -> None:
    text = _output(["dpkg", "-l"])
    assert detect(text).kind == ContentKind.TABLE
    package = text.split("\n")[len(text.split("\n")) // 2].split()[1]
    out, store = _compress(text, query=f"which version of {package} is installed?")
    _check_lossless(text, out, store)
    assert len(out) < 0.5 * len(text)
    assert text.split("\n")[:5] == out.split("\n")[:5]
    assert any(line.split()[1:2] == [package] for line in out.split("\n"))


def test_pip_list_with_its_rule_line_is_a_table() -> None:
    text = subprocess.run([sys.executable, "-m", "pip", "list"], capture_output=True, text=True, timeout=120).stdout
    if len(text.split("\n")) < 10:
        pytest.skip("too few packages installed")
    assert detect(text).kind == ContentKind.TABLE


def _aligned_log() -> str:
    levels = ["INFO ", "DEBUG", "WARN ", "INFO "]
    return "\n".join(
        f"2024-05-01 12:{n // 60:02d}:{n % 60:02d}  {levels[n % 4]}  worker-{n % 7}  job {n:>5} done in {n % 300:>4} ms"
        for n in range(200)
    )


def _hex_dump() -> str:
    data = Path(json.__file__).read_bytes()[:4000]
    rows = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        groups = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        rows.append(f"{offset:08x}: {groups:<39}  {''.join(chr(b) if 32 <= b < 127 else '.' for b in chunk)}")
    return "\n".join(rows)


def _sentence_template() -> str:
    """Words one space apart at fixed offsets, no padding: a line template (logs without time
    stamps), though its words line up like columns."""
    return "\n".join(f"worker {i % 3} finished job {i} in {i % 7} ms" for i in range(400))


def _grep_hits() -> str:
    hits = []
    for path in sorted((STDLIB / "json").glob("*.py")):
        for n, line in enumerate(path.read_text().split("\n"), 1):
            if "def " in line:
                hits.append(f"{path}:{n}:{line}")
    return "\n".join(hits)


@pytest.mark.parametrize(
    ("name", "make", "kinds"),
    [
        ("aligned log", _aligned_log, {ContentKind.LOGS}),
        ("hex dump", _hex_dump, {ContentKind.TEXT, ContentKind.BINARY}),
        ("grep hits", _grep_hits, {ContentKind.SEARCH}),
        ("sentence template", _sentence_template, None),
        ("prose", lambda: (STDLIB / "LICENSE.txt").read_text() if (STDLIB / "LICENSE.txt").exists() else "", None),
    ],
)
def test_aligned_text_that_is_not_a_table_keeps_its_route(
    name: str, make: object, kinds: set[ContentKind] | None
) -> None:
    assert callable(make)
    text = make()
    if not text:
        pytest.skip(f"no {name} here")
    kind = detect(text).kind
    assert kind != ContentKind.TABLE
    if kinds is not None:
        assert kind in kinds


@pytest.mark.parametrize("module", ["argparse", "typing", "inspect", "dataclasses", "enum", "tokenize", "locale"])
def test_source_files_are_not_tables(module: str) -> None:
    text = (STDLIB / f"{module}.py").read_text()
    for start in range(0, min(len(text), 120_000), 8_000):  # every part, as a ranged read would show it
        assert detect(text[start:], None).kind != ContentKind.TABLE


ALIGNED_DOCSTRING = '''"""Codes this module maps.

    ==========  =======  ===========================
    name        code     meaning
    ==========  =======  ===========================
    OK          200      request fulfilled
    CREATED     201      resource created
    ACCEPTED    202      queued for processing
    NOT_FOUND   404      nothing matches the URI
    GONE        410      removed for good
    ==========  =======  ===========================
"""

def lookup(code):
    return CODES[code]
'''


def test_a_source_file_with_an_aligned_table_in_its_docstring_stays_code() -> None:
    assert detect(ALIGNED_DOCSTRING).kind == ContentKind.TABLE  # without a path, it reads as one
    assert detect(ALIGNED_DOCSTRING, "pkg/codes.py").kind == ContentKind.CODE


def test_an_rst_simple_table_is_not_a_test_report() -> None:
    rst = "\n".join(
        [
            "Iris plants dataset",
            "--------------------",
            "",
            "**Data Set Characteristics:**",
            "",
            "============== ==== ==== ======= ===== ====================",
            "                Min  Max   Mean    SD   Class Correlation",
            "============== ==== ==== ======= ===== ====================",
            "sepal length:   4.3  7.9   5.84   0.83    0.7826",
            "sepal width:    2.0  4.4   3.05   0.43   -0.4194",
            "============== ==== ==== ======= ===== ====================",
            "",
            "The famous Iris database, first used by Sir R.A. Fisher. The dataset is taken from",
            "Fisher's paper. Note that it's the same as in R, but not as in the UCI Machine",
            "Learning Repository, which has two wrong data points.",
        ]
    )
    assert detect(rst).kind != ContentKind.LOGS
