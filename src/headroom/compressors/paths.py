"""Lists of file paths (Glob, `find`, `grep -l`, `grep -c`, `git ls-files`, `pip show -f`): one line per directory run.

A path list repeats its directories on every line. Consecutive paths in one directory become
one line, `dir/: a.py, b.py, c.py`, in the order they came, so the list reads the same and
every path can be rebuilt exactly: nothing is dropped, no ref is needed. An indented list keeps
its indentation on the grouped line (`  numpy/: a.py, b.py`). A count after a path
(`grep -c`'s `lib/ast.py:3`) stays with its name: `lib/: ast.py:3, os.py:1`, and so do the
columns before a path that end in a tab (`du -ah`'s size, `git ls-files -s`'s mode and blob):
`src/: 4.0K<tab>a.py, 12K<tab>b.py`. Lines that are not paths (a "Found 12 files" header, a
note) stay where they are.
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
_MIN_PATHS = 12
_MIN_RUN = 3  # fewer siblings in a row are left as they are: grouping would not pay


def looks_like_path_list(head: str) -> bool:
    lines = [line for line in head.split("\n")[:-1] if line.strip()]  # the last may be cut
    if len(lines) < _MIN_PATHS:
        return False
    paths = sum(1 for line in lines if _PATH.match(line))
    return paths >= 0.9 * len(lines)


def _split(line: str) -> tuple[str, str] | None:
    """(directory with its slash, and the line's indentation before it; name, and the columns
    before the path) of a path line; None for anything else."""
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
        out: list[str] = []
        run_dir: str | None = None
        run: list[str] = []

        def flush() -> None:
            if run_dir is None:
                return
            if len(run) >= _MIN_RUN:
                out.append(f"{run_dir}: {', '.join(run)}")
            else:
                for item in run:  # as it came: its columns, then the path
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
