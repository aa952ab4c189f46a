"""Unified diffs (git diff / git show / git log -p / diff -u): keep every change, drop what did not change.

Kept verbatim: file headers (`diff --git`, `index`, mode lines, `---`/`+++`), every `+`/`-`
line, and one unchanged line on each side of a change. Dropped, each with a marker:

- the rest of each hunk's context: the hunk is cut to what stays, every piece under a
  recomputed `@@` header (so every line shown keeps its true line number, and the function
  name git puts after `@@` is kept or worked out as git does), and one marker after the hunk
  names the folded lines by their line in the diff (what `retrieve(ref, lines=...)` takes).
  A gap between two changes goes only when it pays for the new header; a hunk whose context
  holds a name from the user's words keeps it all;
- a new source file's added lines, and in a changed file each run of at least
  `min_added_run` added lines (new functions, a new class): the registry's code compressor
  outlines them (by the file's extension; a run is dedented first, as a method sits in its
  class) and the lines its outline keeps stay, each run under its own `@@` header; each fold
  is a marker naming its lines in the diff and where it starts in the new file. The bodies
  the user's words name stay whole, as in a file read;
- hunks that only change whitespace (same lines once whitespace is ignored, as `git diff -w`);
- generated files (lockfiles, minified bundles, `dist/` output, source maps), deleted files and
  pure renames: one summary line each (path, line counts);
- `GIT binary patch` data, and runs of more than 200 changed lines (head and tail stay). In a
  history of several commits (`git log -p`, `git show A B`: an overview of what changed, not a
  change to review line by line) the bar is 24 lines of one side (removed, or added) of a
  change; a run that holds a name from the user's words stays whole.

Lines outside file sections (commit headers and messages of `git log -p`, stat lines) are kept
as they are. The first marker carries the unit's ref, then one every few thousand characters
(as the code compressor's do). Nothing is whitespace-normalized: trailing whitespace can be the
very change a diff shows.

The parsing is our own rather than `unidiff`'s: `unidiff.PatchSet` raises on a hunk shorter
than its `@@` header says ("Hunk is shorter than expected"), which is what a diff cut by `head`
or by a tool's output cap looks like, and agents send those all the time. This parser keeps
whatever it cannot place verbatim instead, so a cut diff still compresses.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from headroom.ccr.markers import MARKER_PREFIX, SparseRefs
from headroom.compressors._tree_sitter import language_from_path
from headroom.compressors.base import Compressed, Compressor, Registry, default_registry, register
from headroom.compressors.source_code import task_names
from headroom.segments import ContentKind, Segment, SegmentContext
from headroom.tokens import count_tokens

__all__ = ["DiffCompressor", "DiffOptions", "is_generated_path", "looks_like_diff"]

HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)\Z", re.S)
_FILE_START = ("diff --git ", "diff -u ", "diff -r ", "diff -N ", "diff --cc ", "diff --combined ")
_HEADER_PREFIXES = (
    "index ",
    "old mode ",
    "new mode ",
    "deleted file mode ",
    "new file mode ",
    "similarity index ",
    "dissimilarity index ",
    "rename from ",
    "rename to ",
    "copy from ",
    "copy to ",
    "Binary files ",
    "--- ",
    "+++ ",
    "GIT binary patch",
)
_WS = re.compile(r"\s+")
# `literal 608` / `delta 12` and base85 data lines (a length letter, then base85) of a GIT binary patch.
_BINARY_DATA = re.compile(r"(?:literal|delta) \d+\Z|[A-Za-z][0-9A-Za-z!#$%&()*+;<=>?@^_`{|}~-]+\Z")
_FUNC_LINE = re.compile(r"[A-Za-z_$]")  # git's default hunk-heading rule: an unindented line
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# A run of added lines that replaces more removed lines than this is a rewrite, shown whole: the
# reader compares the new text with the old one the diff shows (a changed signature is one line).
_MAX_REPLACED = 3
_COMMIT_LINE = re.compile(r"commit [0-9a-f]{7,64}\b")  # a commit's header in `git log` / `git show`

# Files nobody reads a diff of: dependency lockfiles, minified/bundled output, build output.
_GENERATED_NAMES = frozenset(
    """package-lock.json npm-shrinkwrap.json yarn.lock pnpm-lock.yaml bun.lockb poetry.lock
    Pipfile.lock uv.lock pdm.lock Cargo.lock go.sum Gemfile.lock composer.lock mix.lock
    pubspec.lock Podfile.lock flake.lock packages.lock.json gradle.lockfile""".split()
)
_GENERATED_PATH = re.compile(
    r"""(?:\A|/)(?:dist|build|out|target|vendor|node_modules|__generated__|\.next)/
    | \.min\.(?:js|css|mjs)\Z | \.(?:js|css)\.map\Z | \.bundle\.js\Z | \.pb\.go\Z | _pb2(?:_grpc)?\.pyi?\Z
    | \.snap\Z""",
    re.X,
)

_DIFFISH = (" ", "+", "-", "@@", "\\", "diff ", "commit ", "Author:", "Date:", "Merge:", *_HEADER_PREFIXES)
_SNIFF_CHARS = 8_000


def is_generated_path(path: str) -> bool:
    """Lockfiles, minified bundles, build output: content no reviewer (or model) reads."""
    name = path.rsplit("/", 1)[-1]
    return name in _GENERATED_NAMES or _GENERATED_PATH.search(path) is not None


def looks_like_diff(text: str) -> bool:
    """A file header (`diff --git`, `diff -u`, or `---` then `+++`) or a `@@ -a,b +c,d @@` hunk
    within the first 80 lines, at least one hunk (or a rename/binary/mode header), and >= 80%
    of the non-blank lines from there on shaped like diff lines (so a diff quoted inside prose
    or a log is not taken for a diff).
    """
    lines = text[:_SNIFF_CHARS].split("\n")
    if len(text) > _SNIFF_CHARS:
        lines.pop()
    start = None
    for i, line in enumerate(lines[:80]):
        if line.startswith(_FILE_START) or HUNK.match(line):
            start = i
            break
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            start = i
            break
    if start is None:
        return False
    body = [line for line in lines[start:] if line.strip()]
    has_hunk = any(HUNK.match(line) for line in body)
    has_header = any(line.startswith(("rename from ", "Binary files ", "new mode ", "GIT binary")) for line in body)
    if not (has_hunk or has_header):
        return False
    diffish = sum(1 for line in body if line.startswith(_DIFFISH))
    return diffish >= 0.8 * len(body)


@dataclass(frozen=True, slots=True)
class DiffOptions:
    context: int = 1  # unchanged lines kept on each side of a change
    # An unchanged run between two changes of a hunk goes only when this many lines go: the
    # piece after it needs a new `@@` header (~12 tokens).
    min_gap: int = 3
    min_context_tokens: int = 12  # a hunk's context is folded only when it saves more than its marker costs
    max_changed_run: int = 200  # longer runs of +/- lines keep a head and a tail
    changed_head: int = 80
    changed_tail: int = 20
    fold_new_files: bool = True  # a new source file's added lines are outlined by the code compressor
    min_new_file_lines: int = 30  # shorter new files are shown whole
    min_added_run: int = 30  # in a changed file, shorter runs of added lines are shown whole
    min_fold_tokens: int = 30  # a fold of a new file costs a marker and a new `@@` header
    # In a history of several commits, a run of removed (or added) lines longer than this keeps
    # a head and a tail: a patch in a log is read for what changed, a rewritten table or a moved
    # block is one marker away.
    history_changed_run: int = 24
    history_changed_head: int = 8
    history_changed_tail: int = 4


@dataclass(frozen=True, slots=True)
class _Marker:
    """A marker to place: whether it carries the ref is decided once the output is laid out."""

    summary: str


@dataclass
class _Hunk:
    header: str  # the original `@@` line, kept verbatim unless the hunk is split
    old_next: int  # number of the first old/new line the hunk covers (or would insert before)
    new_next: int
    heading: str
    lines: list[str]  # body lines, each starting with ' ', '+', '-' or '\'
    start: int = 0  # index of its first body line in the unit's text (markers name unit lines)


@dataclass
class _File:
    header: list[str]
    hunks: list[_Hunk] = field(default_factory=list)
    binary_lines: int = 0  # lines of GIT binary patch data
    tail: list[str] = field(default_factory=list)  # unparsable lines inside the section

    def path(self) -> str:
        for line in self.header:
            if line.startswith("+++ ") and not line.startswith("+++ /dev/null"):
                return _strip_prefix(line[4:])
        for line in self.header:
            if line.startswith(("rename to ", "--- ")) and "/dev/null" not in line:
                return _strip_prefix(line.split(" ", 2)[-1] if line.startswith("rename") else line[4:])
        first = self.header[0] if self.header else ""
        return _strip_prefix(first.rsplit(" b/", 1)[-1]) if " b/" in first else first


def _strip_prefix(path: str) -> str:
    path = path.split("\t", 1)[0].strip().strip('"')
    return path[2:] if path[:2] in ("a/", "b/") else path


def _parse(lines: list[str]) -> list[str | _File]:
    """Verbatim lines and file sections, in order."""
    items: list[str | _File] = []
    current: _File | None = None
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        starts_plain = line.startswith("--- ") and i + 1 < n and lines[i + 1].startswith("+++ ")
        if line.startswith(_FILE_START) or (starts_plain and (current is None or current.hunks)):
            current = _File([line])
            items.append(current)
            i += 1
            while i < n and lines[i].startswith(_HEADER_PREFIXES) and not lines[i].startswith("GIT binary"):
                if lines[i].startswith("--- ") and current.header[-1].startswith("+++ "):
                    break  # the next plain file
                current.header.append(lines[i])
                i += 1
            continue
        if current is not None and line.startswith("GIT binary patch"):
            current.header.append(line)
            i += 1
            while i < n and (
                _BINARY_DATA.match(lines[i]) or (not lines[i] and i + 1 < n and _BINARY_DATA.match(lines[i + 1]))
            ):
                current.binary_lines += 1
                i += 1
            continue
        match = HUNK.match(line)
        if match:
            if current is None:
                current = _File([])
                items.append(current)
            i = _parse_hunk(lines, i + 1, match, current)
            continue
        items.append(line)
        current = None if not line.startswith(("\\", " ")) else current
        i += 1
    return items


def _parse_hunk(lines: list[str], i: int, match: re.Match[str], file: _File) -> int:
    start = i
    old_left = int(match[2]) if match[2] is not None else 1
    new_left = int(match[4]) if match[4] is not None else 1
    body: list[str] = []
    while i < len(lines) and (old_left > 0 or new_left > 0):
        line = lines[i]
        tag = line[:1]
        if tag == " " or line == "":  # some tools strip the space off blank context lines
            old_left -= 1
            new_left -= 1
        elif tag == "-":
            old_left -= 1
        elif tag == "+":
            new_left -= 1
        elif tag != "\\":
            break
        body.append(line)
        i += 1
    while i < len(lines) and lines[i].startswith("\\"):  # "\ No newline at end of file"
        body.append(lines[i])
        i += 1
    # `@@ -10,0 +11,2 @@` means "after line 10": store the next line in both cases.
    old_next = int(match[1]) + (match[2] == "0")
    new_next = int(match[3]) + (match[4] == "0")
    file.hunks.append(_Hunk(match[0], old_next, new_next, match[5], body, start))
    return i


@register(sniffer=looks_like_diff, sniff_rank=10)
class DiffCompressor:
    name: ClassVar[str] = "diff"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.DIFF})
    priority: ClassVar[int] = 10

    def __init__(self, options: DiffOptions | None = None, registry: Registry | None = None) -> None:
        self.options = options or DiffOptions()
        self._registry = registry  # whose code compressor outlines new source files

    def compress(self, segment: Segment) -> Compressed:
        text = segment.text
        code = None
        if self.options.fold_new_files:
            code = (self._registry or default_registry()).for_kind(ContentKind.CODE)
        run = _Run(self.options, segment, code)
        out = run.render(_parse(text.split("\n")))
        if not run.dropped or count_tokens(out) >= count_tokens(text):
            return Compressed(text, lossless_text=text)
        # The lossless fallback is the exact original: whitespace normalization would turn a
        # blank context line " " into "" and erase trailing-whitespace changes.
        return Compressed(out, lossy=True, notes=dict(run.notes), lossless_text=text)


class _Run:
    def __init__(self, options: DiffOptions, segment: Segment, code: Compressor | None) -> None:
        self.opt = options
        self.segment = segment
        self.ref = segment.ref
        self.code = code
        # Names from the user's words only: a diff command's own arguments are revisions and
        # paths (`HEAD~15`, `-- src`), which would otherwise name every `head` in the diff.
        self.names = task_names(SegmentContext(user_query=segment.context.user_query)).exact
        self.dropped = 0
        self.history = False  # several commits' patches (`git log -p`): `render` decides
        self.notes: dict[str, int] = {
            "files": 0,
            "files_collapsed": 0,
            "hunks_collapsed": 0,
            "lines_dropped": 0,
            "context_lines_dropped": 0,
            "new_file_lines_folded": 0,
            "added_lines_folded": 0,
        }

    def _mark(self, summary: str, lines: int) -> _Marker:
        self.dropped += max(lines, 1)
        self.notes["lines_dropped"] += lines
        return _Marker(summary)

    def render(self, items: list[str | _File]) -> str:
        self.history = sum(1 for item in items if isinstance(item, str) and _COMMIT_LINE.match(item)) >= 2
        out: list[str | _Marker] = []
        for item in items:
            if isinstance(item, str):
                out.append(item)
            else:
                self.notes["files"] += 1
                out.extend(self._file(item))
        return "\n".join(self._place_refs(out))

    def _place_refs(self, items: list[str | _Marker]) -> list[str]:
        """The first marker carries the ref, then one every `REF_EVERY_CHARS` of output, as the
        code compressor's do: a diff has a marker per hunk, and the ref is ~10 tokens."""
        lines: list[str] = []
        refs = SparseRefs(self.ref, cite_first=True)
        for item in items:
            line = item if isinstance(item, str) else refs.marker(item.summary)
            refs.wrote(line)
            lines.append(line)
        return lines

    def _file(self, f: _File) -> list[str | _Marker]:
        path = f.path()
        body_lines = sum(len(h.lines) for h in f.hunks) + f.binary_lines
        adds = sum(1 for h in f.hunks for line in h.lines if line[:1] == "+")
        dels = sum(1 for h in f.hunks for line in h.lines if line[:1] == "-")
        status = next((h.split(" mode")[0] for h in f.header if h.startswith(("new file", "deleted file"))), "")
        if body_lines and is_generated_path(path):
            self.notes["files_collapsed"] += 1
            what = f"{status}, " if status else ""
            summary = f"{path}: generated file ({what}+{adds} -{dels} lines in {len(f.hunks)} hunks) omitted"
            return [self._mark(summary, body_lines + len(f.header))]
        if status == "deleted file" or (f.header and f.header[-1] == "+++ /dev/null" and dels and not adds):
            # What a deleted file held is what it was before: one line says which file went.
            self.notes["files_collapsed"] += 1
            path = _deleted_path(f) or path
            summary = f"{path} deleted: its {dels} lines omitted" if dels else f"{path} deleted"
            return [self._mark(summary, body_lines + len(f.header))]
        renamed = [h.split(" ", 2)[2] for h in f.header if h.startswith(("rename from ", "rename to "))]
        if len(renamed) == 2 and not f.hunks and not f.binary_lines and not any(" mode " in h for h in f.header):
            self.notes["files_collapsed"] += 1
            similarity = next((h.split()[-1] for h in f.header if h.startswith("similarity index")), "")
            similar = f" ({similarity} similar)" if similarity else ""
            return [self._mark(f"renamed {renamed[0]} -> {renamed[1]}{similar}, no content change", len(f.header))]
        out: list[str | _Marker] = list(f.header)
        if f.binary_lines:
            out.append(self._mark(f"binary patch data for {path} ({f.binary_lines} lines) omitted", f.binary_lines))
        is_new = status == "new file" or "--- /dev/null" in f.header
        language = language_from_path(path) if self.code is not None else None
        for hunk in f.hunks:
            out.extend(self._hunk(hunk, language, is_new=is_new))
        return out

    def _outline(self, language: str, added: list[str]) -> list[bool] | None:
        """Which of `added` (a new file's lines, or a run of lines added to a changed one) to
        show, as the code compressor would: it outlines their text, dedented by what all share
        (a method added to a class), and the lines of its output found in order in the added
        text stay (its stubs become our folds, each under its own `@@` header). None when it
        cannot."""
        assert self.code is not None
        indent = min((len(line) - len(line.lstrip()) for line in added if line.strip()), default=0)
        if any(line[:indent].strip() for line in added):
            indent = 0  # tabs and spaces mixed: outlined as they are
        dedented = [line[indent:] for line in added]
        part = Segment("\n".join(dedented), self.segment.context, ContentKind.CODE, language, parent_ref=self.ref)
        try:
            result = self.code.compress(part)
        except Exception:  # a file the code compressor chokes on is shown as a diff shows it
            return None
        if not result.lossy:
            return None
        shown = [False] * len(added)
        at = 0
        for line in result.text.split("\n"):
            if MARKER_PREFIX in line:
                continue  # a stub standing for folded lines
            while at < len(added) and dedented[at] != line:
                at += 1
            if at == len(added):
                return None  # a line the file does not have: not an outline we can map
            shown[at] = True
            at += 1
        _keep_small_folds(shown, added, self.opt.min_fold_tokens)
        return shown

    def _outlined(self, hunk: _Hunk, language: str | None, *, is_new: bool) -> list[bool] | None:
        """The lines of `hunk` to show when added code in it is outlined (a new file's lines, or
        each long run of lines added to a changed file), the rest as `_keep_mask` has them;
        None when nothing in it is outlined."""
        if language is None:
            return None
        added = [line[:1] == "+" for line in hunk.lines]
        if is_new:
            plus = [k for k, is_added in enumerate(added) if is_added]
            runs = [plus] if len(plus) >= self.opt.min_new_file_lines else []
        else:
            runs = [
                list(range(i, j))
                for i, j in _runs(added, True)
                if j - i >= self.opt.min_added_run and _removed_before(hunk.lines, i) <= _MAX_REPLACED
            ]
        if not runs:
            return None
        keep = [True] * len(hunk.lines) if is_new else self._keep_mask(hunk.lines)
        outlined = False
        for run in runs:
            shown = self._outline(language, [hunk.lines[k][1:] for k in run])
            if shown is None:
                continue
            outlined = True
            for k, show in zip(run, shown, strict=True):
                keep[k] = keep[k] and show
        return keep if outlined else None

    def _hunk(self, hunk: _Hunk, language: str | None, *, is_new: bool) -> list[str | _Marker]:
        minus = [line[1:] for line in hunk.lines if line[:1] == "-"]
        plus = [line[1:] for line in hunk.lines if line[:1] == "+"]
        if (minus or plus) and _squash(minus) == _squash(plus):
            self.notes["hunks_collapsed"] += 1
            summary = f"whitespace-only change (-{len(minus)} +{len(plus)} lines) omitted"
            return [hunk.header, self._mark(summary, len(hunk.lines))]
        outline = self._outlined(hunk, language, is_new=is_new)
        keep = outline or self._keep_mask(hunk.lines)
        if all(keep):
            return [hunk.header, *hunk.lines]
        return self._split(hunk, keep, folding=outline is not None, is_new=is_new)

    def _keep_mask(self, lines: list[str]) -> list[bool]:
        """Which body lines stay: changes, `opt.context` lines beside them, short gaps."""
        opt = self.opt
        changed = [line[:1] in ("+", "-", "\\") for line in lines]
        keep = list(changed)
        n = len(lines)
        for i, j in _runs(changed, False):  # unchanged runs
            before = opt.context if i > 0 else 0  # lines after the change above the run
            after = opt.context if j < n else 0  # lines before the change below the run
            inner = i > 0 and j < n  # dropping it splits the hunk: worth a new header?
            if (i == 0 and j == n) or (inner and (j - i) - before - after < opt.min_gap):
                before, after = j - i, 0
            for k in range(i, min(j, i + before)):
                keep[k] = True
            for k in range(max(i, j - after), j):
                keep[k] = True
        unchanged_dropped = [line for line, kept in zip(lines, keep, strict=True) if not kept]
        if unchanged_dropped and (
            count_tokens("\n".join(unchanged_dropped)) <= opt.min_context_tokens or self._names_any(unchanged_dropped)
        ):
            # Too little to pay for a marker, or the task names something in it: all context stays.
            keep = [True] * n
        for i, j in _runs(changed, True):  # very long runs of changed lines: head and tail
            if j - i > opt.max_changed_run:
                for k in range(i + opt.changed_head, j - opt.changed_tail):
                    keep[k] = False
            elif self.history:
                for tag in "-+":  # each side of the change: its removed lines, its added lines
                    for a, b in _runs([line[:1] == tag for line in lines[i:j]], True):
                        a, b = a + i, b + i
                        if b - a > opt.history_changed_run and not self._names_any(lines[a:b]):
                            for k in range(a + opt.history_changed_head, b - opt.history_changed_tail):
                                keep[k] = False
        return keep

    def _names_any(self, lines: list[str]) -> bool:
        return bool(self.names) and any(w.lower() in self.names for line in lines for w in _IDENTIFIER.findall(line))

    def _split(self, hunk: _Hunk, keep: list[bool], *, folding: bool, is_new: bool) -> list[str | _Marker]:
        """Kept pieces of a hunk, each under a correct `@@` header.

        Dropped unchanged lines are listed in one marker after the hunk; dropped changed lines
        get a marker in place (`folding`: a new file's outline). Markers name the lines of the
        diff itself, as the agent numbers them and `retrieve(ref, lines=...)` takes them.
        """
        out: list[str | _Marker] = []
        old, new = hunk.old_next, hunk.new_next
        runs: list[tuple[bool, int, int, int, list[str]]] = []  # (kept, old_next, new_next, unit line, lines)
        first_line = self.segment.first_line + hunk.start
        for offset, (line, kept) in enumerate(zip(hunk.lines, keep, strict=True)):
            if not runs or runs[-1][0] != kept:
                runs.append((kept, old, new, first_line + offset, []))
            runs[-1][4].append(line)
            tag = line[:1]
            old += tag in (" ", "", "-")
            new += tag in (" ", "", "+")
        heading = hunk.heading
        context: list[str] = []  # diff line ranges of folded unchanged lines
        for kept, old_next, new_next, at, lines in runs:
            if kept:
                out.append(_header(old_next, new_next, lines, heading))
                out.extend(lines)
            else:
                adds = sum(1 for line in lines if line[:1] == "+")
                dels = sum(1 for line in lines if line[:1] == "-")
                if folding and adds == len(lines):
                    self.notes["new_file_lines_folded" if is_new else "added_lines_folded"] += adds
                    where = "new file from line" if is_new else "added at line"
                    out.append(self._mark(f"{_lines(at, adds)} folded ({where} {new_next})", adds))
                elif adds or dels:
                    summary = f"{_lines(at, len(lines))} folded: {len(lines)} changed lines (+{adds} -{dels})"
                    out.append(self._mark(summary, len(lines)))
                else:
                    context.append(_span(at, len(lines)))
                    self.notes["context_lines_dropped"] += len(lines)
                    self.dropped += len(lines)
                    self.notes["lines_dropped"] += len(lines)
            # Like git, name the last unindented line above the next piece in its header.
            funcs = [line[1:] for line in lines if _FUNC_LINE.match(line[1:]) and line[:1] != "-"]
            heading = " " + funcs[-1][:80].rstrip() if funcs else heading
        if context:
            out.append(_Marker(f"unchanged lines {', '.join(context)} folded"))
        return out


def _lines(first: int, count: int) -> str:
    return f"line {first}" if count == 1 else f"lines {_span(first, count)}"


def _span(first: int, count: int) -> str:
    return str(first) if count == 1 else f"{first}-{first + count - 1}"


def _deleted_path(f: _File) -> str | None:
    for line in f.header:
        if line.startswith("--- ") and "/dev/null" not in line:
            return _strip_prefix(line[4:])
    return None


def _removed_before(lines: list[str], start: int) -> int:
    """How many `-` lines come right before line `start` (git lists a change's removed lines
    before its added ones): the old text the added run replaces."""
    k = start
    while k > 0 and lines[k - 1][:1] == "-":
        k -= 1
    return start - k


def _keep_small_folds(shown: list[bool], lines: list[str], min_tokens: int) -> None:
    """Show again the folded runs too small to pay for their marker and `@@` header."""
    for i, j in _runs(list(shown), False):
        if count_tokens("\n".join(lines[i:j])) < min_tokens:
            shown[i:j] = [True] * (j - i)


def _runs(flags: list[bool], value: bool) -> Iterator[tuple[int, int]]:
    """(start, end) of each maximal run of `value` in `flags`, end exclusive."""
    start = 0
    for flag, group in itertools.groupby(flags):
        end = start + sum(1 for _ in group)
        if flag == value:
            yield start, end
        start = end


def _squash(lines: list[str]) -> list[str]:
    """Lines with all whitespace removed and blank lines skipped (`git diff -w --ignore-blank-lines`)."""
    return [s for s in (_WS.sub("", line) for line in lines) if s]


def _header(old_next: int, new_next: int, body: list[str], heading: str) -> str:
    old_len = sum(1 for line in body if line[:1] in (" ", "-") or line == "")
    new_len = sum(1 for line in body if line[:1] in (" ", "+") or line == "")
    return f"@@ -{_range(old_next, old_len)} +{_range(new_next, new_len)} @@{heading}"


def _range(start: int, length: int) -> str:
    if length == 0:  # an empty side names the line *before* the change, as diff prints it
        return f"{start - 1},0"
    return str(start) if length == 1 else f"{start},{length}"
