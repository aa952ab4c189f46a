"""Commit history from a real `git log`: every commit keeps its identity, the bulk folds retrievably."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.compressors.commits import looks_like_git_log
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

_AUTHORS = (("Ada Lovelace", "ada@example.org"), ("Grace Hopper", "grace@example.org"))
_BODY = (
    "The parser read one byte past the buffer when a header line ended\n"
    "exactly at the chunk boundary, so the next read started mid-line and\n"
    "the status code came back as garbage on slow connections.\n\n"
    "Keep the partial line until the next chunk arrives instead of\n"
    "splitting it, and test both boundaries.\n\n"
    "Fixes: #{n}\n"
    "Reviewed-by: Grace Hopper <grace@example.org>"
)


def _git(repo: Path, *args: str, **env: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(repo), **env},
    )
    return done.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history of 30 commits by two authors in runs: subjects, long bodies with trailers on
    every third, several files each."""
    root = tmp_path_factory.mktemp("history")
    _git(root, "init", "-q", "-b", "main")
    for n in range(30):
        name, email = _AUTHORS[(n // 4) % 2]
        for k in range(1 + n % 9):
            path = root / f"src/module_{k}.py"
            path.parent.mkdir(exist_ok=True)
            path.write_text(f"VALUE = {n}\n" * (k + 1))
        (root / "docs").mkdir(exist_ok=True)
        (root / "docs" / f"note_{n}.md").write_text(f"note {n}\n")
        _git(root, "add", "-A")
        subject = f"parser: handle case {n} of the chunk boundary"
        message = subject + ("\n\n" + _BODY.format(n=100 + n) if n % 3 == 0 else "")
        stamp = f"2024-03-{1 + n:02d}T10:{n:02d}:00+00:00"
        _git(
            root,
            "commit",
            "-q",
            "-m",
            message,
            GIT_AUTHOR_NAME=name,
            GIT_AUTHOR_EMAIL=email,
            GIT_COMMITTER_NAME=name,
            GIT_COMMITTER_EMAIL=email,
            GIT_AUTHOR_DATE=stamp,
            GIT_COMMITTER_DATE=stamp,
        )
    return root


def _compress(text: str, task: str = "what changed recently?", store: MemoryStore | None = None) -> tuple[str, str]:
    out, report = Pipeline(CompressConfig(), MemoryStore() if store is None else store).compress_text(
        text, SegmentContext("Bash", json.dumps({"command": "git log --stat"}), task)
    )
    assert report.kind == ContentKind.COMMITS.value and report.compressor == "commits", report
    return out, report.ref or ""


@pytest.mark.parametrize("args", [("--stat",), ("--stat", "--pretty=fuller"), ("--name-status",), ()])
def test_every_commit_keeps_its_sha_dates_and_subject(repo: Path, args: tuple[str, ...]) -> None:
    text = _git(repo, "log", *args)
    assert detect(text).kind == ContentKind.COMMITS
    out, ref = _compress(text)
    assert ref and out.startswith("[headroom: 30 commits")
    shas = _git(repo, "log", "--format=%H").split()
    subjects = _git(repo, "log", "--format=%s").strip().split("\n")
    for sha, subject in zip(shas, subjects, strict=True):
        assert f"commit {sha}" in out
        assert f"    {subject}\n" in out
    for line in text.split("\n"):
        if re.match(r"(Author|Commit)?Date:", line):
            assert line in out.split("\n")
    assert len(out) < 0.8 * len(text)


def test_one_big_commit_keeps_its_message_and_folds_its_file_list(tmp_path: Path) -> None:
    """`git show --stat` of a vendoring commit (or a shallow clone's one-commit log): the file
    list folds but the files the task names; the message, what the commit is read for, stays."""
    _git(tmp_path, "init", "-q", "-b", "main")
    for n in range(120):
        (tmp_path / "vendor" / f"pkg_{n:03d}").mkdir(parents=True)
        (tmp_path / "vendor" / f"pkg_{n:03d}" / "__init__.py").write_text(f"VERSION = '{n}.0'\n")
    _git(tmp_path, "add", "-A")
    message = "vendor: import 120 packages\n\n" + _BODY.format(n=7)
    _git(
        tmp_path,
        "commit",
        "-q",
        "-m",
        message,
        GIT_AUTHOR_NAME="Ada",
        GIT_AUTHOR_EMAIL="a@x",
        GIT_COMMITTER_NAME="Ada",
        GIT_COMMITTER_EMAIL="a@x",
    )
    text = _git(tmp_path, "show", "--stat", "HEAD")
    assert detect(text).kind == ContentKind.COMMITS
    store = MemoryStore()
    out, ref = _compress(text, "what does vendor/pkg_077 hold?", store)
    assert out.startswith("[headroom: the commit line, dates and subject; 113 file lines folded")
    for line in message.split("\n"):
        assert ("    " + line).rstrip() in out.split("\n")
    assert next(line for line in text.split("\n") if "pkg_077" in line) in out.split("\n")
    assert " 120 files changed, 120 insertions(+)" in out
    assert sum(" | " in line for line in out.split("\n")) == 7  # the first six and the one named
    assert retrieve(store, ref).text == text


def test_an_author_line_shows_where_the_author_changes(repo: Path) -> None:
    text = _git(repo, "log", "--stat")
    out, _ = _compress(text)
    authors = re.findall(r"^Author: (.*)$", text, re.MULTILINE)
    shown = re.findall(r"^Author: (.*)$", out, re.MULTILINE)
    changes = [a for k, a in enumerate(authors) if k == 0 or authors[k - 1] != a]
    assert shown == changes and len(shown) < len(authors)
    assert "Author/Commit lines left out where the person is the one above" in out


def test_folded_lines_are_retrievable_by_the_lines_their_marker_names(repo: Path) -> None:
    text = _git(repo, "log", "--stat")
    store = MemoryStore()
    out, ref = _compress(text, store=store)
    assert set(find_refs(out)) == {ref}
    original = text.split("\n")
    checked = {"message": 0, "file": 0}
    for line in out.split("\n"):
        found = re.search(r"\[headroom: (\d+) (message|file) lines? folded \(lines? (\d+)(?:-(\d+))?\)", line)
        if not found:
            continue
        count, what, first = int(found[1]), found[2], int(found[3])
        last = int(found[4] or first)
        got = retrieve(store, ref, lines=f"{first}-{last}").text.split("\n")
        assert got == original[first - 1 : last] and len(got) == count
        assert all(x.startswith("    " if what == "message" else " ") for x in got)
        checked[what] += 1
    assert checked["message"] >= 5 and checked["file"] >= 3
    assert "Fixes: #100" not in out  # a folded trailer is behind its marker, not shown


def test_a_body_line_naming_the_task_stays(repo: Path) -> None:
    text = _git(repo, "log")
    out, _ = _compress(text, task="why do we get garbage status codes on slow connections?")
    assert "    the status code came back as garbage on slow connections." in out
    assert "    Keep the partial line until the next chunk arrives instead of" not in out


def test_codex_wrapped_log_compresses_inside_its_header(repo: Path) -> None:
    text = _git(repo, "log", "--stat")
    header = (
        "Chunk ID: 1a2b3c\nWall time: 0.0100 seconds\nProcess exited with code 0\nOriginal token count: 9000\nOutput:\n"
    )
    out, _ = _compress(header + text)
    assert out.startswith(header + "[headroom: 30 commits")


def test_a_log_with_patches_goes_to_the_diff_compressor(repo: Path) -> None:
    text = _git(repo, "log", "-p", "-n", "3")
    assert detect(text).kind == ContentKind.DIFF
    # A first message longer than the sniffed head: still the diff compressor's.
    long_message = _git(repo, "log", "-n", "1") + "    " + "x" * 9000 + "\n\n" + _git(repo, "log", "-p", "-n", "2")
    assert detect(long_message).kind == ContentKind.COMMITS
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(long_message, SegmentContext("Bash"))
    assert report.compressor in ("diff", "passthrough") and "commits, each with" not in out


_GPG = (
    "gpg: Signature made Tue Dec  1 03:50:36 2026 UTC\n"
    "gpg:                using RSA key 0AF42EFBF2FD1A9424B1F336C26B5125DF4BE5D3\n"
    'gpg: Good signature from "Ada Lovelace <ada@example.org>" [unknown]\n'
    "gpg: WARNING: This key is not certified with a trusted signature!\n"
)


def _signed(log: str) -> str:
    """The log as `--show-signature` prints it: gpg's check between the commit line and Author."""
    return re.sub(r"^(commit [0-9a-f]{40}\n)", lambda m: m[1] + _GPG, log, flags=re.MULTILINE)


def _with_notes(log: str) -> str:
    """`git notes` under every message, indented like it, before the file list."""
    return re.sub(r"\n\n( \S)", "\n\nNotes:\n    reviewed in the weekly sync\n\n\\1", log, count=30)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(_signed, id="show-signature"),
        pytest.param(lambda log: log.replace("commit ", "commit - ", 3), id="boundary"),
        pytest.param(_with_notes, id="notes"),
        pytest.param(lambda log: log.replace("\n", "\r\n"), id="crlf"),
    ],
)
def test_header_variants_keep_every_commit_whole(repo: Path, variant: Callable[[str], str]) -> None:
    """Whatever sits in a commit's header (gpg's check, a boundary mark) is header up to the
    first blank line; notes stay with the message; a CRLF log parses as an LF one."""
    plain = _git(repo, "log", "--stat")
    text = variant(plain)
    store = MemoryStore()
    out, ref = _compress(text, store=store)
    crlf = "\r\n" in text
    kept = out.replace("\r\n", "\n").split("\n")
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(("commit ", "Date:", "gpg: Good signature")) or line.startswith("    parser: "):
            assert line in kept
    assert "30 commits" in kept[0]
    assert "Fixes: #100" not in out and ("Author: Grace Hopper <grace@example.org>" in kept)
    for line in kept:
        found = re.search(r"folded \(lines? (\d+)(?:-(\d+))?\)", line)
        if found:
            first, last = int(found[1]), int(found[2] or found[1])
            assert retrieve(store, ref, lines=f"{first}-{last}").text == "\n".join(text.split("\n")[first - 1 : last])
            assert line.startswith(" ")
    if crlf:
        assert all(line.endswith("\r") for line in out.split("\n")[1:-1])
    # The file lists fold the same way with or without the variant: the header changes nothing there.
    assert out.count("file lines folded") == _compress(plain)[0].count("file lines folded")


def test_same_log_same_bytes(repo: Path) -> None:
    text = _git(repo, "log", "--stat", "--pretty=fuller")
    assert _compress(text)[0] == _compress(text)[0]


def test_a_one_line_history_keeps_every_commit(tmp_path: Path) -> None:
    """`git log --oneline`, with `--graph`'s lanes around a merge: each line is a commit's sha
    and subject, the commit the task asks about as likely as any. As prose its lines were list
    items scored for the task, and commits went behind a marker; it is a history, and stays."""
    _git(tmp_path, "init", "-q", "-b", "main")
    stamp = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org", "GIT_COMMITTER_NAME": "Ada"}
    stamp["GIT_COMMITTER_EMAIL"] = "ada@example.org"

    def commit(n: int, topic: str) -> None:
        (tmp_path / f"{topic}_{n}.txt").write_text(f"{n}\n")
        _git(tmp_path, "add", "-A")
        subject = f"{topic}: the reader now keeps case {n} of the boundary. It was dropped before."
        _git(tmp_path, "commit", "-q", "-m", subject, **stamp)

    for n in range(40):
        commit(n, "parser")
    _git(tmp_path, "checkout", "-q", "-b", "proxy")
    for n in range(12):
        commit(n, "proxy")
    _git(tmp_path, "checkout", "-q", "main")
    for n in range(40, 52):
        commit(n, "parser")
    _git(tmp_path, "merge", "-q", "--no-ff", "-m", "Merge the proxy branch. It adds streaming.", "proxy", **stamp)
    for args in (("--graph", "--oneline", "--decorate", "--all"), ("--oneline",)):
        text = _git(tmp_path, "log", *args)
        assert detect(text).kind == ContentKind.COMMITS
        out, _ = Pipeline(CompressConfig(), MemoryStore()).compress_text(
            text,
            SegmentContext("Bash", json.dumps({"command": "git log " + " ".join(args)}), "when was the proxy added?"),
        )
        assert out == text, args
        assert len(text.split("\n")) > 60 and (args[0] != "--graph" or re.search(r"^\|\\", text, re.M)), args
    assert not looks_like_git_log(_git(tmp_path, "log", "--format=%H"))  # shas alone are no history


def test_numbers_opening_lines_are_no_one_line_history() -> None:
    """Epoch seconds opening a log's lines, `ls -i`'s inodes, `nm`'s addresses: seven digits or
    more and a word look like a short sha and a subject, but shas hold letters and differ."""
    epoch_log = "\n".join(
        f"{1764547200 + 7 * k} worker-{k % 4} {'ERROR' if k % 50 == 7 else 'INFO'} handled request {k}"
        for k in range(60)
    )
    inodes = "\n".join(f"{(3_412_877 + 13 * k):>8} module_{k}.py" for k in range(60))
    addresses = "\n".join(f"{'0' * 16} A GLIBC_2.{k}" for k in range(60))
    for text in (epoch_log, inodes, addresses):
        assert not looks_like_git_log(text), text[:40]
        assert detect(text).kind != ContentKind.COMMITS


def _blame_repo(root: Path) -> Path:
    """A real source file (the stdlib's `json/decoder.py`) committed by one author, then a few
    runs of its lines edited by another: runs of lines per commit, as in a project's history."""
    source = Path(json.__file__).parent / "decoder.py"
    _git(root, "init", "-q", "-b", "main")
    target = root / "decoder.py"
    lines = source.read_text().split("\n")
    for n, (name, email) in enumerate(_AUTHORS):
        if n:
            for start in (40, 120, 200):
                lines[start : start + 6] = [f"{line}  # reviewed" for line in lines[start : start + 6]]
        target.write_text("\n".join(lines))
        stamp = f"2024-0{n + 3}-01T10:00:00+00:00"
        people = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name}
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", f"edit {n}", **people, GIT_COMMITTER_EMAIL=email, GIT_AUTHOR_DATE=stamp)
    return target


def _blame_owners(text: str) -> list[tuple[str, str, str]]:
    """(line number, text, the commit/author/date prefix that owns it) of each blame line, where
    a shortened line's owner is the nearest full line above."""
    owners: list[tuple[str, str, str]] = []
    owner = ""
    for line in text.split("\n"):
        full = re.fullmatch(r"(\^?[0-9a-f]{7,40} (?:\([^)]*?|)) *(\d+)\) ?(.*)", line)
        short = re.fullmatch(r" *(\d+)\) ?(.*)", line)
        if full:
            owner = full[1]
            owners.append((full[2], full[3], owner))
        elif short:
            owners.append((short[1], short[2], owner))
    return owners


@pytest.mark.parametrize("args", [(), ("-e", "--date=short"), ("-s",)])
def test_git_blame_writes_each_commit_once_per_run(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`git blame`: a run of lines from one commit shows its commit, author and date once; every
    line keeps its number and text, and each one's owner is still the full line above it."""
    target = _blame_repo(tmp_path)
    text = _git(tmp_path, "blame", *args, target.name)
    assert detect(text).kind == ContentKind.COMMITS
    out, ref = _compress(text, "who added the reviewed comments to decoder.py?")
    assert len(out) < 0.7 * len(text) if args != ("-s",) else len(out) < len(text)
    assert _blame_owners(out) == _blame_owners(text) and len(_blame_owners(text)) > 300
    assert out.count("<grace@example.org>" if "-e" in args else "Grace Hopper") == 3 or args == ("-s",)
    assert ref and ref in out


def test_other_lines_numbered_with_a_paren_are_no_blame() -> None:
    """A numbered list or a log whose lines open with a hex id is no blame: its numbers do not
    run one after another."""
    listing = "\n".join(f"deadbeef (worker 4242 {n * 7}) step {n} done" for n in range(30)) + "\n"
    assert detect(listing).kind != ContentKind.COMMITS


def test_a_raw_history_is_a_history(repo: Path) -> None:
    """`git log --pretty=raw`: tree, parent, author and committer lines (with epoch times) under
    each commit line; the header stays whole, long bodies fold as in the default format."""
    text = _git(repo, "log", "--pretty=raw")
    assert detect(text).kind == ContentKind.COMMITS
    out, _ = _compress(text)
    assert len(out) < 0.8 * len(text)
    kept = set(out.split("\n"))
    header = re.compile(r"^(?:commit|tree|parent|author|committer) ")
    assert all(line in kept for line in text.split("\n") if header.match(line))
