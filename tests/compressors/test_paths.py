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


def _collection(tmp_path: Path, *args: str) -> str:
    """What `pytest --collect-only` prints for a small suite of real test files."""
    import subprocess

    for m in range(4):
        parametrized = "\n@pytest.mark.parametrize('store', ['memory', 'sqlite', 'redis'])\n"
        methods = "".join(f"    def test_{name}_ref(self):\n        pass\n" for name in ("short", "long", "taken"))
        cases = "".join(
            f"{parametrized}def test_round_trip_{k}(store):\n    pass\n\nclass TestRefs{k}:\n{methods}"
            for k in range(6)
        )
        (tmp_path / f"test_module_{m}.py").write_text("import pytest\n" + cases)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider", "-o", "addopts=", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _rebuild_collection(text: str) -> list[str]:
    """The node ids or tree lines a grouped collection stands for."""
    import re

    items: list[str] = []
    for line in text.split("\n"):
        if grouped := re.fullmatch(r"(\S+::) (.+)", line):
            parent, names = grouped.groups()
            items.extend(parent + name for name in _split_params(names))
        elif tree := re.fullmatch(r"(\s*<\w+ )(.+)>", line):
            items.extend(f"{tree[1]}{name}>" for name in _split_params(tree[2]))
        elif line.strip():
            items.append(line)
    return items


def _split_params(names: str) -> list[str]:
    import re

    out: list[str] = []
    for name in re.findall(r"[^,\[\s]+(?:\[[^\]]*\])?", names):
        head, bracket, params = name.partition("[")
        out.extend(f"{head}[{p}]" for p in params[:-1].split(", ")) if bracket else out.append(name)
    return out


def test_a_test_collection_groups_its_tests_under_their_file(tmp_path: Path) -> None:
    """`pytest --collect-only -q`: node ids group under their file or class, a parametrized
    test's cases under its name; every id rebuilds exactly."""
    text = _collection(tmp_path, "-q")
    assert detect(text).kind == ContentKind.PATHS
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text)
    assert report.tokens_after < 0.75 * report.tokens_before
    assert "test_module_2.py:: test_round_trip_3[memory, sqlite, redis]" in out
    assert _rebuild_collection(out) == [line for line in text.split("\n") if line.strip()]


def test_a_collection_tree_groups_siblings_and_is_no_test_run(tmp_path: Path) -> None:
    """`pytest --collect-only` without `-q` prints pytest's banner over a tree of `<Module>`
    and `<Function>` lines: no test ran, so it is no test report but a list of names."""
    text = _collection(tmp_path)
    assert "test session starts" in text
    assert detect(text).kind == ContentKind.PATHS
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text)
    assert report.tokens_after < 0.75 * report.tokens_before
    assert "<Function test_round_trip_0[memory, sqlite, redis]>" in out
    assert _rebuild_collection(out) == [line for line in text.split("\n") if line.strip()]


def test_xml_elements_and_tabs_in_test_ids_stay_as_they_are() -> None:
    """Only pytest's own node kinds make a collection tree (an MSBuild item group is XML), and a
    test id holding a tab is written back as it came."""
    items = "\n".join(f'    <PackageReference Include="Pkg.Name{k}" Version="1.{k}.0" />' for k in range(20))
    assert not looks_like_path_list(f"<ItemGroup>\n{items}\n</ItemGroup>\n")
    ids = ["tests/test_a.py::test_x[a\tb]", "tests/test_a.py::test_y"]
    listing = "\n".join(ids + [f"src/pkg/module_{k}.py" for k in range(20)]) + "\n"
    out, _ = Pipeline(CompressConfig(), MemoryStore()).compress_text(listing, SegmentContext("Bash"))
    assert out.split("\n")[:2] == ids


def test_a_read_page_of_a_collection_keeps_every_line_number(tmp_path: Path) -> None:
    """A saved `pytest --collect-only -q` read back with Read: each line carries the number the
    agent pages by; a grouped line could carry only one, so the page goes as it is."""
    text = _collection(tmp_path, "-q")
    numbered = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.split("\n"), 1))
    path = "/root/.claude/projects/p/tool-results/toolu_1.txt"
    context = SegmentContext("Read", f'{{"file_path": "{path}"}}', "which tests cover refs?", path)
    out, _ = Pipeline(CompressConfig(), MemoryStore()).compress_text(numbered, context)
    assert out == numbered
