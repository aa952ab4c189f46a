"""Commit history (`git log`, `--stat`, `--name-status`, `--numstat`, `--pretty=fuller`): every commit stays.

Agents read the history to find which commit changed something and why. What tells commits
apart is their header, and it all stays: the `commit <sha>` line (with its refs), `Merge:`,
the dates, whatever else git put before the first blank line (gpg's signature check, a reflog
selector), and each message's subject line. What repeats or runs long goes, with markers:

- an `Author:` (or `Commit:`) line that names the same person as the commit above: one note at
  the top says so, and the first commit of each run shows the name;
- in a history of several commits, a message body past three lines (or 80 tokens): the lines
  naming a word of the task stay (all of them when the subject names it), the others fold into
  a marker per run naming their lines (`retrieve(ref, lines=...)` takes them); one commit
  (`git show --stat`, a shallow clone's log) keeps its whole message, as it is read for it;
- a commit's file list (`--stat`, `--name-status`, `--numstat`) past its first files: the
  files naming a word of the task stay, and the `N files changed` line always does.

A history with patches (`git log -p`) is a diff: the diff compressor takes it, and keeps the
headers and messages between the file sections as they are. `git blame` is history too, line
by line (`_blame`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from headroom.ccr.markers import SparseRefs, marker
from headroom.compressors._blame import compress_blame, looks_like_blame
from headroom.compressors._task_match import task_matches
from headroom.compressors.base import Compressed, Registry, default_registry, register
from headroom.segments import ContentKind, Segment
from headroom.tokens import count_tokens

__all__ = ["CommitLogCompressor", "looks_like_git_log"]

# `commit <sha>`, with --boundary / --left-right / --cherry-mark's mark before the sha.
_COMMIT = re.compile(r"^commit (?:[-<>+=] ?)?[0-9a-f]{7,64}\b")
_PERSON_FIELDS = ("Author:", "Commit:")
_MESSAGE_INDENT = "    "
_NOTES = re.compile(r"^Notes(?: \([^)\n]*\))?:\s*$")  # `git notes` under the message, indented like it
# One file of a commit's list: --stat (` path | 3 +-`) and --summary (` create mode ...`),
# --name-status (`M\tpath`, `R100\ta\tb`), --numstat (`3\t1\tpath`), --raw (`:100644 ...`).
_FILE_LINE = re.compile(r"^(?: \S|[ACDMRTUXB]\d*\t|(?:\d+|-)\t(?:\d+|-)\t|:\d{6} )")
_FILES_CHANGED = re.compile(r"^ \d+ files? changed\b")
_DIFF_START = re.compile(r"^diff --(?:git|cc|combined) ", re.MULTILINE)
# `git log --oneline` (`--graph` draws lanes before the sha; `--decorate` puts refs after it),
# `--pretty='%h %s'`: a short sha, one space, the subject. (sha256sum puts two spaces.)
_ONELINE_COMMIT = re.compile(r"^[*|/\\_. -]*(?P<sha>[0-9a-f]{7,40}) (?:\([^)\n]*\) )?\S")
_GRAPH_ONLY = re.compile(r"^[*|/\\_. -]+\r?$")  # `|\`, `| |/`: lanes joining and forking
_ONELINE_SNIFF_LINES = 40
_ONELINE_MIN_COMMITS = 5
_SNIFF_HEADER_LINES = 24  # a signed commit's gpg lines come before its Author
_BODY_KEPT_LINES = 3  # a message body this short stays whole: folding it would not pay
_BODY_KEPT_TOKENS = 80  # ... unless its lines are long
_FILES_KEPT = 6  # files of a commit's list shown before the rest fold
_BLAME_SNIFF_CHARS = 8_000
_MIN_FOLDED_TOKENS = 12  # a fold must save at least this much beyond its marker


def looks_like_git_log(head: str) -> bool:
    """`git log`'s default, medium and fuller formats: a `commit <sha>` line first, then its
    header fields (`Author:`) before the first blank line. Or a history of one line per commit
    (`--oneline`, with `--graph`'s lanes or not): every line a subject, so it stays whole here
    rather than go to prose, whose list-item scores dropped commits from it."""
    lines = head.lstrip("\r\n").split("\n", _SNIFF_HEADER_LINES)[:_SNIFF_HEADER_LINES]
    if not lines or not _COMMIT.match(lines[0]):
        return _looks_like_oneline(head) or looks_like_blame(head)
    for line in lines[1:]:
        if not line.strip():
            return False
        if line.startswith(("Author:", "author ")):  # `--pretty=raw`: tree, parent, author lines
            return True
    return False


def _looks_like_oneline(head: str) -> bool:
    """Nearly every line a short sha and a subject. Shas are mostly distinct and most hold a letter
    (all digits about once in 27): epoch seconds opening a log's lines, `ls -i` inodes, `nm`'s
    addresses and `git blame`'s repeated shas are no history."""
    lines = [line for line in head.split("\n")[:-1] if line.strip()][:_ONELINE_SNIFF_LINES]
    shas = [found["sha"] for found in map(_ONELINE_COMMIT.match, lines) if found is not None]
    lanes = sum(1 for line in lines if _GRAPH_ONLY.match(line))
    if len(shas) < _ONELINE_MIN_COMMITS or (len(shas) + lanes) * 10 < len(lines) * 9:
        return False
    lettered = sum(1 for sha in shas if not sha.isdigit())
    return lettered * 2 >= len(shas) and len(set(shas)) * 4 >= len(shas) * 3  # a reflog revisits a few


_Folds = dict[int, tuple[str, str] | None]  # line -> (indent, marker summary) put in its place, or nothing


@dataclass
class _Commit:
    header: list[int] = field(default_factory=list)  # line indices
    message: list[int] = field(default_factory=list)
    files: list[int] = field(default_factory=list)  # the file list and anything after the message


def _parse(lines: list[str]) -> tuple[list[int], list[_Commit]]:
    """Line indices before the first commit, and each commit's header (its lines up to the
    first blank one: fields, gpg's signature check, a reflog selector), message (indented, with
    its notes) and what follows (the file list)."""
    preamble: list[int] = []
    commits: list[_Commit] = []
    part = "header"
    for i, line in enumerate(lines):
        if _COMMIT.match(line):
            commits.append(_Commit(header=[i]))
            part = "header"
            continue
        if not commits:
            preamble.append(i)
            continue
        commit = commits[-1]
        blank = not line.strip()
        if part == "header" and not blank:
            commit.header.append(i)
            continue
        if part == "header":
            part = "message"  # the blank line after the header opens the message
        if blank or line.startswith(_MESSAGE_INDENT) or _NOTES.match(line):
            (commit.message if part == "message" else commit.files).append(i)
            continue
        part = "files"
        commit.files.append(i)
    return preamble, commits


@register(sniffer=looks_like_git_log, sniff_rank=11)
class CommitLogCompressor:
    name: ClassVar[str] = "commits"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.COMMITS})
    priority: ClassVar[int] = 10

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry  # whose diff compressor takes a history with patches

    def compress(self, segment: Segment) -> Compressed:
        text = segment.text
        if looks_like_blame(text[:_BLAME_SNIFF_CHARS]):
            return compress_blame(segment)
        if _DIFF_START.search(text):  # `git log -p` whose first patch lies past the sniffed head
            diff = (self._registry or default_registry()).for_kind(ContentKind.DIFF)
            if diff is not None:
                return diff.compress(segment)
        lines = text.split("\n")
        preamble, commits = _parse(lines)
        if not commits:
            return Compressed(text)
        drop: _Folds = {}
        notes = {"commits": len(commits), "author_lines": 0, "message_lines": 0, "file_lines": 0}
        matched = set(_task_lines(segment, lines, commits))
        last_person: dict[str, str] = {}
        for commit in commits:
            for i in commit.header:
                field_name = next((f for f in _PERSON_FIELDS if lines[i].startswith(f)), None)
                if field_name is None:
                    continue
                if last_person.get(field_name) == lines[i]:
                    drop[i] = None
                    notes["author_lines"] += 1
                last_person[field_name] = lines[i]
            if len(commits) > 1:  # one commit (`git show --stat`) is read for its message: it stays whole
                notes["message_lines"] += self._fold_body(segment, lines, commit.message, matched, drop)
            notes["file_lines"] += self._fold_files(segment, lines, commit.files, matched, drop)
        if not drop:
            return Compressed(text)
        refs = SparseRefs(segment.ref)
        out = [self._top_marker(segment, len(commits), notes)]
        for i in preamble + [i for c in commits for i in (*c.header, *c.message, *c.files)]:
            if i in drop:
                folded = drop[i]
                if folded is not None:
                    indent, summary = folded
                    ending = "\r" if lines[i].endswith("\r") else ""  # a CRLF log keeps its line ends
                    out.append(indent + refs.marker(summary) + ending)
                continue
            out.append(lines[i])
            refs.wrote(lines[i])
        return Compressed("\n".join(out), lossy=True, notes=notes)

    @staticmethod
    def _fold_body(segment: Segment, lines: list[str], message: list[int], matched: set[int], drop: _Folds) -> int:
        """Fold a long message body (past its subject) but the lines naming the task; returns
        how many lines folded."""
        written = [i for i in message if lines[i].strip()]
        if not written or written[0] in matched:
            return 0  # a subject naming the task keeps its whole message
        subject = written[0]
        body = [i for i in message if i > subject]
        short = len(written) <= 1 + _BODY_KEPT_LINES
        if short and count_tokens("\n".join(lines[i] for i in body)) <= _BODY_KEPT_TOKENS:
            return 0
        while body and not lines[body[-1]].strip():
            body.pop()  # the blank line closing the message stays, as git prints it
        return _fold(segment, lines, [i for i in body if i not in matched], "message", drop, _MESSAGE_INDENT)

    @staticmethod
    def _fold_files(segment: Segment, lines: list[str], files: list[int], matched: set[int], drop: _Folds) -> int:
        listed = [i for i in files if _FILE_LINE.match(lines[i]) and not _FILES_CHANGED.match(lines[i])]
        if len(listed) <= _FILES_KEPT:
            return 0
        folded = [i for i in listed[_FILES_KEPT:] if i not in matched]
        return _fold(segment, lines, folded, "file", drop, " ")

    @staticmethod
    def _top_marker(segment: Segment, commits: int, notes: dict[str, int]) -> str:
        said = [
            f"{commits} commits, each with its commit line, dates and subject"
            if commits > 1
            else "the commit line, dates and subject"
        ]
        if notes["author_lines"]:
            said.append(f"{notes['author_lines']} Author/Commit lines left out where the person is the one above")
        parts = (("message_lines", "message"), ("file_lines", "file"))
        folded = [f"{notes[key]} {what} lines" for key, what in parts if notes[key]]
        if folded:
            said.append(" and ".join(folded) + " folded")
        return marker("; ".join(said), segment.ref)


def _task_lines(segment: Segment, lines: list[str], commits: list[_Commit]) -> list[int]:
    """Message and file lines holding a word of the task."""
    candidates = [i for c in commits for i in (*c.message, *c.files) if lines[i].strip()]
    hits = task_matches([lines[i].lower() for i in candidates], segment.context)
    return [i for i, hit in zip(candidates, hits, strict=True) if hit]


def _fold(segment: Segment, lines: list[str], folded: list[int], what: str, drop: _Folds, indent: str) -> int:
    """Fold `folded` lines (of one commit), each run of neighbours under one marker where it
    was, indented to stay inside the message or file list, when the run saves more than its
    marker costs; returns how many lines folded."""
    total = 0
    runs: list[list[int]] = []
    for i in folded:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        first, last = run[0] + segment.first_line, run[-1] + segment.first_line
        span = f"line {first}" if first == last else f"lines {first}-{last}"
        summary = f"{len(run)} {what} line{'s' if len(run) > 1 else ''} folded ({span})"
        saved = count_tokens("\n".join(lines[i] for i in run)) - count_tokens(indent + marker(summary, None))
        if saved < _MIN_FOLDED_TOKENS:
            continue
        drop[run[0]] = (indent, summary)
        drop.update(dict.fromkeys(run[1:]))
        total += len(run)
    return total
