"""Diff compressor: headers and changes stay, unchanged runs and generated files go."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import MARKER_PREFIX, find_refs, has_marker
from headroom.compressors.diff import DiffCompressor, DiffOptions, is_generated_path, looks_like_diff
from headroom.segments import ContentKind, Segment
from headroom.tokens import count_tokens

FIXTURES = Path(__file__).parent.parent / "fixtures" / "diff"
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
    assert "[headroom: unchanged lines 216-217, 222-223 folded]" in out.split("\n")
    assert "         if line in (b'\\r\\n', b'\\n', b''):" in out.split("\n")
    assert "         if not line:" not in out.split("\n")
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
    assert "[headroom: unchanged lines 1-3, 7-33, 37-40 folded · ref=" in result.text
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
    assert "900 changed lines omitted (+900 -0)" in result.text


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
