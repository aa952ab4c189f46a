"""Path lists group consecutive siblings on one line; every path can be rebuilt exactly."""

from __future__ import annotations

import sys
from pathlib import Path

from headroom.ccr.base import MemoryStore
from headroom.compressors.paths import looks_like_path_list
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext

STDLIB = Path(sys.modules["os"].__file__).parent  # type: ignore[arg-type]


def _rebuild(text: str) -> str:
    lines: list[str] = []
    for line in text.split("\n"):
        if "/: " in line:
            directory, names = line.split("/: ", 1)
            for item in names.split(", "):  # columns before a path end in a tab: `4.0K\ta.py`
                lead, tab, name = item.rpartition("\t")
                lines.append(f"{lead}{tab}{directory}/{name}")
        else:
            lines.append(line)
    return "\n".join(lines)


def test_a_glob_listing_shrinks_and_rebuilds_exactly() -> None:
    paths = [str(p.relative_to(STDLIB.parent)) for p in sorted(STDLIB.glob("[a-e]*/**/*.py"))][:400]
    text = "Found 400 files\n" + "\n".join(paths)
    assert detect(text).kind == ContentKind.PATHS
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Glob"))
    assert report.tokens_after < report.tokens_before * 0.6
    assert report.ref is None  # nothing dropped: no ref needed
    assert _rebuild(out) == text


def test_names_with_a_comma_and_space_stay_on_their_own_line() -> None:
    text = "\n".join([f"src/a/file{i}.py" for i in range(12)] + ["src/a/odd, name.txt", "src/a/z.py"])
    out, _ = Pipeline(CompressConfig(min_tokens=10), MemoryStore()).compress_text(text, SegmentContext("Glob"))
    assert "src/a/odd, name.txt" in out.split("\n")
    assert _rebuild(out) == text


def test_prose_and_log_lines_are_not_path_lists() -> None:
    assert not looks_like_path_list("This is a sentence.\n" * 30)
    assert not looks_like_path_list("2024-01-01 10:00:00 INFO started /srv/app\n" * 30)


def test_grep_counts_stay_with_their_file_names() -> None:
    """`grep -rc timeout lib | grep -v ':0$'`: each path with its count; grouped, every count
    still reads beside its own file."""
    counts = [f"{p.relative_to(STDLIB.parent)}:{len(p.name) % 7 + 1}" for p in sorted(STDLIB.glob("[a-e]*/**/*.py"))][
        :200
    ]
    text = "\n".join(counts)
    assert detect(text).kind == ContentKind.PATHS
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash"))
    assert report.tokens_after < report.tokens_before * 0.8
    assert _rebuild(out) == text
    # A grep with matched text after the number is a search, not a listing.
    assert not looks_like_path_list("\n".join(f"{c}:    timeout = 5" for c in counts))


def test_an_indented_file_list_after_a_header_shrinks_and_rebuilds_exactly() -> None:
    # `pip show -f`: the package's fields, then its files two spaces in.
    files = [f"  {p.relative_to(STDLIB.parent)}" for p in sorted(STDLIB.glob("[a-e]*/**/*.py"))][:200]
    header = "Name: email\nVersion: 3.11\nLocation: /usr/lib/python3\nRequires: \nRequired-by: \nFiles:\n"
    text = header + "\n".join(files) + "\n"
    assert detect(text).kind == ContentKind.PATHS
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext(tool_name="Bash"))
    assert report.compressor == "paths" and report.tokens_after < report.tokens_before * 0.8
    assert out.startswith(header) and f"\n  {STDLIB.name}/asyncio/: __init__.py, " in out
    assert _rebuild(out) == text


def test_columns_before_each_path_stay_with_it(tmp_path: Path) -> None:
    """`du -ah` (a size, a tab, the path) and `git ls-files -s` (mode, blob, stage, a tab, the
    path): grouped by directory, each name keeps its own columns, and the lines rebuild exactly."""
    import shutil
    import subprocess

    tree = tmp_path / "lib"
    shutil.copytree(STDLIB / "email", tree / "email")
    shutil.copytree(STDLIB / "json", tree / "json")
    du = subprocess.run(["du", "-ah", "lib"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "lib"], cwd=tmp_path, check=True)
    staged = subprocess.run(["git", "ls-files", "-s"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    for text, saved in ((du, 0.85), (staged, 0.95)):  # 40-hex blobs are most of a staged line
        assert len(text.split("\n")) > 40 and "\t" in text
        assert detect(text).kind == ContentKind.PATHS
        out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash"))
        assert report.tokens_after < report.tokens_before * saved
        assert _rebuild(out) == text
