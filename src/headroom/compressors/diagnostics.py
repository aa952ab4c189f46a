"""Compiler, linter and type-checker reports: each diagnostic's message and location stay.

Agents run `cargo build`/`clippy`, `ruff check`, `gcc`/`make`, `mypy --pretty`, `tsc` and
read what they print: hundreds of diagnostics, most of the text code snippets quoted from files
the agent has on disk anyway, and most diagnostics repeating a few kinds. Two shapes, one record
each diagnostic:

- location first: `path:12:5: warning: msg [-Wflag]` (gcc, clang), `path:12: error: msg  [code]`
  (mypy), `path(12,5): error TS2322: msg` and `path:12:5 - error TS2322: msg` (tsc, pyright),
  followed by the snippet, carets and wrapped message lines;
- header, then location: `error[E0308]: msg` / `F401 msg` and ` --> path:12:5` (rustc, cargo,
  clippy, ruff's default output), then the snippet, `= help:` notes and a blank line.

Kept: every line that is not part of a diagnostic (warnings about the tool itself, the "Found
312 errors" summary), the first diagnostic of each kind whole (a kind is the diagnostic's code,
`[-Wunused-parameter]`, `E0308`, `F401`, or else its message with quoted names masked) and the
first dozen naming a term of the task, and the message and location of the next few of each
kind whose message quotes other names, and of every other one naming a term of the task.
The others of a kind are listed by location in one marker where the first of them was, with
the names their messages quote when those differ. One marker at the top says what was left out;
the whole report is retrievable by its ref. Context lines such as gcc's "In function 'f':"
belong to the diagnostic that follows them and go with it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar

from headroom.ccr.markers import marker
from headroom.compressors.base import Compressed, register
from headroom.segments import ContentKind, Segment

__all__ = ["DiagnosticsCompressor", "looks_like_diagnostics"]

_SEVERITY = r"(?:fatal error|error|warning|note|info|hint|remark)"
# Location first. The severity must follow the location directly and end in a colon (after an
# optional TS code), so a grep hit whose text starts with "error" is not a diagnostic.
_LOCATED = re.compile(
    r"^\s*(?P<path>[^\s:()\[\]][^:()\n]*?)"
    r"(?::(?P<line>\d+)(?::(?P<col>\d+))?:? |\((?P<pline>\d+),(?P<pcol>\d+)\): | - )"
    r"(?:- )?(?P<sev>" + _SEVERITY + r")(?: (?P<ts>TS\d+))?: (?P<msg>.*)$"
)
# Header then location (rustc's and ruff's "annotate-snippets" layout).
_HEADER = re.compile(
    r"^(?:(?P<sev>error|warning|help|note)(?:\[(?P<code>[^\]\s]+)\])?|(?P<rule>[A-Z]{1,6}\d{2,5})(?: \[\*\])?):? "
    r"(?P<msg>\S.*)$"
)
_ARROW = re.compile(r"^\s*--> (?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?\s*$")
# gcc/clang context before a diagnostic: "f.c: In function 'g':", "In file included from x.h:3,".
_CONTEXT = re.compile(
    r"^(?:In file included from |\s+from .+[:,]$|[^\s].*: (?:In (?:member )?function|In constructor|In destructor"
    r"|In instantiation|In lambda function|At top level|At global scope)\b)"
)
_TRAILING_CODE = re.compile(r"\s\s?\[(?P<code>[-\w.:=/]+)\]$|\s\((?P<paren>report\w+|[a-z]+(?:-[a-z]+)+)\)$")
_QUOTED = re.compile(r"[`'\"‘“]([^`'\"‘’“”\n]{1,60})[`'\"’”]")
_NUMBER = re.compile(r"\d+")
# " 14 |     code", "    |   ^^^", and a suggested fix's "529 +     new code" lines.
_RULE = re.compile(r"^-{8,}$")
_SNIPPET = re.compile(r"^\s*(?:\d+\s*)?(?:\||[+-](?:\s|$))")

_FULL_PER_KIND = 1  # diagnostics of a kind shown whole, snippet and notes included
_HEADS_PER_KIND = 4  # then this many more by message and location, when their messages differ
_FULL_LINES = 12  # lines of a diagnostic shown in full past its message and location
_NAMED_FULL = 12  # diagnostics naming a term of the task shown in full (more keep message and location)
_LISTED_LOCATIONS = 40  # a kind's marker lists this many locations, then counts per file
_MIN_DIAGNOSTICS = 4


@dataclass(slots=True)
class _Diagnostic:
    start: int  # first line (its context lines included)
    end: int  # one past the last line
    head: list[int]  # the lines kept when the snippet goes: context, message, location
    kind: str  # what groups it with others: its code, or its message with names masked
    location: str  # "path line:col"
    path: str
    names: tuple[str, ...]  # the names its message quotes, for the marker listing it
    text: str  # its message lines, searched for the task's terms
    matches_task: bool = False
    keep: str = "drop"  # "full", "head" or "drop"


def _kind_of(severity: str, code: str | None, message: str) -> str:
    if code:
        return code
    trailing = _TRAILING_CODE.search(message)
    if trailing:
        return trailing["code"] or trailing["paren"]
    masked = _NUMBER.sub("#", _QUOTED.sub("`_`", message))
    return f"{severity}: {masked[:80]}"


def _names(message: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_QUOTED.findall(message)))


def _is_continuation(line: str) -> bool:
    """A line that goes on a diagnostic: a snippet, a caret line, an indented note or text, the
    rule between the hunks of a suggested fix."""
    return bool(line) and (
        line[0] in " \t" or _SNIPPET.match(line) is not None or line.startswith("= ") or _RULE.match(line) is not None
    )


def _parse(lines: list[str]) -> list[_Diagnostic]:
    diagnostics: list[_Diagnostic] = []
    pending_context: int | None = None  # first line of a run of context lines before a diagnostic
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        located = _LOCATED.match(line)
        header = _HEADER.match(line) if located is None else None
        arrow = _ARROW.match(lines[i + 1]) if header is not None and i + 1 < n else None
        if located is None and arrow is None:
            is_context = _CONTEXT.match(line) is not None
            pending_context = (i if pending_context is None else pending_context) if is_context else None
            i += 1
            continue
        start = i if pending_context is None else pending_context
        head = list(range(start, i + 1))
        if located is not None:
            path = located["path"].strip()
            line_no = located["line"] or located["pline"] or ""
            col = located["col"] or located["pcol"]
            severity, code, message = located["sev"], located["ts"], located["msg"]
            j = i + 1
            # Wrapped message lines (mypy --pretty) come before the indented snippet.
            while j < n and lines[j].strip() and not _is_continuation(lines[j]):
                if _starts(lines, j, children=False):
                    break
                head.append(j)
                j += 1
        else:
            assert header is not None and arrow is not None
            path, line_no, col = arrow["path"], arrow["line"], arrow["col"]
            severity, code, message = header["sev"] or "", header["code"] or header["rule"], header["msg"]
            head.append(i + 1)
            j = i + 2
        # The rest of the diagnostic: its snippet and notes, up to the next diagnostic, a line
        # that is not part of one, or a blank line (kept with it) not followed by more snippet.
        while j < n and not _starts(lines, j, children=header is not None):
            if not lines[j].strip():
                if j + 1 < n and _is_continuation(lines[j + 1]) and not _starts(lines, j + 1, children=False):
                    j += 1
                    continue
                j += 1  # the blank line closing this diagnostic
                break
            if not _is_continuation(lines[j]) and located is not None:
                break
            if header is not None and not _is_continuation(lines[j]) and not lines[j].startswith(("help:", "note:")):
                break
            j += 1
        message_text = " ".join(lines[k] for k in head)
        wrapped = " ".join(lines[k].strip() for k in head if k > i and located is not None)
        message = f"{message} {wrapped}" if wrapped else message
        where = f"{line_no}:{col}" if col else line_no
        diagnostics.append(
            _Diagnostic(
                start=start,
                end=j,
                head=head,
                kind=_kind_of(severity, code, message),
                location=f"{path} {where}",
                path=path,
                names=_names(message),
                text=message_text.lower(),
            )
        )
        pending_context = None
        i = j
    return diagnostics


def _starts(lines: list[str], j: int, *, children: bool) -> bool:
    """Whether line `j` opens a diagnostic (or its context). With `children`, a `note:` or
    `help:` with its own `-->` does not: rustc prints those inside the diagnostic they explain."""
    line = lines[j]
    if _LOCATED.match(line) or _CONTEXT.match(line):
        return True
    header = _HEADER.match(line)
    if header is None or j + 1 >= len(lines) or _ARROW.match(lines[j + 1]) is None:
        return False
    return not (children and header["sev"] in ("note", "help"))


def looks_like_diagnostics(head: str) -> bool:
    """At least two header + `-->` diagnostics, or three location-first diagnostics of which
    one goes on over more lines (a snippet, wrapped text) or uses tsc's `path(12,5):` form. A
    one-line-per-diagnostic report in grep's `path:N:` form is left to the search compressor."""
    lines = head.split("\n")[:-1]  # the last may be cut
    arrows = located = continued = parens = 0
    for k, line in enumerate(lines):
        if line.startswith((" ", "\t")) and _ARROW.match(line) and k and _HEADER.match(lines[k - 1]):
            arrows += 1
            if arrows >= 2:
                return True
            continue
        m = _LOCATED.match(line)
        if m is None:
            continue
        located += 1
        parens += m["pline"] is not None
        if k + 1 < len(lines) and _is_continuation(lines[k + 1]):
            continued += 1
    return located >= 3 and (continued >= 1 or parens >= 3)


def _listing(dropped: list[_Diagnostic], first: _Diagnostic) -> str:
    """Where the dropped diagnostics of one kind are: `path 12:5 (x), 40:1 (y); path2 3:1`,
    with the names each message quotes that the kind's first one does not, the first
    `_LISTED_LOCATIONS` of them, then how many more per file."""
    by_path: dict[str, list[str]] = defaultdict(list)
    for diagnostic in dropped[:_LISTED_LOCATIONS]:
        where = diagnostic.location[len(diagnostic.path) + 1 :]
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

    def compress(self, segment: Segment) -> Compressed:
        lines = segment.text.split("\n")
        diagnostics = _parse(lines)
        if len(diagnostics) < _MIN_DIAGNOSTICS:
            return Compressed(segment.text)
        by_kind: dict[str, list[_Diagnostic]] = defaultdict(list)
        for diagnostic in diagnostics:
            by_kind[diagnostic.kind].append(diagnostic)
        # Whole words only ("over" is not in "overrides"), and a term in most diagnostics (the
        # package the command checked) tells none apart.
        patterns = [re.compile(rf"(?<![\w]){re.escape(term)}(?![\w])") for term in sorted(segment.context.terms())]
        found = [[p.search(d.text) is not None for d in diagnostics] for p in patterns]
        telling = [hits for hits in found if sum(hits) * 4 <= len(diagnostics)]
        for k, diagnostic in enumerate(diagnostics):
            diagnostic.matches_task = any(hits[k] for hits in telling)
        named_full = 0
        for group in by_kind.values():
            heads = 0
            for rank, diagnostic in enumerate(group):
                if rank < _FULL_PER_KIND or (diagnostic.matches_task and named_full < _NAMED_FULL):
                    diagnostic.keep = "full"
                    named_full += rank >= _FULL_PER_KIND
                elif diagnostic.matches_task or (heads < _HEADS_PER_KIND and diagnostic.names != group[0].names):
                    # The same message again says nothing its location in the listing does not.
                    diagnostic.keep = "head"
                    heads += 1
        dropped_lines: set[int] = set()
        markers_at: dict[int, str] = {}
        for kind, group in by_kind.items():
            dropped = [d for d in group if d.keep == "drop"]
            if dropped:
                label = kind if len(kind) <= 60 else kind[:57] + "..."
                summary = f"{len(dropped)} more {label}: {_listing(dropped, group[0])}"
                markers_at[dropped[0].start] = marker(summary, segment.ref)
        for diagnostic in diagnostics:
            span = range(diagnostic.start, diagnostic.end)
            if diagnostic.keep == "full":
                # A long one (a fix spanning a whole `__all__`) shows its first lines.
                cut = diagnostic.head[-1] + 1 + _FULL_LINES
                if diagnostic.end - cut > 2:
                    dropped_lines.update(range(cut, diagnostic.end))
                    markers_at[cut] = marker(f"{diagnostic.end - cut} more lines of this diagnostic", segment.ref)
                continue
            keep = set(diagnostic.head) if diagnostic.keep == "head" else set()
            dropped_lines.update(k for k in span if k not in keep)
        if not dropped_lines:
            return Compressed(segment.text)
        shown = sum(d.keep != "drop" for d in diagnostics)
        listed = len(diagnostics) - shown
        summary = (
            f"{len(diagnostics)} diagnostics of {len(by_kind)} kinds: the first of each kind in full, "
            f"{shown - len(by_kind)} more by message and location without their code snippets"
        )
        top = marker(summary + (f", the other {listed} listed by location" if listed else ""), segment.ref)
        out = [top]
        for k, line in enumerate(lines):
            if k in markers_at:
                out.append(markers_at[k])
            if k not in dropped_lines:
                out.append(line)
        notes = {"diagnostics": len(diagnostics), "kinds": len(by_kind), "diagnostics_listed": listed}
        return Compressed("\n".join(out), lossy=True, notes=notes)
