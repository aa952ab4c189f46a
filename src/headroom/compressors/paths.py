"""Lists of file paths (Glob, `find`, `grep -l`, `grep -c`, `git ls-files`, `pip show -f`): one line per directory run.

A path list repeats its directories on every line. Consecutive paths in one directory become
one line, `dir/: a.py, b.py, c.py`, in the order they came, so the list reads the same and
every path can be rebuilt exactly: nothing is dropped, no ref is needed. An indented list keeps
its indentation on the grouped line (`  numpy/: a.py, b.py`). A count after a path
(`grep -c`'s `lib/ast.py:3`) stays with its name: `lib/: ast.py:3, os.py:1`, and so do the
columns before a path that end in a tab (`du -ah`'s size, `git ls-files -s`'s mode and blob):
`src/: 4.0K<tab>a.py, 12K<tab>b.py`. Lines that are not paths (a "Found 12 files" header, a
note) stay where they are.

A test collection (`pytest --collect-only`) is a list of the same kind: its node ids
(`tests/test_api.py::TestX::test_a`, with `-q`) group under their file or class,
`tests/test_api.py::TestX:: test_a, test_b`, and its tree (`<Module test_api.py>` over
`  <Function test_a>` lines) groups each run of siblings, `  <Function test_a, test_b>`.
"""

from __future__ import annotations

import re
from typing import ClassVar

from headroom.compressors.base import Compressed, register
from headroom.segments import ContentKind, Segment

__all__ = ["PathListCompressor", "looks_like_path_list"]

# A path, indented or not (`pip show -f` lists a package's files two spaces in), or after
# columns that end in a tab (`du -ah`'s size, `git ls-files -s`'s mode, blob and stage).
_PATH = re.compile(r"^(?:[ \t]*|(?P<lead>[^\s/][^\t\n/]{0,80}\t))(?:\./|/|~/)?(?:[\w@+.=-]+/)+[\w@+.=-]+(?:/|:\d+)?$")
# A pytest node id: the file (and classes) up to the last `::` before the name's parameters.
_NODE_ID = re.compile(r"(?P<parent>(?:[\w@+.=-]+/)*[\w@+.=-]+\.py(?:::[\w.]+)*::)(?P<name>[\w.]+(?:\[.*\])?)")
# A line of pytest's collection tree: `<Module test_api.py>`, `  <Function test_a[x]>`.
_TREE_ITEM = re.compile(
    r"(?P<parent>[ \t]*<(?:Dir|Package|Module|Class|Function|UnitTestCase|TestCaseFunction|Doctest\w+|Coroutine"
    r"|Instance|File) )(?P<name>[^<>=\"\n]+)>"
)
_MIN_PATHS = 12
_MIN_RUN = 3  # fewer siblings in a row are left as they are: grouping would not pay


def looks_like_path_list(head: str) -> bool:
    lines = [line for line in head.split("\n")[:-1] if line.strip()]  # the last may be cut
    if len(lines) < _MIN_PATHS:
        return False
    paths = sum(1 for line in lines if _PATH.match(line) or _NODE_ID.fullmatch(line) or _TREE_ITEM.fullmatch(line))
    return paths >= 0.9 * len(lines)


def _split(line: str) -> tuple[str, str] | None:
    """(directory with its slash, and the line's indentation before it; name, and the columns
    before the path) of a path line; (the file and classes with their `::`; the test) of a node
    id; (the indentation and `<Kind `; the name) of a collection tree's line; None for anything else."""
    item = _NODE_ID.fullmatch(line) or _TREE_ITEM.fullmatch(line)
    if item is not None:
        return None if ", " in item["name"] else (item["parent"], item["name"])
    found = _PATH.match(line)
    if found is None or line.endswith("/"):
        return None
    lead = found["lead"] or ""
    directory, _, name = line[len(lead) :].rpartition("/")
    if ", " in name or ", " in lead:
        return None  # would make the grouped line ambiguous
    return directory + "/", lead + name


@register(sniffer=looks_like_path_list, sniff_rank=30)
class PathListCompressor:
    name: ClassVar[str] = "paths"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.PATHS})
    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        if segment.numbered:
            # A Read's page: each line carries the number the agent pages by, and a grouped
            # line could carry only one. Nothing to drop, so the page goes as it is.
            return Compressed(segment.text)
        out: list[str] = []
        run_dir: str | None = None
        run: list[str] = []

        def flush() -> None:
            if run_dir is None:
                return
            if len(run) >= _MIN_RUN or (run_dir.endswith((" ", "::")) and len(_with_params_merged(run)) < len(run)):
                out.append(_grouped(run_dir, run))
            else:
                for item in run:  # as it came: its columns, then the path
                    if run_dir.endswith(" "):  # a collection tree's `<Kind `
                        out.append(f"{run_dir}{item}>")
                    elif run_dir.endswith("::"):
                        out.append(f"{run_dir}{item}")
                    else:
                        lead, tab, name = item.rpartition("\t")
                        out.append(f"{lead}{tab}{run_dir}{name}")

        for line in segment.text.split("\n"):
            parts = _split(line)
            if parts is not None and parts[0] == run_dir:
                run.append(parts[1])
                continue
            flush()
            run_dir, run = (parts[0], [parts[1]]) if parts is not None else (None, [])
            if parts is None:
                out.append(line)
        flush()
        return Compressed("\n".join(out), notes={"paths": sum(1 for line in segment.text.split("\n") if _split(line))})


def _grouped(parent: str, names: list[str]) -> str:
    """One line for a run of siblings: `dir/: a.py, b.py`, `tests/t.py:: test_a, test_b`,
    `  <Function test_a, test_b>`."""
    if parent.endswith(" "):  # a collection tree's `<Kind `
        return f"{parent}{', '.join(_with_params_merged(names))}>"
    if parent.endswith("::"):
        return f"{parent} {', '.join(_with_params_merged(names))}"
    return f"{parent}: {', '.join(names)}"


def _with_params_merged(names: list[str]) -> list[str]:
    """A test's parametrized cases in a row as one name: `test_x[a]`, `test_x[b]` ->
    `test_x[a, b]` (no id in a grouped run holds ", ", so the brackets read back exactly)."""
    merged: list[str] = []
    base: str | None = None
    for name in names:
        head, bracket, params = name.partition("[")
        if bracket and params.endswith("]") and head == base:
            merged[-1] = f"{merged[-1][:-1]}, {params}"
            continue
        merged.append(name)
        base = head if bracket and params.endswith("]") else None
    return merged
