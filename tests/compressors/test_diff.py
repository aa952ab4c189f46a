"""Diff compressor: headers and changes stay, unchanged runs and generated files go."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import MARKER_PREFIX, find_refs, has_marker
from headroom.ccr.retrieval import retrieve
from headroom.compressors.diff import DiffCompressor, DiffOptions, is_generated_path, looks_like_diff
from headroom.pipeline import Pipeline
from headroom.segments import ContentKind, Segment, SegmentContext
from headroom.tokens import count_tokens

FIXTURES = Path(__file__).parent.parent / "fixtures" / "diff"
REPO = Path(__file__).resolve().parent.parent.parent
COMPRESSOR = DiffCompressor()
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def compress(text: str, options: DiffOptions | None = None):
    segment = Segment(text, kind=ContentKind.DIFF)
    return (DiffCompressor(options) if options else COMPRESSOR).compress(segment), segment


def hunk_counts_hold(text: str) -> None:
    """Every `@@` header in `text` counts exactly the body lines that follow it (a header
    followed by a marker is a collapsed hunk)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = HUNK.match(line)
        if not m or (i + 1 < len(lines) and lines[i + 1].startswith(MARKER_PREFIX)):
            continue
        old = int(m[2]) if m[2] is not None else 1
        new = int(m[4]) if m[4] is not None else 1
        j = i + 1
        while j < len(lines) and lines[j][:1] in (" ", "+", "-", "\\") and not lines[j].startswith("diff "):
            if lines[j].startswith(("--- ", "+++ ")) and old == 0 and new == 0:
                break
            tag = lines[j][:1]
            old -= tag in " -"
            new -= tag in " +"
            j += 1
            if old == 0 and new == 0:
                break
        assert (old, new) == (0, 0), f"hunk at line {i} miscounted: {line}"


# --- multi-file git diff -----------------------------------------------------------------


def test_multi_file_diff_keeps_changes_and_collapses_the_rest() -> None:
    text = fixture("multi_file.diff")
    assert looks_like_diff(text)
    result, segment = compress(text)
    out = result.text
    assert result.lossy
    assert set(find_refs(out)) == {segment.ref}
    # Real changes with their headers, verbatim.
    for line in [
        "diff --git a/src/app/client.py b/src/app/client.py",
        "--- a/src/app/client.py",
        "+++ b/src/app/client.py",
        "@@ -218,3 +218,4 @@ def _read_headers(fp):",
        "-_MAXHEADERS = 100",
        "+_MAXHEADERS = 200",
        '+                "got more than %d headers (limit is configurable)" % _MAXHEADERS)',
        "+    '''Create a queue object with a given maximum size (0 means unbounded).",
        "+def dedent(text, *, keep_tabs=False):",
    ]:
        assert line in out.split("\n")
    # One line of context each side; the rest of the hunk (git's -U3) is named by its lines.
    assert "[headroom: unchanged lines 22-23, 29-30 folded]" in out.split("\n")  # lines of the diff itself
    assert "         if line in (b'\\r\\n', b'\\n', b''):" in out.split("\n")
    assert "         headers.append(line)" not in out.split("\n")
    # Generated files: one marker line each, no content.
    assert "package-lock.json: generated file" in out
    assert "dist/bundle.min.js: generated file" in out
    assert "integrity" not in out and "!function" not in out
    # Pure rename: one line.
    assert "renamed src/app/old_shlex.py -> src/app/shlex.py (100% similar)" in out
    assert "rename from" not in out
    # Whitespace-only hunks: header plus marker, the reindented line is gone.
    assert "whitespace-only change (-1 +1 lines) omitted" in out
    assert "def  _munge_whitespace(self,  text):" not in out
    assert count_tokens(out) < 0.2 * count_tokens(text)
    hunk_counts_hold(out)


def test_long_context_is_trimmed_with_correct_hunk_headers() -> None:
    # The same change made with -U12: trimming to 3 lines of context must give exactly the
    # hunk headers git prints with the default -U3, function-name headings included.
    wide = fixture("multi_file_u12.diff")
    result, _ = compress(wide, DiffOptions(context=3, min_gap=4))
    out = result.text.split("\n")
    assert "@@ -109,7 +109,7 @@ responses = {v: v.phrase for v in http.HTTPStatus.__members__.values()}" in out
    assert "@@ -216,7 +216,8 @@ def _read_headers(fp):" in out
    assert "@@ -26,7 +26,7 @@ class Full(Exception):" in out
    default = fixture("multi_file.diff").split("\n")

    def client_section(lines: list[str]) -> list[str]:
        start = lines.index("diff --git a/src/app/client.py b/src/app/client.py")
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("diff --git", "[headroom: ren")))
        return [line for line in lines[start:end] if not line.startswith(MARKER_PREFIX)]

    assert client_section(out) == client_section(default)
    hunk_counts_hold(result.text)


def test_middle_gap_splits_the_hunk() -> None:
    body = [f" line {n}" for n in range(1, 41)]
    body[4] = "-old five"
    body.insert(5, "+new five")
    body[35] = "-old thirty-five"
    body.insert(36, "+new thirty-five")
    text = "\n".join(["diff --git a/f.txt b/f.txt", "--- a/f.txt", "+++ b/f.txt", "@@ -1,40 +1,40 @@ top", *body])
    result, _ = compress(text)
    headers = [x for x in result.text.split("\n") if x.startswith("@@")]
    # The second header names the last unindented line above it, as git does.
    assert headers == ["@@ -4,3 +4,3 @@ line 3", "@@ -34,3 +34,3 @@ line 33"]
    assert "[headroom: unchanged lines 5-7, 12-38, 43-46 folded · ref=" in result.text
    assert "-old five" in result.text and "+new thirty-five" in result.text
    assert " line 20" not in result.text
    hunk_counts_hold(result.text)


# --- git log -p: commits, new/deleted/binary/mode ----------------------------------------


def test_git_log_keeps_commits_and_collapses_deleted_and_binary() -> None:
    text = fixture("git_log_p.diff")
    assert looks_like_diff(text)
    result, _ = compress(text)
    out = result.text
    lines = out.split("\n")
    for kept in [
        "commit d5be0d73472081cdedf7b2c77addf4fc2d96731c",
        "commit 6836db01ed456ce767cd10b897f89a09195acaeb",
        "    Add retry helper, drop vendored queue, add logo",
        "    Raise header limit, reformat textwrap, bump deps",
        " 4 files changed, 17 insertions(+), 326 deletions(-)",
        "old mode 100644",
        "new mode 100755",
        "GIT binary patch",
        "+def retry(func, attempts=DEFAULT_ATTEMPTS, backoff=BACKOFF_FACTOR):",
        "+            time.sleep(backoff * (2 ** attempt))",
    ]:
        assert kept in lines
    assert "src/app/queue.py deleted: its 326 lines omitted" in out
    assert "deleted file mode 100644" not in lines  # the summary line stands for the whole section
    assert "-class Queue:" not in lines
    assert "binary patch data for web/logo.png" in out
    assert "literal 608" not in out
    assert count_tokens(out) < 0.25 * count_tokens(text)
    hunk_counts_hold(out)


def test_huge_added_block_keeps_head_and_tail() -> None:
    added = [f"+row {n}" for n in range(1, 1001)]
    text = "\n".join(
        ["diff --git a/data.txt b/data.txt", "--- a/data.txt", "+++ b/data.txt", "@@ -0,0 +1,1000 @@", *added]
    )
    result, _ = compress(text)
    assert "+row 1" in result.text and "+row 80" in result.text and "+row 1000" in result.text
    assert "+row 500" not in result.text
    # The marker names the diff lines it folds (rows 81-980 are lines 85-984 of the diff).
    assert "[headroom: lines 85-984 folded: 900 changed lines (+900 -0)" in result.text


def _history(commits: list[tuple[str, list[str], list[str]]]) -> str:
    """A `git log -p` of one file: per commit (subject, removed lines, added lines), one hunk."""
    out: list[str] = []
    for n, (subject, removed, added) in enumerate(commits):
        out += [f"commit {n:040x}", "Author: A U Thor <author@example.com>", "Date:   Mon Dec 1 10:00:00 2026 +0000"]
        out += ["", f"    {subject}", "", "diff --git a/prices.md b/prices.md", "index 1111111..2222222 100644"]
        out += ["--- a/prices.md", "+++ b/prices.md", f"@@ -3,{len(removed) + 1} +3,{len(added) + 1} @@"]
        out += [" | model | input | output |", *("-" + r for r in removed), *("+" + a for a in added)]
    return "\n".join(out)


def test_a_history_of_several_commits_keeps_the_ends_of_each_long_side_of_a_change() -> None:
    """`git log -p` is read for what changed: a table rewritten by each commit keeps the first and
    last rows of what was removed and of what was added, the rest behind a marker naming its diff
    lines. One commit (`git show`) is a change to review: every line stays."""
    old = [f"| model_{k} | {k * 3} | {k * 7} |" for k in range(40)]
    new = [f"| model_{k} | {k * 3 + 1} | {k * 7 + 2} |" for k in range(40)]
    text = _history([("Reprice the models", old, new), ("Add notes", ["| note |"], ["| note, revised |"])])
    result, segment = compress(text)
    out = result.text
    assert result.lossy and find_refs(out)[0] == segment.ref
    for kept in (old[0], old[7], old[36], old[39], new[0], new[7], new[36], new[39]):
        assert kept in out
    assert old[20] not in out and new[20] not in out
    assert "-| note |" in out and "+| note, revised |" in out  # short sides stay whole
    assert out.count("folded: 28 changed lines (+0 -28)") == 1 and out.count("folded: 28 changed lines (+28 -0)") == 1
    assert "commit 0000000000000000000000000000000000000001" in out and "    Add notes" in out
    hunk_counts_hold(out)
    store = MemoryStore()  # each marker's lines retrieve exactly the lines it folded
    piped, _ = Pipeline(store=store).compress_text(text, kind=ContentKind.DIFF)
    spans = re.findall(r"\[headroom: lines (\d+)-(\d+) folded: 28 changed lines \(\+(\d+) -(\d+)\)", piped)
    assert len(spans) == 2
    for first, last, adds, dels in spans:
        got = retrieve(store, find_refs(piped)[0], lines=f"{first}-{last}").text.split("\n")
        assert got == text.split("\n")[int(first) - 1 : int(last)]
        assert sum(x[:1] == "+" for x in got) == int(adds) and sum(x[:1] == "-" for x in got) == int(dels)
    single = _history([("Reprice the models", old, new)])
    assert compress(single)[0].text == single
    # A side that names what the user asks about stays whole.
    named = DiffCompressor().compress(
        Segment(text, SegmentContext(user_query="what did the reprice do to model_20?"), kind=ContentKind.DIFF)
    )
    assert old[20] in named.text and new[20] in named.text


# --- what stays untouched ----------------------------------------------------------------


def test_small_diff_is_returned_byte_for_byte() -> None:
    # Trailing whitespace on a context line is kept: in a diff it can be the point.
    text = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n a = 1   \n-b = 2\n+b = 3\n c = 4\n"
    result, _ = compress(text)
    assert result.text == text
    assert not result.lossy


def test_lossy_result_offers_the_exact_original_as_lossless_text() -> None:
    text = fixture("multi_file.diff")
    result, _ = compress(text)
    assert result.lossless_text == text


def test_deterministic() -> None:
    text = fixture("git_log_p.diff")
    assert compress(text)[0].text == compress(text)[0].text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a diff at all\njust text",
        "@@ -1,5 +1,5 @@\n-a\n",  # hunk shorter than its header says
        "@@ -x +y @@\n+foo",
        "diff --git a/x b/x\nGIT binary patch\nliteral 3\nzcmV\n",
        "\x00\x01binary\xff\n--- a\n+++ b\n",
        "--- a/x\n+++ b/x\n@@@ -1,2 -1,2 +1,2 @@@\n- a\n+ b\n",  # combined diff: left alone
    ],
)
def test_odd_input_never_raises_or_grows(text: str) -> None:
    result, _ = compress(text)
    assert count_tokens(result.text) <= count_tokens(text)
    if not result.lossy:
        assert result.text == text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["diff --git a/a b/a", "--- a/a", "+++ b/a", "@@ -1,3 +1,4 @@", "@@ -5 +5,0 @@", "--"]),
            st.tuples(st.sampled_from(" +-\\"), st.text(max_size=20)).map(lambda t: t[0] + t[1].replace("\n", "")),
        ),
        max_size=80,
    )
)
def test_never_raises_never_grows(lines: list[str]) -> None:
    text = "\n".join(lines)
    result, segment = compress(text)
    assert count_tokens(result.text) <= count_tokens(text)
    if result.lossy:
        assert set(find_refs(result.text)) == {segment.ref}
    else:
        assert not has_marker(result.text)


_CODE_LINES = [
    "def f(x):",
    "    return x + 1",
    "class Box:",
    "    def get(self):",
    '        """Return it."""',
    "        return self.value",
    "",
    "| row | 1 |",
    "    if x > 2:",
    "        raise ValueError('x')",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(_CODE_LINES), max_size=40),
            st.lists(st.sampled_from(_CODE_LINES), max_size=70),
            st.lists(st.sampled_from(_CODE_LINES), max_size=3),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_histories_of_code_changes_never_raise_grow_or_miscount(
    commits: list[tuple[list[str], list[str], list[str]]],
) -> None:
    """Commits of a Python file (one, as `git show`, or several, as `git log -p`): removed and
    added runs of any length, code or not, outlined or cut, always under true `@@` counts."""
    out: list[str] = []
    for n, (removed, added, context) in enumerate(commits):
        out += [f"commit {n:040x}", "Author: A <a@b>", "", "    change", ""]
        out += ["diff --git a/m.py b/m.py", "--- a/m.py", "+++ b/m.py"]
        out += [f"@@ -1,{len(context) + len(removed)} +1,{len(context) + len(added)} @@"]
        out += [" " + c for c in context] + ["-" + r for r in removed] + ["+" + a for a in added]
    text = "\n".join(out)
    result, segment = compress(text)
    assert count_tokens(result.text) <= count_tokens(text)
    hunk_counts_hold(result.text)
    if result.lossy:
        assert set(find_refs(result.text)) == {segment.ref}
    else:
        assert result.text == text


# --- sniffer and helpers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n",
        "@@ -10,3 +10,4 @@ def f():\n a\n+b\n c\n",
        "diff --git a/old b/new\nsimilarity index 100%\nrename from old\nrename to new\n",
        "commit abc\nAuthor: a <a@b>\nDate:   today\n\n    msg\n\n"
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
    ],
)
def test_sniffer_accepts_diffs(text: str) -> None:
    assert looks_like_diff(text)


@pytest.mark.parametrize(
    "text",
    [
        "---\ntitle: Post\n---\n\nSome markdown text here.\n",
        "Intro paragraph.\n\n---\n\nAnother paragraph with + and - signs.\n",
        "src/a.py:10:def f():\nsrc/a.py-11-    pass\n",
        "2015-07-29 17:41:44,747 - INFO  [main] - started\n" * 3,
        "Here is the patch:\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n" + "and a long explanation of it\n" * 10,
        "",
    ],
)
def test_sniffer_rejects_other_text(text: str) -> None:
    assert not looks_like_diff(text)


@pytest.mark.parametrize(
    ("path", "generated"),
    [
        ("web/package-lock.json", True),
        ("yarn.lock", True),
        ("poetry.lock", True),
        ("Cargo.lock", True),
        ("go.sum", True),
        ("static/app.min.js", True),
        ("dist/index.js", True),
        ("pkg/api.pb.go", True),
        ("src/app/client.py", False),
        ("docs/distribution.md", False),
        ("src/lockfile.py", False),
    ],
)
def test_generated_paths(path: str, generated: bool) -> None:
    assert is_generated_path(path) is generated


# --- one line of context, task names, new files --------------------------------------------


def _file_diff(path: str, old: list[str], new: list[str], hunk: str) -> str:
    return "\n".join(["diff --git a/" + path + " b/" + path, "--- a/" + path, "+++ b/" + path, hunk, *old, *new])


def test_context_the_task_names_stays() -> None:
    before = [f"     step_{n} = prepare(step_{n - 1}, factor={n})" for n in range(1, 7)]
    after = [f"     report_{n} = summarize(report_{n - 1}, width={n})" for n in range(1, 7)]
    before[2] = "     total = compute_checksum(data, seed=42)"
    body = [*before, "-    return x", "+    return x + 1", *after]
    text = "\n".join(["diff --git a/m.py b/m.py", "--- a/m.py", "+++ b/m.py", "@@ -10,13 +10,13 @@", *body])
    plain, _ = compress(text)
    assert "     total = compute_checksum(data, seed=42)" not in plain.text.split("\n")
    assert "unchanged lines 5-9, 14-18 folded" in plain.text
    named = DiffCompressor().compress(
        Segment(text, SegmentContext(user_query="why did compute_checksum change?"), kind=ContentKind.DIFF)
    )
    assert named.text == text  # the hunk keeps all its context: nothing else to drop


def _new_file_diff(path: str, source: str) -> str:
    lines = source.split("\n")
    return "\n".join(
        [f"diff --git a/{path} b/{path}", "new file mode 100644", "index 0000000..1111111", "--- /dev/null"]
        + [f"+++ b/{path}", f"@@ -0,0 +1,{len(lines)} @@"]
        + ["+" + line for line in lines]
    )


def shown_lines_are_true(out: str, new_file: list[str]) -> int:
    """Every `+`/` ` line under each `@@` header of a one-file output is the new file's line at
    the number the header gives. Returns how many lines were checked."""
    checked = 0
    number = 0
    for line in out.split("\n"):
        m = HUNK.match(line)
        if m:
            number = int(m[3])
        elif line[:1] in ("+", " ") and not line.startswith("+++ ") and number:
            assert line[1:] == new_file[number - 1], f"line {number} is not what the header says"
            number += 1
            checked += 1
    return checked


def test_new_source_file_is_outlined_under_true_headers() -> None:
    pytest.importorskip("tree_sitter_python")
    functions = [
        f"def step_{n}(values, factor={n}):\n"
        f'    """Scale the values by step {n}."""\n'
        + "".join(f"    values = [v * factor + {k} for v in values if v % {k + 2}]\n" for k in range(12))
        + "    return values\n"
        for n in range(8)
    ]
    source = "import math\n\n\n" + "\n\n".join(functions)
    text = _new_file_diff("pkg/steps.py", source)
    result, segment = compress(text)
    out = result.text
    assert result.lossy and find_refs(out) == [segment.ref]
    assert count_tokens(out) < 0.5 * count_tokens(text)
    for n in range(8):  # every signature and docstring first line stays
        assert f"+def step_{n}(values, factor={n}):" in out.split("\n")
    assert re.search(r"\[headroom: lines \d+-\d+ folded", out)
    assert shown_lines_are_true(out, source.split("\n")) > 16
    hunk_counts_hold(out)


def test_new_file_in_an_unknown_language_is_left_to_the_plain_rules() -> None:
    text = _new_file_diff("notes/data.txt", "\n".join(f"row {n}" for n in range(60)))
    result, _ = compress(text)
    assert result.text == text


def _method(name: str, rows: int = 12) -> list[str]:
    """A method of a class, as it sits in its file (indented), with a body worth folding."""
    return [
        f"    def {name}(self, values, factor=2):",
        f'        """Scale the values for {name}."""',
        *(f"        values = [v * factor + {k} for v in values if v % {k + 2}]" for k in range(rows)),
        "        return values",
        "",
    ]


def _changed_file_diff(path: str, context: list[str], removed: list[str], added: list[str]) -> str:
    """One hunk of a changed file: `context`, then `removed` lines replaced by `added` ones."""
    old, new = len(context) + len(removed), len(context) + len(added)
    return "\n".join(
        [f"diff --git a/{path} b/{path}", "index 1111111..2222222 100644", f"--- a/{path}", f"+++ b/{path}"]
        + [f"@@ -10,{old} +10,{new} @@ class Scaler:"]
        + [" " + line for line in context]
        + ["-" + line for line in removed]
        + ["+" + line for line in added]
    )


def test_methods_added_to_a_changed_file_are_outlined() -> None:
    """A long run of lines added to a file (here three methods of a class, indented as they
    are in it) folds like a new file's: signatures and docstrings stay, bodies go to markers
    naming the diff lines they fold and the new file's line where they start."""
    pytest.importorskip("tree_sitter_python")
    added = [*_method("first"), *_method("second"), *_method("third")]
    text = _changed_file_diff("pkg/scale.py", ["    limit = 4", ""], [], added)
    result, segment = compress(text)
    out = result.text
    assert result.lossy and find_refs(out) == [segment.ref]
    assert result.notes["added_lines_folded"] > 30
    for name in ("first", "second", "third"):
        assert f"+    def {name}(self, values, factor=2):" in out.split("\n")
        assert f'+        """Scale the values for {name}."""' in out.split("\n")
    assert "values = [v * factor + 7 for v" not in out
    folds = re.findall(r"\[headroom: lines (\d+)-(\d+) folded \(added at line (\d+)\)", out)
    assert len(folds) == 3
    text_lines = text.split("\n")
    for first, last, at in folds:  # the diff's own lines, all added, at that line of the new file
        assert all(line.startswith("+        ") for line in text_lines[int(first) - 1 : int(last)])
        assert text_lines[int(first) - 1][1:] == added[int(at) - 10 - 2]
    hunk_counts_hold(out)
    assert count_tokens(out) < 0.5 * count_tokens(text)


def test_a_rewrite_and_a_named_method_stay_whole_in_a_changed_file() -> None:
    """Added lines that replace more than a few removed ones are a rewrite: the reader compares
    old and new, so both stay. A method the user names keeps its body."""
    pytest.importorskip("tree_sitter_python")
    rewrite = _changed_file_diff("pkg/scale.py", ["    limit = 4"], _method("first", 6), _method("first", 12))
    assert compress(rewrite)[0].text == rewrite
    added = [*_method("first"), *_method("second")]
    text = _changed_file_diff("pkg/scale.py", ["    limit = 4"], [], added)
    named = DiffCompressor().compress(
        Segment(text, SegmentContext(user_query="what does second() do now?"), kind=ContentKind.DIFF)
    )
    second = text.index("+    def second(")
    assert text[second:] in named.text  # its whole body, to the end of the hunk
    assert "values = [v * factor + 7 for v" in named.text  # the second method's own row 7
    assert named.text.count("values = [v * factor + 7 for v") == 1  # the first method's is folded


def test_options_can_turn_new_file_outlines_off() -> None:
    pytest.importorskip("tree_sitter_python")
    source = "\n".join(f"def f{n}(x):\n" + "\n".join(f"    x = x * {k} + {n}" for k in range(10)) for n in range(6))
    text = _new_file_diff("pkg/f.py", source)
    assert compress(text, DiffOptions(fold_new_files=False))[0].text == text


# --- real diffs from this repository's history ----------------------------------------------


def _git(*args: str) -> str:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    try:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True)
    except subprocess.CalledProcessError:
        pytest.skip("no git history here")
    if not done.stdout.strip():
        pytest.skip("no such commit in this history")
    return done.stdout


def _commit_touching(diff_filter: str, path: str) -> str:
    return _git("log", f"--diff-filter={diff_filter}", "--format=%H", "-n", "1", "--", path).split()[0]


def _changes(text: str) -> list[str]:
    return [x for x in text.split("\n") if x[:1] in ("+", "-") and not x.startswith(("+++ ", "--- "))]


def test_real_commit_modifying_a_file_keeps_every_change_under_true_headers() -> None:
    path = "src/headroom/compressors/diff.py"
    sha = _commit_touching("M", path)
    text = _git("show", "--format=", sha, "--", path)
    result, segment = compress(text)
    out = result.text
    assert result.lossy and find_refs(out)[0] == segment.ref
    removed = [x for x in _changes(text) if x[0] == "-"]
    assert [x for x in _changes(out) if x[0] == "-"] == removed  # every removed line, in order
    if "(added at line" not in out:  # a long added run may be outlined: else every change stays
        assert _changes(out) == _changes(text)
    assert shown_lines_are_true(out, _git("show", f"{sha}:{path}").split("\n")) == len(
        [x for x in out.split("\n") if x[:1] in (" ", "+") and not x.startswith("+++ ")]
    )
    # A piece git did not print as such starts and ends with at most one unchanged line.
    original_headers = {x for x in text.split("\n") if HUNK.match(x)}
    pieces = re.split(r"\n(?=@@ )", out)[1:]
    trimmed = [p.split("\n") for p in pieces if p.split("\n")[0] not in original_headers]
    assert trimmed
    for piece in trimmed:
        body = [x for x in piece[1:] if x[:1] in (" ", "+", "-")]
        body = body[: next((i for i, x in enumerate(body) if x.startswith("diff ")), len(body))]
        lead = next(i for i, x in enumerate(body) if x[:1] != " ")
        tail = next(i for i, x in enumerate(reversed(body)) if x[:1] != " ")
        assert lead <= 1 and tail <= 1, piece[0]
    hunk_counts_hold(out)
    assert count_tokens(out) < count_tokens(text)


def test_real_commit_adding_a_source_file_outlines_it() -> None:
    pytest.importorskip("tree_sitter_python")
    path = "src/headroom/compressors/diff.py"
    sha = _commit_touching("A", path)
    text = _git("show", sha)
    result, _ = compress(text)
    out = result.text
    assert result.lossy
    # The commit header stays as git printed it.
    header = text[: text.index("\ndiff --git")]
    assert out.startswith(header)
    section = out[out.index(f"diff --git a/{path}") :]
    section = section[: section.find("\ndiff --git", 1) if "\ndiff --git" in section[1:] else len(section)]
    assert "+class DiffCompressor:" in section.split("\n")
    assert re.search(r"\[headroom: lines \d+-\d+ folded", section)
    added = _git("show", f"{sha}:{path}").split("\n")
    assert shown_lines_are_true(section, added) > 50
    hunk_counts_hold(out)
    assert count_tokens(out) < 0.7 * count_tokens(text)


def test_real_git_log_p_keeps_every_commit_header() -> None:
    text = _git("log", "-p", "-n", "4", "--", "src/headroom/compressors")
    result, _ = compress(text)
    out = result.text.split("\n")
    in_header = False
    headers = 0
    for line in text.split("\n"):
        in_header = line.startswith("commit ") or (in_header and not line.startswith("diff --git"))
        if in_header:
            assert line in out
            headers += 1
    assert headers >= 4 * 4
    hunk_counts_hold(result.text)


@pytest.mark.parametrize("numbered", [False, True])
def test_every_marker_names_diff_lines_that_retrieve_what_it_folded(numbered: bool) -> None:
    """Markers cite the diff's own lines (as the agent numbers them), which is what retrieval by
    `lines` returns: unchanged context for a context marker, added lines for a new file's fold."""
    pytest.importorskip("tree_sitter_python")
    path = "src/headroom/compressors/diff.py"
    text = _git("show", _commit_touching("A", path)) + _git("show", "--format=", _commit_touching("M", path))
    source = "\n".join(f"{n:6d}\t{line}" for n, line in enumerate(text.split("\n"), 1)) if numbered else text
    store = MemoryStore()
    out, _ = Pipeline(store=store).compress_text(source, kind=ContentKind.DIFF)
    (ref,) = set(find_refs(out))
    checked = 0
    for line in out.split("\n"):
        found = re.match(r"\[headroom: (unchanged )?lines? ([\d, -]+) folded", line)
        if not found:
            continue
        for span in found.group(2).split(", "):
            got = retrieve(store, ref, lines=span).text.split("\n")
            bodies = [x.split("\t", 1)[1] if numbered else x for x in got]
            wanted = (" ", "") if found.group(1) else ("+", "-") if "changed lines" in line else ("+",)
            assert all(body[:1] in wanted for body in bodies), (span, bodies[:3])
            checked += 1
    assert checked >= 5
