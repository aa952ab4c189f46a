"""Compiler, linter and type-checker reports: each diagnostic's message and location stay.

Agents run `cargo build`/`clippy`, `ruff check`, `gcc`/`make`, `mypy --pretty`, `tsc` and
read what they print: hundreds of diagnostics, most of the text code snippets quoted from files
the agent has on disk anyway, and most diagnostics repeating a few kinds. Two shapes, one record
each diagnostic:

- location first: `path:12:5: warning: msg [-Wflag]` (gcc, clang), `path:12: error: msg  [code]`
  (mypy), `path(12,5): error TS2322: msg` (tsc), `path:12:5 - error: msg (reportX)` (pyright),
  followed by the snippet, carets, wrapped message lines and the `note:` lines explaining it
  (with the include chain of a note in a header);
- header, then location: `error[E0308]: msg` / `F401 msg` and ` --> path:12:5` (rustc, cargo,
  clippy, ruff's default output), then the snippet, `= help:` notes, `note:`/`help:` children
  with their own `-->`, a suggested fix, and a blank line.

Kept: every line that is not part of a diagnostic (warnings about the tool itself, cargo's
`Compiling` lines, `make: *** Error 2`, the "Found 312 errors" summary), the first diagnostic of
each kind whole (a kind is the diagnostic's code, `[-Wunused-parameter]`, `E0308`, `F401`,
`reportUnusedImport`, or else its message with quoted names masked) and the first dozen naming
a term of the task, and the message and location of the next few of each kind whose message
quotes names none shown did, and of every other one naming a term of the task. The others of a
kind are listed by location in one marker where the first of them was, with the names their
messages quote. One marker at the top says what was left out; the whole report is retrievable
by its ref. A gcc scope line ("f.c: In function 'g':") stays while a diagnostic under it does.

When a line looks like part of a diagnostic (indented, a snippet) but belongs to none the parser
found, the layout is not one it knows (tsc --pretty's column-0 snippets): the report passes whole
rather than have kept lines read as part of the wrong diagnostic.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar

from headroom.ccr.markers import SparseRefs, marker
from headroom.compressors._task_match import task_matches
from headroom.compressors.base import Compressed, register
from headroom.compressors.search import looks_like_search
from headroom.envelopes import TRUNCATION_NOTE
from headroom.segments import ContentKind, Segment, content_ref

__all__ = ["FENCE_LINE", "DiagnosticsCompressor", "looks_like_diagnostics"]

_SEVERITY = r"(?:fatal error|error|warning|note|info|hint|remark)"
# Location first. The path has no blanks, bars or quotes (a snippet quoting `"a.c:3: warning:"`
# is code, not a diagnostic), and the severity follows the location directly and ends in a
# colon (after an optional TS code), so a grep hit whose text starts with "error" is not one.
# A linter writes a rule code where a compiler writes the severity (ruff's concise format,
# flake8, pylint: "x.py:3:1: F401 `os` imported but unused", "x.py:1:0: C0114: Missing ..."):
# only after a line and a column, which a grep hit never has.
_LOCATED = re.compile(
    r"^\s*(?P<path>[^\s:()\[\]|\"'`][^\s:()|\"'`]*)"
    r"(?::(?P<line>\d+)(?::(?P<col>\d+))?:? |\((?P<pline>\d+),(?P<pcol>\d+)\): | - )"
    r"(?:(?:- )?(?P<sev>" + _SEVERITY + r")(?: (?P<ts>TS\d+))?: "
    r"|(?P<rule>[A-Z]{1,6}\d{2,5}):?(?: \[\*\])? )(?P<msg>.*)$"
)


def _located(line: str) -> re.Match[str] | None:
    """A location-first diagnostic line; one with a rule code only with a column after its line."""
    found = _LOCATED.match(line)
    return None if found is None or (found["rule"] and not found["col"]) else found


# Header then location (rustc's and ruff's "annotate-snippets" layout).
_HEADER = re.compile(
    r"^(?:(?P<sev>error|warning|help|note)(?:\[(?P<code>[^\]\s]+)\])?|(?P<rule>[A-Z]{1,6}\d{2,5})(?: \[\*\])?):? "
    r"(?P<msg>\S.*)$"
)
_ARROW = re.compile(r"^\s*--> (?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?\s*$")
# Scope lines before diagnostics: gcc/clang's "f.c: In function 'g':" and g++'s "In instantiation
# of ..." with its "x.h:12:5:   required from ..." chain, mypy's "m.py: note: In function "f":";
# and the include chain before a diagnostic or scope in a header ("In file included from x.h:3,"
# then "    from y.c:1:").
_SCOPE = re.compile(
    r"^[^\s].*: (?:In (?:member )?function|In constructor|In destructor|In instantiation|In lambda function"
    r"|At top level|At global scope)\b|^\S+: note: In (?:function|class|member) "
)
_REQUIRED = re.compile(r"^\S+:\d+(?::\d+)?:\s+(?:recursively )?required (?:from|by)\b")
_INCLUDED = re.compile(r"^In file included from \S")
_INCLUDED_MORE = re.compile(r"^\s+from \S+[:,]$")
# Build-tool status lines between diagnostics (cargo's right-aligned verbs): never part of one.
_STATUS = re.compile(
    r"^\s*(?:Compiling|Checking|Finished|Running|Fresh|Building|Documenting|Downloaded|Downloading|Updating"
    r"|Locking|Adding|Blocking|Installing|Installed|Doc-tests|Fixed|Packaging|Verifying|Archiving|Uploading"
    r"|Removed|Summary|Waiting)\s"
)
# A markdown fence (a document quoting output). A `~~~` fence is indented three spaces at most
# (CommonMark): the `~~~~^^^^` or `~~~~~~` a Python 3.11+ traceback puts under the code that
# raised, and clang's `~~~~ ^ ~~`, are indented further (and an unindented one has a caret).
FENCE_LINE = re.compile(r"^(?:\s*```| {0,3}~~~(?![~^ ]*\^))", re.MULTILINE)
# A code closing a message: mypy's `  [arg-type]` (alone on a line when the message wrapped),
# gcc's ` [-Wunused-parameter]`, pyright's ` (reportUnusedImport)`.
_TRAILING_CODE = re.compile(
    r"(?:^|\s\s?)\[(?P<code>[-\w.:=/]+)\]$|(?:^|\s)\((?P<paren>report\w+|[a-z]+(?:-[a-z]+)+)\)$"
)
_QUOTED = re.compile(r"[`'\"‘“]([^`'\"‘’“”\n]{1,60})[`'\"’”]")
_NUMBER = re.compile(r"\d+")
_RULE = re.compile(r"^-{8,}$")  # between the hunks of a suggested fix
# " 14 |     code", "    |   ^^^", a suggested fix's "529 +     new code" and "    -  old code",
# rustc's "..." for skipped lines, and caret lines under a snippet. (A "+ gcc ..." trace line
# of `set -x` is none of these.)
_SNIPPET = re.compile(r"^\s*(?:\d+\s*)?\||^\s*\d+\s*[+-](?:\s|$)|^\s+[+-](?:\s|$)|^\s*\.\.\.\s*$|^\s*[~^][~^\s]*$")
_GUTTER = re.compile(r"^\s*(\d+)\s*\|")  # a snippet line under its number: " 377 |     code"
_NUMBERED_CODE = re.compile(r"^\d+ ")  # tsc --pretty's snippet lines, after a blank line
# tsc's closing table under "Errors  Files": "   244  src/stream.ts:2" (count, first error).
_ERRORS_PER_FILE = re.compile(r"^\s+\d+  \S+:\d+$")

_FIRST_PER_KIND = 1  # diagnostics of a kind shown by message, location and the line they flag
_HEADS_PER_KIND = 4  # then this many more by message and location, when their messages differ
_FULL_LINES = 12  # lines of a diagnostic shown in full past its message and location
_NAMED_FULL = 12  # diagnostics naming a term of the task shown in full (more keep message and location)
_LISTED_LOCATIONS = 40  # a kind's marker lists this many locations, then counts per file
_MIN_DIAGNOSTICS = 4
_MAX_WRAPPED = 8  # mypy --pretty wraps a long message (a long type) over this many more lines at most


@dataclass(slots=True)
class _Diagnostic:
    start: int  # first line (the include chain before a diagnostic in a header included)
    end: int  # one past the last line
    head: list[int]  # the lines kept when the snippet goes: message and location
    kind: str  # what groups it with others: its code, or its message with names masked
    path: str
    where: str  # "line:col" (or "line") in `path`
    names: tuple[str, ...]  # the names its message quotes, for the marker listing it
    text: str  # its message lines, searched for the task's terms
    matches_task: bool = False
    keep: str = "drop"  # "full", "gist" (no quoted code but the line it flags), "head" or "drop"


@dataclass(slots=True)
class _Parsed:
    diagnostics: list[_Diagnostic]
    scopes: list[tuple[int, int]]  # scope lines [start, end): kept while a diagnostic under them is


def _kind_of(severity: str, code: str | None, message: str, lines: list[str]) -> str:
    if code:
        return code
    for text in (message, *lines):  # pyright ends the last line of a diagnostic with its rule
        trailing = _TRAILING_CODE.search(text)
        if trailing:
            return trailing["code"] or trailing["paren"]
    masked = _NUMBER.sub("#", _QUOTED.sub("`_`", message))
    return f"{severity}: {masked[:80]}"


def _names(message: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_QUOTED.findall(message)))


def _is_continuation(line: str) -> bool:
    """A line that goes on a diagnostic: a snippet, a caret line, an indented note or text, the
    rule between the hunks of a suggested fix, rustc's `= note:`."""
    if not line or _STATUS.match(line):
        return False
    return (
        line[0] in " \t" or _SNIPPET.match(line) is not None or line.startswith("= ") or _RULE.match(line) is not None
    )


def _include_chain(lines: list[str], j: int) -> int:
    """One past the include chain starting at `j` ("In file included from", "    from ..."),
    or `j` when none starts there."""
    if not _INCLUDED.match(lines[j]):
        return j
    j += 1
    while j < len(lines) and _INCLUDED_MORE.match(lines[j]):
        j += 1
    return j


def _starts(lines: list[str], j: int, *, children: bool) -> bool:
    """Whether line `j` opens a diagnostic or a scope. With `children`, rustc's `note:` and
    `help:` with their own `-->` do not: rustc prints those inside the diagnostic they explain.
    (Location-first notes are weighed by `_is_child_note`.)"""
    line = lines[j]
    if _located(line) or _SCOPE.match(line) or _REQUIRED.match(line) or _INCLUDED.match(line):
        return True
    header = _HEADER.match(line)
    if header is None or j + 1 >= len(lines) or _ARROW.match(lines[j + 1]) is None:
        return False
    return not (children and header["sev"] in ("note", "help"))


def _is_child_note(note: re.Match[str], path: str, line: str) -> bool:
    """Whether a location-first `note:` explains the diagnostic before it: gcc and clang write
    theirs with a column (a macro expansion, a declaration in a header); mypy writes its
    explanations at the error's own line, while a note with its own code
    (`[annotation-unchecked]`) or at another line (`reveal_type`) stands alone."""
    if note["sev"] != "note" or _TRAILING_CODE.search(note["msg"]):
        return False
    return note["col"] is not None or (note["path"] == path and (note["line"] or note["pline"]) == line)


def _scope_end(lines: list[str], i: int) -> int:
    """One past the scope group starting at `i` (an include chain, then scope and "required
    from" lines), or `i` when no scope line follows."""
    j = _include_chain(lines, i)
    k = j
    while k < len(lines) and (_SCOPE.match(lines[k]) or _REQUIRED.match(lines[k])):
        k += 1
    return k if k > j else i


def _wrapped(lines: list[str], i: int, message: str) -> list[int]:
    """The lines a message wrapped onto (mypy --pretty): taken only when one of them ends with
    the diagnostic's `[code]`, so a `make: *** Error 2` or a closing fence stays outside."""
    if _TRAILING_CODE.search(message):
        return []
    taken: list[int] = []
    for j in range(i + 1, min(len(lines), i + 1 + _MAX_WRAPPED)):
        line = lines[j]
        if not line.strip() or _starts(lines, j, children=False):
            return []
        if _TRAILING_CODE.search(line):  # mypy may indent the line holding only the code
            return [*taken, j]
        if _is_continuation(line):
            return []
        taken.append(j)
    return []


def _parse(raw: list[str]) -> _Parsed | None:
    """The diagnostics of a report, or None when some line looks like part of a diagnostic yet
    belongs to none: the layout is not one this parser knows, and dropping would misplace lines."""
    lines = [line.rstrip("\r") for line in raw]
    n = len(lines)
    diagnostics: list[_Diagnostic] = []
    scopes: list[tuple[int, int]] = []
    outside: list[int] = []
    i = 0
    while i < n:
        line = lines[i]
        scope_end = _scope_end(lines, i)
        if scope_end > i:
            scopes.append((i, scope_end))
            i = scope_end
            continue
        chain_end = _include_chain(lines, i)
        located = _located(lines[chain_end]) if chain_end < n else None
        header = _HEADER.match(line) if located is None else None
        arrow = _ARROW.match(lines[i + 1]) if header is not None and i + 1 < n else None
        if located is None and arrow is None:
            outside.append(i)
            i += 1
            continue
        start = i
        if located is not None:
            at = chain_end
            path = located["path"]
            line_no = located["line"] or located["pline"] or ""
            col = located["col"] or located["pcol"]
            severity, code, message = located["sev"] or "", located["ts"] or located["rule"], located["msg"]
            wrapped = _wrapped(lines, at, message)
            head = [at, *wrapped]
            message = " ".join([message, *(lines[k].strip() for k in wrapped)])
            j = head[-1] + 1
        else:
            assert header is not None and arrow is not None
            path, line_no, col = arrow["path"], arrow["line"], arrow["col"]
            severity, code, message = header["sev"] or "", header["code"] or header["rule"], header["msg"]
            head = [i, i + 1]
            j = i + 2
        # The rest: snippet, notes and children, up to the next diagnostic or scope, a line that
        # is part of none, or a blank line (kept with it) not followed by more snippet.
        while j < n:
            current = lines[j]
            # A note explaining this diagnostic, with the include chain of a header it is in.
            chain = _include_chain(lines, j)
            note = _located(lines[chain]) if chain < n else None
            if note is not None and _is_child_note(note, path, line_no):
                j = chain + 1
                continue
            if _starts(lines, j, children=header is not None):
                break
            if not current.strip():
                after = lines[j + 1] if j + 1 < n else ""
                # tsc --pretty: its numbered code line, or an indented related location
                # ("  x.js:382:9", its code and "An outer value of 'this' is shadowed...").
                more = _SNIPPET.match(after) is not None or (
                    located is not None and (_NUMBERED_CODE.match(after) is not None or after[:1] in (" ", "\t"))
                )
                j += 1  # a blank line goes with the diagnostic before it
                if more and not _starts(lines, j, children=False):
                    continue
                break
            if _is_continuation(current) or (header is not None and current.startswith(("help:", "note:"))):
                j += 1
                continue
            if located is not None and _NUMBERED_CODE.match(current) and not lines[j - 1].strip():
                j += 1  # tsc --pretty: "12 code" after a blank line
                continue
            break
        where = f"{line_no}:{col}" if col else line_no
        diagnostics.append(
            _Diagnostic(
                start=start,
                end=j,
                head=head,
                kind=_kind_of(severity, code, message, lines[head[-1] + 1 : j]),
                path=path,
                where=where,
                names=_names(message),
                text=" ".join(lines[k] for k in head).lower(),
            )
        )
        i = j
    orphaned = False  # past a client's truncation note, the rest of a cut diagnostic: it stays
    previous = -2
    for k in outside:  # in line order
        orphaned = bool(TRUNCATION_NOTE.search(lines[k])) or (orphaned and k == previous + 1)
        previous = k
        if orphaned:
            continue
        line = lines[k]
        if not line.strip() or _STATUS.match(line) or _ERRORS_PER_FILE.match(line):
            continue
        if _SNIPPET.match(line) or line[0] in " \t":
            return None
    return _Parsed(diagnostics, scopes)


# ruff's `--output-format=grouped`: a file's path alone on a line, then its findings indented,
# `  12:5  F401 [*] msg`.
_GROUP_PATH = re.compile(r"^(?P<path>[^\s:][^\s]*?\.[A-Za-z0-9]{1,8}):$")
_GROUPED = re.compile(r"^\s+(?P<line>\d+):(?P<col>\d+)\s+(?P<rest>[A-Z]{1,6}\d{2,5}\b.*)$")
_MIN_GROUPED = 3


def _grouped_as_concise(lines: list[str]) -> list[str] | None:
    """A grouped report (`path:` then indented `line:col CODE msg` lines) written one finding
    per line, `path:line:col: CODE msg`, as the concise format has it; other lines as they are
    (the headings go). None when the text is not one."""
    out: list[str] = []
    path: str | None = None
    findings = 0
    for line in lines:
        heading = _GROUP_PATH.match(line)
        if heading:
            path = heading["path"]
            continue
        finding = _GROUPED.match(line) if path is not None else None
        if finding:
            out.append(f"{path}:{finding['line']}:{finding['col']}: {finding['rest']}")
            findings += 1
            continue
        if line.strip() and not line.startswith((" ", "\t")):
            path = None  # a summary ("Found 12 errors.") ends the last file's findings
        out.append(line)
    return out if findings >= _MIN_GROUPED else None


def looks_like_diagnostics(head: str) -> bool:
    """At least two header + `-->` diagnostics, or three location-first diagnostics that go on
    over more lines (a snippet, wrapped text) or make up most of the text, or a report grouped
    by file (ruff's `grouped`). Never a document with fenced blocks (a bug report quoting a
    build): that is a markdown document."""
    if FENCE_LINE.search(head):
        return False
    lines = head.split("\n")[:-1]  # the last may be cut
    if _grouped_as_concise(lines) is not None:
        return True
    arrows = located = coded = continued = 0
    for k, line in enumerate(lines):
        if line.startswith((" ", "\t")) and _ARROW.match(line) and k and _HEADER.match(lines[k - 1]):
            arrows += 1
            if arrows >= 2:
                return True
            continue
        found = _located(line)
        if found is None:
            continue
        located += 1
        coded += found["rule"] is not None
        # tsc --pretty: a blank line, then the code line numbered ("12 code") and its underline.
        if k + 2 < len(lines) and not lines[k + 1].strip() and _NUMBERED_CODE.match(lines[k + 2]):
            continued += 1
            continue
        for after in lines[k + 1 : k + 2 + _MAX_WRAPPED]:  # past the lines a message wrapped onto
            if not after.strip() or _located(after):
                break
            if _is_continuation(after):
                continued += 1
                break
    if located < 3:
        return False
    if continued:
        return True
    # One line per diagnostic (plain mypy, gcc -fdiagnostics-plain-output): grep's `path:N:`
    # form, which the search compressor lists more tightly; taken here only when it declines
    # (mypy's notes repeat a line number, which a grep never does). A linter's rule codes are
    # no grep's: grouped by code here, whatever the line numbers do.
    filled = sum(1 for line in lines if line.strip())
    return located * 2 >= filled and (coded * 2 >= located or not looks_like_search(head))


_GROUPED_NOTE = "the report grouped by file, shown one finding per line (path:line:col: CODE message)"


def _listing(dropped: list[_Diagnostic], first: _Diagnostic) -> str:
    """Where the dropped diagnostics of one kind are: `path 12:5 (x), 40:1 (y); path2 3:1`,
    with the names each message quotes that the kind's first one does not, the first
    `_LISTED_LOCATIONS` of them, then how many more per file."""
    by_path: dict[str, list[str]] = defaultdict(list)
    for diagnostic in dropped[:_LISTED_LOCATIONS]:
        where = diagnostic.where
        names = "/".join(name for name in diagnostic.names if name not in first.names)[:60]
        if names:
            where += f" ({names})"
        by_path[diagnostic.path].append(where)
    text = "; ".join(f"{path} {', '.join(places)}" for path, places in by_path.items())
    rest = dropped[_LISTED_LOCATIONS:]
    if rest:
        counts: dict[str, int] = defaultdict(int)
        for diagnostic in rest:
            counts[diagnostic.path] += 1
        text += f"; {len(rest)} more: " + ", ".join(f"{path} ({n})" for path, n in counts.items())
    return text


@register(sniffer=looks_like_diagnostics, sniff_rank=15)
class DiagnosticsCompressor:
    name: ClassVar[str] = "diagnostics"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.DIAGNOSTICS})
    priority: ClassVar[int] = 10

    def _compress_grouped(self, segment: Segment, concise: str) -> Compressed:
        """A grouped report, compressed as the concise one it rewrites to: each kept finding
        then names its file, and the markers cite the concise text's lines, stored beside the
        original under its own ref."""
        concise_ref = content_ref(concise)
        shown = self.compress(Segment(concise, segment.context, ContentKind.DIAGNOSTICS, parent_ref=concise_ref))
        header = marker(_GROUPED_NOTE, segment.ref)
        derived = {concise_ref: concise, **shown.derived}
        return Compressed(f"{header}\n{shown.text}", lossy=True, notes=dict(shown.notes), derived=derived)

    def compress(self, segment: Segment) -> Compressed:
        lines = segment.text.split("\n")
        concise = _grouped_as_concise(lines)
        if concise is not None:
            if segment.numbered:  # a Read's page: rewritten lines could not keep their numbers
                return Compressed(segment.text)
            return self._compress_grouped(segment, "\n".join(concise))
        parsed = _parse(lines)
        if parsed is None or len(parsed.diagnostics) < _MIN_DIAGNOSTICS:
            return Compressed(segment.text)
        diagnostics = parsed.diagnostics
        by_kind: dict[str, list[_Diagnostic]] = defaultdict(list)
        for diagnostic in diagnostics:
            by_kind[diagnostic.kind].append(diagnostic)
        for diagnostic, named in zip(
            diagnostics, task_matches([d.text for d in diagnostics], segment.context), strict=True
        ):
            diagnostic.matches_task = named
        _choose(by_kind)
        dropped_lines: set[int] = set()
        markers_at: dict[int, str] = {}  # line -> the summary of the marker put before it
        for kind, group in by_kind.items():
            dropped = [d for d in group if d.keep == "drop"]
            if dropped:
                label = kind if len(kind) <= 60 else kind[:57] + "..."
                summary = f"{len(dropped)} more {label}: {_listing(dropped, group[0])}"
                markers_at[dropped[0].start] = summary
        for diagnostic in diagnostics:
            span = range(diagnostic.start, diagnostic.end)
            if diagnostic.keep == "full":
                # A long one (a fix spanning a whole `__all__`) shows its first lines.
                cut = diagnostic.head[-1] + 1 + _FULL_LINES
                if diagnostic.end - cut > 2:
                    dropped_lines.update(range(cut, diagnostic.end))
                    markers_at[cut] = f"{diagnostic.end - cut} more lines of this diagnostic"
                continue
            if diagnostic.keep == "gist":
                dropped_lines.update(_quoted_code(lines, diagnostic))
                continue
            keep = set(diagnostic.head) if diagnostic.keep == "head" else set()
            dropped_lines.update(k for k in span if k not in keep)
        # A scope ("f.c: In function 'g':") stays while a diagnostic under it does. Diagnostics
        # and scopes are both in line order: one walk pairs them.
        bounds = [start for start, _ in parsed.scopes[1:]] + [len(lines)] if parsed.scopes else []
        k = 0
        for (start, end), bound in zip(parsed.scopes, bounds, strict=True):
            while k < len(diagnostics) and diagnostics[k].start < end:
                k += 1
            shown = False
            while k < len(diagnostics) and diagnostics[k].start < bound:
                shown = shown or diagnostics[k].keep != "drop"
                k += 1
            if not shown:
                dropped_lines.update(range(start, end))
        if not dropped_lines:
            return Compressed(segment.text)
        full = sum(d.keep == "full" for d in diagnostics)
        gists = sum(d.keep == "gist" for d in diagnostics)
        heads = sum(d.keep == "head" for d in diagnostics)
        listed = len(diagnostics) - full - gists - heads
        summary = (
            f"{len(diagnostics)} diagnostics of {len(by_kind)} kinds: {full} in full (those naming the task)"
            + (f", {gists} the first of a kind without its quoted code but the line it flags" if gists else "")
            + f", {heads} by message and location without their code snippets"
        )
        top = marker(summary + (f", the other {listed} listed by location" if listed else ""), segment.ref)
        refs = SparseRefs(segment.ref)  # the ref on a kind's marker only now and then
        out = [top, *refs.weave(lines, dropped_lines, markers_at)]
        notes = {"diagnostics": len(diagnostics), "kinds": len(by_kind), "diagnostics_listed": listed}
        return Compressed("\n".join(out), lossy=True, notes=notes)


def _quoted_code(lines: list[str], diagnostic: _Diagnostic) -> list[int]:
    """The lines of a diagnostic quoting code (snippet, carets, a suggested fix), but the one
    quoting the line it flags (`377 |     if (status == ...`); its notes, help and related
    locations are not code and stay."""
    number = diagnostic.where.split(":", 1)[0]
    quoted = []
    for k in range(diagnostic.head[-1] + 1, diagnostic.end):
        line = lines[k]
        gutter = _GUTTER.match(line)
        tsc = _NUMBERED_CODE.match(line) if gutter is None and not lines[k - 1].strip() else None
        shown_number = gutter.group(1) if gutter else tsc.group(0).strip() if tsc else None
        if shown_number == number:
            continue  # the flagged line
        if shown_number is not None or _SNIPPET.match(line):
            quoted.append(k)
    return quoted


def _choose(by_kind: dict[str, list[_Diagnostic]]) -> None:
    """What each diagnostic keeps: the first dozen naming the task whole; the first of its kind
    all but its quoted code, which keeps only the line it flags (the context lines, carets and
    suggested fix around it are in the file the agent opens to fix it); then, by
    message and location, the others naming the task and a few whose message quotes names none
    shown before did (the same message again says nothing its location in the listing does
    not); the rest only their location, in the listing."""
    named_full = 0
    for group in by_kind.values():
        heads = 0
        shown: set[tuple[str, ...]] = set()
        for rank, diagnostic in enumerate(group):
            if diagnostic.matches_task and named_full < _NAMED_FULL:
                diagnostic.keep = "full"
                named_full += 1
            elif rank < _FIRST_PER_KIND:
                diagnostic.keep = "gist"
            elif diagnostic.matches_task or (heads < _HEADS_PER_KIND and diagnostic.names not in shown):
                diagnostic.keep = "head"
                heads += 1
            if diagnostic.keep != "drop":
                shown.add(diagnostic.names)
