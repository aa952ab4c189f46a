"""Log compressor: collapse repeated events by template, keep everything an operator hunts for.

Each event (a line, or a header line plus its stack trace) gets a template (see
`_log_templates`). A template seen many times collapses to its first occurrence, its last
one, the occurrences that show a value not seen yet (another IP, host, id, status code) and
one marker with the count and time range of the rest. Kept verbatim: errors and warnings
(collapsed only when they repeat a lot, and then with every distinct key value shown), whole
stack traces, one event of context on each side of an error, unique events, the first and
last event, and events naming a term from the user's task or the tool arguments.

A log read in pages (an agent's Read with offset/limit, `sed -n`, `tail`) comes as several
units of one request. A unit after earlier log pages (`SegmentContext.earlier_logs`) takes the
templates they showed as seen: their events collapse into its markers ("N more lines like the
one shown earlier"), unless they name a value no earlier page showed; events of a new template
are selected as above.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import ClassVar

from headroom.ccr.markers import marker
from headroom.compressors._log_templates import (
    HEADER,
    MASK_CHARS,
    PLACEHOLDER,
    Record,
    extract_timestamp,
    fill_words,
    line_severity,
    merge_similar,
    split_records,
    template_lines,
    value_kind,
    variable_words,
)
from headroom.compressors.base import Compressed, register
from headroom.compressors.diagnostics import FENCE_LINE
from headroom.segments import ContentKind, EarlierLogs, LogPage, Segment
from headroom.tokens import count_tokens

__all__ = ["LogCompressor", "log_page", "looks_like_logs"]

_MIN_LINES = 12  # below this a log is read faster than any summary of it
_KEEP_ALL = (2, 4)  # groups this small are kept whole: (normal, warning/error)
_MAX_VARIANTS = (3, 8)  # extra "new value" occurrences kept per group: (normal, warning/error)
_MAX_KEY_DISTINCT = (3, 8)  # a variable with at most this many values is a key: (normal, warning/error)
_KEY_REPEATS = (3, 1)  # ... and must repeat this many times per value on average
_MAX_NUM_DISTINCT = 3  # a plain number is a key only with this few values (status codes)
_MAX_TERM_HITS = 4  # occurrences kept per group because they name a term of the task
_MARKER_VALUES = 12  # unseen key values listed in a marker
_MARKER_COST = 80  # approx. characters of a marker line: never drop less than twice that
_NO_KEY_KINDS = frozenset({"ts", "dur"})
_LONG_RECORD = 12  # records longer than this get recursion runs squeezed
_PLAIN_KINDS = frozenset({"ts", "dur", "num", "ip"})  # values that name nothing by themselves
# Lines kept only to show an identifier no other kept line shows: at most a fifth of the log
# (at least this many), else the markers name the identifiers instead.
_COVER_MIN, _COVER_SHARE = 40, 5
# ... unless the identifiers are names of things (`_Plan._names_things`): up to this many listed.
_NAMES_COVER_MAX = 2_000
_DIGITS = re.compile(r"\d+")
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+]*(?:[.-][A-Za-z][A-Za-z0-9+]*)*")  # `libbpf1`, `vim-common`
_ODD_SHARE = 10  # a listing's lines that differ where at most a tenth of them do stay whole
_LISTED_CHARS = 160  # one record's differing words, in a listing marker
_HINT_WORDS, _HINT_CHARS = 6, 60  # a template named in a marker without a kept event of it
_WORD_EDGES = ",;()[]{}<>\"'"  # around a word in a line or a marker's list of values

_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\ufffd]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NAMED_ID = re.compile(r"[A-Za-z]{2,}[_-]?\d")  # "ord_7932", "job-42": not a bare hash or UUID
_IDENTIFIER = re.compile(r"[\d_.:/@-]")
_TIME_PART = re.compile(r"\d{1,2}:\d{2}:\d{2}")

# Sniffer: lines that look like log events or trace lines.
_K8S_EVENT = re.compile(
    r"^(?:LAST SEEN\s+TYPE\s+REASON|NAMESPACE\s+LAST SEEN\s)"
    r"|^(?:\S+\s+)?(?:<unknown>|\d+[smhd]\S*|\d{4}-\d{2}-\d{2}T\S+)\s+(?:Normal|Warning)\s+[A-Z]\w+\s+\S+"
    r"|^\s+(?:Normal|Warning)\s+[A-Z]\w+\s+\S+|^\s+(?:Type\s+Reason\s+Age|-{4}\s+-{6}\s)"  # `kubectl describe`
)
# A timestamp followed by delimiter-separated fields: CSV/TSV rows, not log lines.
_CSV_ROW = re.compile(r"^[^,;\t]*?\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?[,;\t][^ ]*[,;\t]")
_TRACE_LINE = re.compile(
    r"^(?:Traceback \(most recent call last\)|\s+File \"|\s+at\s+[\w$.<>/]+\(|Caused by:|\s*\.\.\. \d+ more"
    r"|[\w.]+(?:Error|Exception): )"
)
# strace without time stamps (`-f` puts the PID first): one system call per line, its result
# after ` = ` (a number, an address or `?`, then an errno or a note; `-T`'s time), a call split
# around another process's, signals and exits. Not `len(x) = 5`: a result is a number alone.
_SYSCALL = re.compile(
    r"^(?:\[pid\s+\d+\] |\d+ +)?(?:[a-z_][a-z0-9_]*\(.*(?:\)\s+= (?:-?\d+|0x[0-9a-f]+|\?)"
    r"(?: E[A-Z0-9]+ \(.*\)| \(.*\))?(?: <\d+\.\d+>)?|<unfinished \.\.\.>)"
    r"|<\.\.\. [a-z_0-9]+ resumed>.*|--- SIG[A-Z0-9]+ .*---|\+\+\+ (?:exited|killed) .*\+\+\+)$"
)
# Package tools' terminal output (apt's term.log: dpkg progress between "Log started/ended"
# lines, maintainer-script messages): no timestamps, but one event per line all the same.
_PACKAGE_TOOL = re.compile(
    r"^(?:Log (?:started|ended): \d{4}-\d{2}-\d{2}|Selecting previously unselected package |\(Reading database \.\.\."
    r"|Preparing to unpack |Unpacking |Setting up |Processing triggers for |Removing |Purging configuration files for "
    r"|(?:update-alternatives|invoke-rc\.d|dpkg|debconf): |Created symlink )"
)
# What `pip install` and a build echo, one line each: what pip found, fetched, built and
# installed; setuptools' steps; make's compiler and linker commands. A README or a script can
# hold the same lines, so they count only in a text that is neither (no fence, no `#!`).
_BUILD_TOOL = re.compile(
    r"^(?:Requirement already satisfied: |Collecting \S|\s+(?:Downloading|Using cached) \S"
    r"|Installing collected packages: |Successfully (?:installed|built|uninstalled) "
    r"|\s+Attempting uninstall: |\s+Found existing installation: |\s+(?:Building|Created) wheel for "
    r"|Building wheels for collected packages: |\s+Stored in directory: "
    r"|\s*(?:running (?:build|install|egg_info|dist_info|bdist_wheel|develop)\w*|copying \S+ -> |creating \S)"
    r"|\s*(?:\S+-)?(?:gcc|g\+\+|cc|c\+\+|clang(?:\+\+)?|ld|ar|nvcc)(?:-\d+)? -\S)"
)
_JSON_LOG = re.compile(r'^\{.*"(?:level|severity|lvl|msg|message|@?timestamp|time|ts)"\s*:')
_SNIFF_LINES = 60


def looks_like_logs(text: str) -> bool:
    """Cheap check on a prefix: do most non-blank lines look like log events or trace lines?"""
    total = 0
    hits = 0
    tool_output = not text.startswith("#!") and FENCE_LINE.search(text) is None
    for line in text.split("\n", _SNIFF_LINES)[:_SNIFF_LINES]:
        if not line.strip():
            continue
        total += 1
        if line[:1] == "{":
            hits += bool(_JSON_LOG.match(line))
        elif HEADER.match(line):
            hits += not _CSV_ROW.match(line)  # a time series table is not a log
        elif _K8S_EVENT.match(line) or _TRACE_LINE.match(line) or _PACKAGE_TOOL.match(line) or _SYSCALL.match(line):
            hits += 1
        else:
            hits += tool_output and _BUILD_TOOL.match(line) is not None
    return total >= 2 and hits * 2 >= total and hits >= 2


def _log_lines(body: str) -> list[str]:
    """The lines of a log body as the compressor reads them (no final empty line, no "\r")."""
    body = body[:-1] if body.endswith("\n") else body
    raw = body.split("\n")
    return [line.rstrip("\r") for line in raw] if "\r" in body else raw


def _record_template(templates: list[str], record: Record) -> str:
    """A record's own template: its line's, or its lines' joined (a header and its trace)."""
    if record.end - record.start == 1:
        return templates[record.start]
    return "\n".join(templates[record.start : record.end])


def log_page(body: str, sent_body: str) -> LogPage:
    """What a log unit put before the model, for the log units after it: the templates of
    the events of `body` (the original; its compression kept an event of every template no
    page before it showed) and the values and words of `sent_body` (the body as sent: kept
    lines and the values its markers name)."""
    lines = _log_lines(body)
    templates, per_line = template_lines(lines)
    seen = {_record_template(templates, record) for record in split_records(lines)}
    sent_lines = lines
    if sent_body != body:
        sent_lines = _log_lines(sent_body)
        _, per_line = template_lines(sent_lines)
    values: set[str] = set()
    for found in per_line:
        values.update(found)
    values.update(value.split(":", 1)[0] for value in values.copy() if value_kind(value) == "ip")
    for line in sent_lines:
        values.update(word.strip(_WORD_EDGES) for word in line[:MASK_CHARS].split())
    values.discard("")
    return LogPage(frozenset(seen), frozenset(values))


def _malformed(text: str) -> bool:
    """Binary bytes or broken decoding: such input is returned untouched."""
    if "\x00" in text or _SURROGATE.search(text):
        return True
    sample = text[:200_000]
    return len(_CONTROL.findall(sample)) * 1000 > len(sample)


def _useful_terms(segment: Segment, lines: list[str], records: list[Record]) -> set[int]:
    """Records naming a term of the task or the tool arguments, if the term is specific here.

    An identifier (``job_1445144423722_0020``, ``10.0.0.7``, ``api-7d9f``) may mark up to a
    tenth of the events; a plain word ("retrying", "cluster") only a handful, else it is noise.
    """
    terms = segment.context.terms()
    if not terms:
        return set()
    body = "\n".join(lines).lower()
    line_starts: list[int] = []
    offset = 0
    for line in lines:
        line_starts.append(offset)
        offset += len(line) + 1
    record_of = [0] * len(lines)
    for i, rec in enumerate(records):
        for j in range(rec.start, rec.end):
            record_of[j] = i
    id_limit = max(3, len(records) // 10)
    word_limit = max(2, len(records) // 100)
    hits: set[int] = set()
    for term in sorted(terms):
        if term.isdigit() and len(term) < 5:  # limits, counts: they match timestamps
            continue
        limit = id_limit if _IDENTIFIER.search(term) else word_limit
        if not 0 < body.count(term) <= 4 * limit:  # absent, or far too common: skip the scan
            continue
        found: set[int] = set()
        at = body.find(term)
        while at >= 0:
            found.add(record_of[bisect_right(line_starts, at) - 1])
            at = body.find(term, at + len(term))
        if len(found) <= limit:
            hits |= found
    return hits


def _time_range(first: str | None, last: str | None) -> str:
    """The span of omitted events: "17:41:44–23:44:28" within a day, full stamps across days."""
    if not first or not last:
        return first or last or ""
    t1, t2 = _TIME_PART.search(first), _TIME_PART.search(last)
    if t1 and t2:
        d1, d2 = first[: t1.start()].strip(" T"), last[: t2.start()].strip(" T")
        if d1 == d2:
            return t1.group() if t1.group() == t2.group() else f"{t1.group()}–{t2.group()}"
    return first if first == last else f"{first}–{last}"


def _listing(lines: list[str], records: list[Record], first: int, omitted: list[int]) -> tuple[str | None, list[int]]:
    """What each of these omitted one-line records says that the group's lines do not all
    say, in log order: "among them, by time: 2025-06-24 14:36:29 perl:amd64 5.36.0-7,
    libgdbm6:amd64 1.23-3; 2025-06-24 14:36:30 libssl3:amd64 3.0.16-1" for dpkg's installs.
    Words shared by the group's first (kept) line and most listed ones are said by that line;
    each distinct time stamp is written once, whole, so a time searched for as the log writes
    it is still found. A few records that differ elsewhere (another install path, more words)
    are not listed: they come back as the second value, to be kept whole, so the listing's
    columns stay those of the many. (None, []) when a record spans several lines."""
    if any(records[m].end - records[m].start != 1 for m in omitted):
        return None, []
    stamps: list[str | None] = []
    words: list[list[str]] = []
    for m in [first, *omitted]:
        line = lines[records[m].start]
        stamp = extract_timestamp(line)
        stamps.append(stamp)
        words.append((line.replace(stamp, " ", 1) if stamp else line).split())
    width = len(words[0])
    few = max(1, len(omitted) // _ODD_SHARE)
    odd_width = [k for k, w in enumerate(words[1:]) if len(w) != width]
    if len(odd_width) <= few:
        aligned = [w for w in words[1:] if len(w) == width]
        differ = [sum(w[j] != words[0][j] for w in aligned) for j in range(width)]
        varying = [j for j in range(width) if differ[j] > few]
        rare = {j for j in range(width) if 0 < differ[j] <= few}
        odd = set(odd_width) | {
            k for k, w in enumerate(words[1:]) if len(w) == width and any(w[j] != words[0][j] for j in rare)
        }
        entries = [" ".join(w[j] for j in varying) if k not in odd else "" for k, w in enumerate(words[1:])]
    else:
        odd = set()
        entries = [" ".join(w) for w in words[1:]]
    parts: list[str] = []
    last_stamp: str | None = None
    for stamp, entry in zip(stamps[1:], entries, strict=True):
        if not entry:
            continue  # the same line again (counted, not listed), or one kept whole
        if len(entry) > _LISTED_CHARS:
            entry = entry[: _LISTED_CHARS - 1] + "…"
        if stamp is None or stamp == last_stamp:
            parts.append(f", {entry}" if parts else entry)
            continue
        parts.append(f"{'; ' if parts else ''}{stamp} {entry}")
        last_stamp = stamp
    kept_whole = [omitted[k] for k in sorted(odd)]
    if not parts:
        return None, kept_whole
    return ("among them, by time: " if last_stamp else "among them: ") + "".join(parts), kept_whole


def _template_hint(template: str) -> str:
    """A few literal words of a template, to say which one a marker without a kept event of
    it means: "INFO dfs.DataNode$DataXceiver: Got exception while serving"."""
    words = [word for word in template.split() if PLACEHOLDER not in word and any(c.isalpha() for c in word)]
    hint = " ".join(words[:_HINT_WORDS])
    return f'"{hint[:_HINT_CHARS]}…"' if hint else "of another template"


def _collapse_repeats(block: list[str], ref: str) -> list[str]:
    """Squeeze runs of a frame (or a cycle of up to 4 frames) repeated 4+ times: recursion."""
    out: list[str] = []
    i, n = 0, len(block)
    while i < n:
        best_reps, best_period = 0, 0
        for period in (1, 2, 3, 4):
            if i + 4 * period > n:
                break
            unit = block[i : i + period]
            reps = 1
            while i + (reps + 1) * period <= n and block[i + reps * period : i + (reps + 1) * period] == unit:
                reps += 1
            if reps >= 4 and reps * period > best_reps * best_period:
                best_reps, best_period = reps, period
        if best_reps:
            out.extend(block[i : i + best_period])
            dropped = (best_reps - 1) * best_period
            out.append(marker(f"{dropped} lines repeating the {best_period} above omitted", ref))
            i += best_reps * best_period
        else:
            out.append(block[i])
            i += 1
    return out


def _group(
    records: list[Record], lines: list[str], templates: list[str]
) -> tuple[dict[str, list[int]], dict[str, int], dict[str, tuple[int, ...]]]:
    """Records by template (in first-seen order), each group's highest severity, and for
    templates merged with similar ones the positions of the words that differ (read whole
    from each line: extra variables)."""
    # Level words and exception names are literal text, never inside a masked variable, so a
    # line's severity follows from its template: compute it once per template.
    header_sev: dict[str, int] = {}
    cont_sev: dict[str, int] = {}
    for rec in records:
        template = templates[rec.start]
        sev = header_sev.get(template)
        if sev is None:
            sev = header_sev[template] = line_severity(lines[rec.start], True)
        if rec.end - rec.start > 1:
            for j in range(rec.start + 1, rec.end):
                line_sev = cont_sev.get(templates[j])
                if line_sev is None:
                    line_sev = cont_sev[templates[j]] = line_severity(lines[j], False)
                sev = max(sev, line_sev)
            template = "\n".join(templates[rec.start : rec.end])
        rec.template, rec.severity = template, sev
    single = {rec.template: rec.severity for rec in records if rec.end - rec.start == 1}
    merged = merge_similar(single)
    words = {template: positions for template, (_, positions) in merged.items()}
    groups: dict[str, list[int]] = {}
    severity: dict[str, int] = {}
    for i, rec in enumerate(records):
        key = rec.key = merged[rec.template][0] if rec.template in merged else rec.template
        groups.setdefault(key, []).append(i)
        severity[key] = max(severity.get(key, 0), rec.severity)
    return groups, severity, words


class _Plan:
    """The selection for one log: which records stay, and the key values no kept line shows."""

    def __init__(
        self,
        lines: list[str],
        values: list[list[str]],
        words: dict[str, tuple[int, ...]],
        records: list[Record],
        earlier: EarlierLogs | None = None,
    ) -> None:
        self.lines = lines
        self.values = values
        self.words = words
        self.records = records
        # What earlier log pages of the request showed: templates and values seen.
        self.seen_templates = earlier.templates() if earlier is not None else frozenset()
        self.seen_values = earlier.values() if earlier is not None else frozenset()
        self.term_hits: set[int] = set()
        self.keep = [False] * len(records)
        self.unseen: dict[int, list[str]] = {}  # group's first record -> key values not shown
        self.listed: set[int] = set()  # records a marker lists by their own words (`cover_identifiers`)
        self.variants: set[int] = set()  # records kept only for a key value not shown yet (`_variants`)
        self._filled: dict[int, list[str] | None] = {}

    def shown_earlier(self, index: int) -> bool:
        """An earlier page of the request showed this record's template."""
        return self.records[index].template in self.seen_templates

    def filled_words(self, rec: Record) -> list[str] | None:
        """A merged one-line record's differing words, read whole from its line (`fill_words`);
        None for other records or when the line's words cannot be read whole."""
        positions = self.words.get(rec.template)
        if positions is None or rec.end - rec.start != 1:
            return None
        if rec.start not in self._filled:
            self._filled[rec.start] = fill_words(rec.template, positions, self.lines[rec.start])
        return self._filled[rec.start]

    def _vars(self, rec: Record) -> list[str]:
        # Differing words as their template shape ("<*>:<*>"): a shape takes few values, so the
        # variants kept show the kinds of line, not every distinct word (see `cover_identifiers`).
        if rec.end - rec.start == 1:
            tokens = rec.template.split(" ")
            return self.values[rec.start] + [tokens[p] for p in self.words.get(rec.template, ())]
        found: list[str] = []
        for j in range(rec.start, rec.end):
            found.extend(self.values[j])
        return found

    def identifiers(self, index: int) -> list[str]:
        """The whole differing words of a merged record that name something (a package
        "libssl3:amd64", a version "3.0.19-1~deb12u2", a user): not times, sizes or counts."""
        filled = self.filled_words(self.records[index])
        return [w for w in filled or () if value_kind(w) not in _PLAIN_KINDS]

    def cover_identifiers(self, groups: dict[str, list[int]]) -> None:
        """Every distinct identifier of a group that lists entities stays visible. Walking
        the log in order, a record naming an identifier no kept line shows yet is *wanted*; a
        group most of whose records are wanted is a list of distinct things (the installs and
        upgrades of a dpkg log, one package each): its marker lists what each omitted record
        says beyond the words all of them share (`listing`), unless that would list more than
        a fifth of the log. Other groups' identifiers, repeated by a few lines among many, are
        named in their markers (`_variants`)."""
        shown: set[str] = set()
        for i, kept in enumerate(self.keep):
            if kept:
                shown.update(self.identifiers(i))
        listing = {
            key
            for key, members in groups.items()
            if len(members) > _KEEP_ALL[1] and 2 * len(self._wanted(members, set(shown), seen=False)) >= len(members)
        }
        if not listing:
            return
        # A routine line kept only to show a new value is not needed where the marker lists
        # every new value anyway, with its time: it joins the listing.
        members = sorted(m for key in listing for m in groups[key])
        variants = [m for m in members if m in self.variants and self.records[m].severity == 0]
        for m in variants:
            self.keep[m] = False
        shown = {word for i, kept in enumerate(self.keep) if kept for word in self.identifiers(i)}
        wanted = self._wanted(members, shown)
        cap = max(_COVER_MIN, len(self.records) // _COVER_SHARE)
        if len(wanted) > cap and not (len(wanted) <= _NAMES_COVER_MAX and self._names_things(wanted)):
            for m in variants:
                self.keep[m] = True
            return
        self.listed = set(wanted)
        for first, unseen in list(self.unseen.items()):
            left = [w for w in unseen if w not in shown]
            if left:
                self.unseen[first] = left
            else:
                del self.unseen[first]

    def _names_things(self, members: list[int]) -> bool:
        """The records' identifiers are names, each record naming its own thing (the packages of
        `pip install`: `annotated-doc==0.0.7`), not serials of one kind (`blk_-16089996...`,
        request ids) nor names that several templates repeat (apt's "Unpacking X", "Setting up
        X" of the same packages): with digits masked most identifiers still differ, and most
        records bring a name word no other record has. A reader asks about names ("is httpx
        there?"), so a list of them stays listed however long the log is only short."""
        skeletons = {_DIGITS.sub("#", " ".join(self.identifiers(m))) for m in members}
        if 2 * len(skeletons) <= len(members):
            return False
        words_of = [{w.lower() for i in self.identifiers(m) for w in _NAME_WORD.findall(i)} for m in members]
        counts: dict[str, int] = {}
        for words in words_of:
            for word in words:
                counts[word] = counts.get(word, 0) + 1
        own = sum(any(counts[w] == 1 for w in words) for words in words_of)
        return own * 10 >= len(members) * 6

    def _wanted(self, members: list[int], shown: set[str], *, seen: bool = True) -> list[int]:
        """Records (in order) naming an identifier not in `shown` (nor, with `seen`, shown by an
        earlier page); `shown` takes their identifiers. Without `seen` it tells whether a group
        is a list of distinct things at all: a grep over a log paged through earlier is such a
        list even where the pages showed some of its names."""
        wanted: list[int] = []
        for i in members:
            if self.keep[i]:
                continue
            found = self.identifiers(i)
            if any(w not in shown and (not seen or w not in self.seen_values) for w in found):
                wanted.append(i)
                shown.update(found)
        return wanted

    def select_group(self, members: list[int], important: bool) -> None:
        keep = self.keep
        level = 1 if important else 0
        fresh = [m for m in members if not self.shown_earlier(m)] if self.seen_templates else members
        if len(fresh) == len(members):
            if len(members) <= _KEEP_ALL[level]:
                for m in members:
                    keep[m] = True
                return
            # The last occurrence of a warning/error shows whether it still happens at the
            # end; for routine events the marker's time range says that more cheaply.
            chosen = [members[0], members[-1]] if important else [members[0]]
        else:
            # An earlier page showed (some of) these templates: only the first event of a
            # template new here stays, and those naming a value not shown yet (below). Of a
            # warning/error, the first and last new one, or else naming an id not shown yet.
            if important and not fresh:
                fresh = [m for m in members if self._names_new_id(m)]
            chosen = [fresh[0], fresh[-1]] if important and fresh else fresh[:1]
        hits = [m for m in members if m in self.term_hits]
        chosen.extend(hits[: _MAX_TERM_HITS - 1] + hits[-1:])
        for m in chosen:
            keep[m] = True
        self._variants(members, level)

    def _variants(self, members: list[int], level: int) -> None:
        """Keep occurrences that show a key value (IP, host, id, status...) not shown yet."""
        values = [self._vars(self.records[m]) for m in members]
        width = len(values[0])
        rows = [(m, v) for m, v in zip(members, values, strict=True) if len(v) == width]
        slots: list[int] = []
        id_slot = -1  # warnings/errors: the first named id too varied to pick lines by: listed
        first_words = self._words(members[0])
        # Words that differ between merged templates ("from RUNNING to FAILED") are keys by
        # nature: each distinct one is either shown on a kept line or named in the marker.
        word_slots = range(width - len(self.words.get(self.records[members[0]].template, ())), width)
        for j in range(width):
            kind = value_kind(values[0][j])
            word = first_words[j] if j < len(first_words) else values[0][j]
            if kind == "num" and word != values[0][j] and len(values[0][j]) > 2:
                # The whole word is an id ("ord_7932"); a small index glued to a name is
                # usually a thread or worker ("worker-3", "exec-4"): still a small number.
                kind = "other"
            if kind in _NO_KEY_KINDS:
                continue
            if kind == "ip":  # compare hosts, not ephemeral client ports
                for _, v in rows:
                    v[j] = v[j].split(":", 1)[0]
            distinct = len({v[j] for _, v in rows})
            if distinct < 2:
                continue
            # A key takes few values, each many times (status codes, node ids, hosts); a
            # variable with a new value on most lines (durations, sizes) tells nothing apart,
            # and small counters (thread 1..8) are noise unless very few. In warnings and
            # errors every distinct IP counts: "which hosts failed?"
            limit = _MAX_NUM_DISTINCT if kind == "num" else _MAX_KEY_DISTINCT[level]
            repeats = _KEY_REPEATS[0] if kind == "num" else _KEY_REPEATS[level]
            if (distinct <= limit and len(rows) >= repeats * distinct) or (level and kind == "ip") or j in word_slots:
                slots.append(j)
            elif level and id_slot < 0 and kind == "other" and _NAMED_ID.match(word):
                id_slot = j
        keep = self.keep
        seen: list[set[str]] = [{v[j] for m, v in rows if keep[m]} for j in slots]
        budget = _MAX_VARIANTS[level]
        unseen: dict[str, None] = {}
        for m, v in rows:
            if keep[m]:
                continue
            new = [j for k, j in enumerate(slots) if v[j] not in seen[k] and not self._seen_earlier(m, j, v[j])]
            if not new:
                continue
            if budget > 0:
                budget -= 1
                keep[m] = True
                self.variants.add(m)
                for k, j in enumerate(slots):
                    seen[k].add(v[j])
            else:
                for j in new:
                    unseen.setdefault(self._word(m, j, v[j]), None)
        unseen.pop("", None)
        if id_slot >= 0 and len(unseen) < _MARKER_VALUES:
            shown = {v[id_slot] for m, v in rows if keep[m]}
            for m, v in rows:
                if not keep[m] and v[id_slot] not in shown and v[id_slot] not in self.seen_values:
                    unseen.setdefault(self._word(m, id_slot, v[id_slot]), None)
        if unseen:
            self.unseen[members[0]] = list(unseen)

    def _names_new_id(self, member: int) -> bool:
        """The record names an id or host that no earlier page showed (times, sizes and
        counts are no ids)."""
        rec = self.records[member]
        for j in range(rec.start, rec.end):
            for value in self.values[j]:
                kind = value_kind(value)
                if kind == "ip":
                    value = value.split(":", 1)[0]
                elif kind != "other":
                    continue
                if value not in self.seen_values:
                    return True
        return False

    def _seen_earlier(self, member: int, slot: int, value: str) -> bool:
        """An earlier page showed this value: a word that differs between merged templates
        when its own template was shown, any other value when a page's text showed it."""
        if not self.seen_templates:
            return False
        template = self.records[member].template
        if slot >= len(self.values[self.records[member].start]) and template in self.words:
            return template in self.seen_templates
        return value in self.seen_values

    def _words(self, member: int) -> list[str]:
        """The record's variables as whole words, in `_vars` order (merged words last)."""
        rec = self.records[member]
        found: list[str] = []
        for j in range(rec.start, rec.end):
            found.extend(variable_words(self.lines[j]))
        tokens = rec.template.split(" ")
        return found + [tokens[p] for p in self.words.get(rec.template, ())]

    def _word(self, member: int, slot: int, value: str) -> str:
        """One variable of a record as a whole word for a marker ("" if it has no clean
        form, like a merged word that itself holds variables); IPs stay bare hosts."""
        if value_kind(value) == "ip":
            return value
        words = self._words(member)
        word = words[slot] if slot < len(words) else value
        return "" if PLACEHOLDER in word else word


@register(sniffer=looks_like_logs, sniff_rank=60)
class LogCompressor:
    name: ClassVar[str] = "logs"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.LOGS})
    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        text = segment.text
        if _malformed(text):
            return Compressed(text)
        trailing_newline = text.endswith("\n")
        body = text[:-1] if trailing_newline else text
        raw = body.split("\n")
        if len(raw) < _MIN_LINES:
            return Compressed(text)
        lines = [line.rstrip("\r") for line in raw] if "\r" in body else raw
        records = split_records(lines)
        templates, values = template_lines(lines)
        groups, severity, words = _group(records, lines, templates)

        earlier = segment.context.earlier_logs
        plan = _Plan(lines, values, words, records, earlier if earlier is not None and earlier.pages else None)
        plan.term_hits = _useful_terms(segment, lines, records)
        for template, members in groups.items():
            plan.select_group(members, severity[template] >= 1)
        plan.cover_identifiers(groups)
        keep = plan.keep
        keep[0] = keep[-1] = True
        # One event of context on each side of every error that stays (unless it is the
        # same error again: that says nothing about what led to it).
        for i in [i for i, rec in enumerate(records) if keep[i] and rec.severity >= 2]:
            for j in (i - 1, i + 1):
                if 0 <= j < len(records) and records[j].key != records[i].key:
                    keep[j] = True

        # Each group's marker follows its first kept event. A group an earlier page showed may
        # have none here: with new values to name, its marker stands where its first omitted
        # event was; else its events join one marker for all such groups (per-group markers
        # naming nothing would only say "more of what you saw", once per template).
        markers: dict[int, str] = {}
        seen_before: list[int] = []
        kinds_seen_before = 0
        for members in groups.values():
            omitted = [m for m in members if not keep[m]]
            if not omitted:
                continue
            listed = [m for m in omitted if m in plan.listed]
            anchored = any(keep[m] for m in members)
            if not anchored and not listed and members[0] not in plan.unseen:
                seen_before.extend(omitted)
                kinds_seen_before += 1
                continue
            if listed and not anchored:
                # A listing says what each line adds to the group's first shown one: one stays.
                keep[listed[0]] = True
                omitted.remove(listed[0])
                listed = listed[1:]
            dropped = sum(len(lines[j]) for m in omitted for j in range(records[m].start, records[m].end))
            if len(omitted) < 2 or dropped < 2 * _MARKER_COST:  # a marker would not pay for itself
                for m in omitted:
                    keep[m] = True
                continue
            first_kept = next((m for m in members if keep[m]), members[0])
            listing, kept_whole = _listing(lines, records, first_kept, listed) if listed else (None, [])
            for m in kept_whole:
                keep[m] = True
            if kept_whole:
                omitted = [m for m in omitted if not keep[m]]
                listed = [m for m in listed if not keep[m]]
                dropped = sum(len(lines[j]) for m in omitted for j in range(records[m].start, records[m].end))
                if len(omitted) < 2 or dropped < 2 * _MARKER_COST:  # what is left pays for no marker
                    for m in omitted:
                        keep[m] = True
                    continue
            listed_chars = sum(len(lines[records[m].start]) for m in listed)
            if listed and (listing is None or len(listing) * 10 > listed_chars * 8):
                # A listing that saves too little (or cannot be written): those lines stay.
                for m in listed:
                    keep[m] = True
                omitted = [m for m in omitted if not keep[m]]
                listing = None
                dropped -= listed_chars
                if len(omitted) < 2 or dropped < 2 * _MARKER_COST:
                    for m in omitted:
                        keep[m] = True
                    continue
            anchor = next((m for m in members if keep[m]), None)
            summary = self._summary(plan, members[0], omitted, listing, anchor is None)
            markers[omitted[0] if anchor is None else anchor] = marker(summary, segment.ref)
        if seen_before:
            seen_before.sort()
            dropped = sum(len(lines[j]) for m in seen_before for j in range(records[m].start, records[m].end))
            if len(seen_before) < 2 or dropped < 2 * _MARKER_COST:
                for m in seen_before:
                    keep[m] = True
            else:
                summary = self._seen_summary(plan, seen_before, kinds_seen_before)
                markers[seen_before[0]] = marker(summary, segment.ref)

        out: list[str] = []
        kept_records = 0
        for i, rec in enumerate(records):
            if keep[i]:
                kept_records += 1
                block = raw[rec.start : rec.end]  # verbatim, "\r" included
                out.extend(_collapse_repeats(block, segment.ref) if len(block) > _LONG_RECORD else block)
            if i in markers:
                out.append(markers[i])
        if len(out) == len(raw):  # nothing dropped
            return Compressed(text)
        result = "\n".join(out) + ("\n" if trailing_newline else "")
        if len(result) * 10 > len(text) * 7 and count_tokens(result) >= count_tokens(text):
            return Compressed(text)
        notes = {"events": len(records), "events_kept": kept_records, "templates": len(groups)}
        if plan.seen_templates:
            notes["events_seen_earlier"] = sum(plan.shown_earlier(i) for i in range(len(records)))
        return Compressed(result, lossy=True, notes=notes)

    @staticmethod
    def _seen_summary(plan: _Plan, omitted: list[int], kinds: int) -> str:
        """The events of groups an earlier page showed, naming nothing new: one marker."""
        records, lines = plan.records, plan.lines
        single = all(records[m].end - records[m].start == 1 for m in omitted)
        span = _time_range(
            extract_timestamp(lines[records[omitted[0]].start]),
            extract_timestamp(lines[records[omitted[-1]].start]),
        )
        like = "like the one" if kinds == 1 else f"of {kinds} kinds"
        summary = f"{len(omitted)} more {'lines' if single else 'entries'} {like} shown earlier"
        return f"{summary} ({span})" if span else summary

    @staticmethod
    def _summary(plan: _Plan, first: int, omitted: list[int], listing: str | None, shown_earlier: bool) -> str:
        records, lines = plan.records, plan.lines
        single = all(records[m].end - records[m].start == 1 for m in omitted)
        span = _time_range(
            extract_timestamp(lines[records[omitted[0]].start]),
            extract_timestamp(lines[records[omitted[-1]].start]),
        )
        like = f"the one shown earlier, {_template_hint(records[first].key)}," if shown_earlier else "this"
        summary = f"{len(omitted)} more {'lines' if single else 'entries'} like {like}"
        if span:
            summary += f" ({span})"
        unseen = plan.unseen.get(first)
        if listing:
            summary += f"; {listing}"
            unseen = [value for value in unseen or () if value not in listing]
        if unseen:
            shown = ", ".join(value[:48] for value in unseen[:_MARKER_VALUES])
            more = len(unseen) - _MARKER_VALUES
            summary += f"; other values: {shown}" + (f" (+{more})" if more > 0 else "")
        return summary
