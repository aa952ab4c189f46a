"""Log line anatomy for the log compressor: templates, variables, severity, records, timestamps.

A *template* is a line with every variable token (timestamps, numbers, ids, IPs, UUIDs, hex)
replaced by ``<*>`` and whitespace runs squeezed: two lines with the same template are "the
same message". Masking is one precompiled regex pass over the whole log, so it is
deterministic and linear in the input. Then, as in Drain, templates that differ in only a
few words ("user admin" / "user oracle") are merged, and those words become variables too.

A *record* is one log event: a header line plus its continuation lines (stack frames,
"Caused by:" chains, Python tracebacks, wrapped messages), so a trace is kept or collapsed
as one unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MASK_CHARS",
    "PLACEHOLDER",
    "Record",
    "extract_timestamp",
    "fill_words",
    "line_severity",
    "merge_similar",
    "split_records",
    "template_lines",
    "value_kind",
    "variable_words",
]

# Only this many characters of a line are masked: a multi-megabyte line must not cost more
# than a normal one, and its prefix is enough to tell its template apart.
MASK_CHARS = 2_000
_LEVEL_CHARS = 160

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DOW = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_ISO_DT = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}\b)?"
_SYSLOG_DT = (
    rf"(?:{_DOW},?\s+)?{_MON}\s+\d{{1,2}},?\s+(?:\d{{4}}\s+)?\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?(?:\s+\d{{4}}\b)?"
)
_CLF_DT = rf"\d{{1,2}}/{_MON}/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}}(?:\s[+-]\d{{4}})?"
_SLASH_DT = r"\d{2,4}/\d{2}/\d{2,4}[ T:]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"
_TIME = r"\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"

# Every variable starts with a hex character. Anchoring the whole pattern on one leading
# character class lets the regex engine skip in C to the next candidate instead of trying
# each alternative at every position: masking gets several times faster. From a digit, the
# alternatives say how far the variable extends (a date-time, a UUID, an IP with port, a hex
# id, or the rest of the word: ``1073743512_2731``, ``5s``); from a letter a-f only a UUID or
# a hex id with a digit in it (``fecdd5a9-3ca0-...``, ``a489c868f0c3...``) is a variable.
_VAR = re.compile(
    r"""
    ([0-9a-fA-F](?:
      (?<=\d)(?:
         \d{3}-\d{2}-\d{2}(?:[T\x20]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}\b)?)?
        |\d?:\d{2}:\d{2}(?:[.,]\d+)?
        |\d?/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?:\x20[+-]\d{4})?
        |\d{1,3}/\d{2}/\d{2,4}[\x20T:]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?
        |[0-9a-fA-F]{7}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b
        |(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?![\w.])(?::\d{1,5}\b)?
        |[0-9a-fA-F]{7,}\b
        |\w*(?:\.\d+)*(?::\d{2,5}\b)?
      )
      |(?<!\w[a-fA-F])(?=[a-fA-F]*\d)
       (?:[0-9a-fA-F]{7}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{7,})\b
    ))""",
    re.VERBOSE,
)
PLACEHOLDER = "<*>"
# Letters glued in front of a variable ("a489c868..." hex, "x2x9q" pod suffixes, "attempt_...")
# belong to it: without this, every leading letter would make its own template.
_GLUED = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z_]+-?<\*>")
_VALUE_KINDS = (
    ("ip", re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?")),
    ("ts", re.compile(r"\d{4}-\d{2}-\d{2}.*|\d{1,2}:\d{2}:\d{2}.*|\d{1,4}/\S+:\d{2}:\d{2}.*")),
    ("dur", re.compile(r"\d+(?:\.\d+)?(?:ms|us|ns|[smhd])")),
    ("num", re.compile(r"[-+]?\d+(?:\.\d+)?")),
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SPACE = re.compile(r"\s")

_TS_FULL = re.compile(rf"{_ISO_DT}|{_SYSLOG_DT}|{_CLF_DT}|{_SLASH_DT}")
_TS_HDFS = re.compile(r"^\d{6}\s\d{6}\b")  # HDFS: "081109 203615 148 INFO ..."
_TS_TIME = re.compile(_TIME)
_TS_JSON = re.compile(r'"(?:@?timestamp|time|ts|t)"\s*:\s*"?([^",}]{6,40})')

# A line that starts a new event: an optional syslog priority, at most one prefix token
# (e.g. "nova-compute.log.1.2017-05-16_13:55:31"), then a timestamp, a level, or "{".
HEADER = re.compile(
    rf"""^(?:<\d{{1,3}}>\d?\s?)?(?:[^\s\[{{(]\S*\s+)?[\[(]?
    (?:\d{{4}}[-/]\d{{2}}[-/]\d{{2}}[T\s_]\d{{2}}:\d{{2}}|\d{{2}}/\d{{2}}/\d{{2,4}}[\s:T]\d{{2}}:\d{{2}}
      |\d{{1,2}}/{_MON}/\d{{4}}:|\d{{2}}:\d{{2}}:\d{{2}}|{_DOW}\s+{_MON}\s|{_MON}\s+\d{{1,2}}\s+\d{{2}}:\d{{2}}
      |\d{{6}}\s\d{{6}}\s|[IWEF]\d{{4}}\s+\d{{2}}:|\d{{10}}(?:\.\d+)?\s|\s*\d{{1,7}}\.\d{{6}}\]\s
      |(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)\b)
    |^\{{""",
    re.VERBOSE,
)
# Stack-trace continuations recognizable without a header structure (Java/JVM).
_JAVA_CONT = re.compile(
    r"^(?:\s+at\s|\s*\.\.\.\s\d+\s(?:more|common frames omitted)|Caused by:|\s+Suppressed:|\s+\.\.\.\s*$)"
)
_PY_TB_START = "Traceback ("
_PY_TB_LINKS = ("Traceback (", "During handling of the above", "The above exception was the direct")

_LEVEL = re.compile(
    r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|SEVERE|ALERT|EMERG|PANIC"
    r"|Trace|Debug|Info|Notice|Normal|Warning|Error|Fatal|Critical)\b"
)
# Apache/nginx "[error]", logfmt "level=warn": lower-case levels in a recognizable frame.
_FRAMED_LEVEL = re.compile(
    r"\[(emerg|alert|crit|error|warn|warning|notice|info|debug)\]|\b(?:level|lvl|severity)=\"?([A-Za-z]+)"
)
_JSON_LEVEL = re.compile(r'"(?:level|severity|lvl|loglevel|log\.level)"\s*:\s*"?(\w+)', re.IGNORECASE)
_GLOG_LEVEL = re.compile(r"^([IWEF])\d{4}\s")
_SEVERITY = {
    "trace": 0, "debug": 0, "info": 0, "notice": 0, "normal": 0, "i": 0,
    "warn": 1, "warning": 1, "w": 1,
    "error": 2, "err": 2, "severe": 2, "e": 2,
    "fatal": 3, "critical": 3, "crit": 3, "alert": 3, "emerg": 3, "panic": 3, "f": 3,
}  # fmt: skip
# Always an error signal, whatever the level says.
_HARD = re.compile(
    r"(?:Exception|Error)\b|Traceback \(most recent|^Caused by:|\bpanic:|Segmentation fault|OutOfMemory"
    r"|\bOOMKilled\b|\bFATAL\b"
)
# A cheap prefilter for _HARD: its alternatives all start with one of these capitals or "p".
_HARD_HINT = re.compile(r"[ECTSOFp](?:xception|rror|raceback|aused by|egmentation|utOfMemory|OMKilled|ATAL|anic:)")
# Trouble words for lines without any level (syslog, plain app output): kept, not escalated.
_SOFT = re.compile(
    r"\b(?:error|errors|fail|failed|failure|failing|denied|refused|timed? ?out|timeout|unreachable"
    r"|invalid|abort|aborted|killed|oom|segfault|critical|warn|warning|exception)\b",
    re.IGNORECASE,
)


def template_lines(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """Each line's template (variables as ``<*>``, whitespace squeezed) and variable values.

    The whole log is masked in one regex pass; values are handed out to lines by counting
    placeholders, so lines and values stay aligned without a per-line regex call.
    """
    if any(len(line) > MASK_CHARS for line in lines):
        lines = [line[:MASK_CHARS] for line in lines]
    body = "\n".join(lines)
    if PLACEHOLDER in body:  # a literal "<*>" would shift the values: make it look different
        body = body.replace(PLACEHOLDER, "<\u2217>")
    pieces = _VAR.split(body)
    values = pieces[1::2]
    raw_templates = PLACEHOLDER.join(pieces[0::2]).split("\n")
    templates: list[str] = []
    per_line: list[list[str]] = []
    normalized: dict[str, str] = {}
    pos = 0
    for raw in raw_templates:
        count = raw.count(PLACEHOLDER)
        per_line.append(values[pos : pos + count])
        pos += count
        template = normalized.get(raw)
        if template is None:
            template = normalized[raw] = _GLUED.sub(PLACEHOLDER, " ".join(raw.split()))
        templates.append(template)
    return templates, per_line


def variable_words(line: str) -> list[str]:
    """Each variable of `line` (same order as `template_lines` gives its values) with the
    word characters glued before it: "attempt_1445..." for "1445...", "MININT-FNANLI5"."""
    words: list[str] = []
    for match in _VAR.finditer(line[:MASK_CHARS]):
        start = match.start()
        while start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_-"):
            start -= 1
        words.append(line[start : match.end()])
    return words


def fill_words(template: str, positions: tuple[int, ...], line: str) -> list[str] | None:
    """The words of `line` at `positions` of its own `template`, whole: a template word
    holding variables is read from the line as the whitespace-delimited run around them
    ("libssl3:amd64" for ``<*>:<*>``, a date-time with its space for ``<*>``); a literal word
    is itself. None when the line's variables cannot be lined up with the template's
    placeholders (a line cut at `MASK_CHARS`, a literal "<*>")."""
    head = line[:MASK_CHARS]
    spans = [match.span() for match in _VAR.finditer(head)]
    tokens = template.split(" ")
    if sum(token.count(PLACEHOLDER) for token in tokens) != len(spans):
        return None
    filled: list[str] = []
    at = 0
    wanted = set(positions)
    for i, token in enumerate(tokens):
        count = token.count(PLACEHOLDER)
        if i in wanted:
            if count:
                start, end = spans[at][0], spans[at + count - 1][1]
                start = max(head.rfind(" ", 0, start), head.rfind("\t", 0, start)) + 1
                after = _SPACE.search(head, end)
                filled.append(head[start : after.start() if after else None])
            else:
                filled.append(token)
        at += count
    return filled


def value_kind(value: str) -> str:
    """ "ip", "ts", "dur", "num" or "other" (an id): whether a variable can tell events apart."""
    for kind, pattern in _VALUE_KINDS:
        if pattern.fullmatch(value):
            return kind
    return "other"


# strace's failed call, `openat(...) = -1 ENOENT (No such file or directory)`: trouble, kept
# apart from the calls that succeeded (a marker under a successful call must not stand for it).
_FAILED_CALL = re.compile(r"\)\s+= -1 E[A-Z0-9]+\b")


def line_severity(line: str, header: bool) -> int:
    """0 = info/debug, 1 = warning or trouble word, 2 = error, 3 = fatal.

    Only a header line's level counts (a continuation's "INFO" is message text); the hard
    error signals (``FooException``, ``Traceback``, ``Caused by:``) count anywhere.
    """
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    head = line[:MASK_CHARS]
    # A cheap prefilter first: the full regex is slower and almost always fails anyway.
    hard = 2 if _HARD_HINT.search(head) and _HARD.search(head) else 0
    if not header:
        return hard
    level = -1
    found = _LEVEL.search(head, 0, _LEVEL_CHARS) or _FRAMED_LEVEL.search(head, 0, _LEVEL_CHARS)
    if found:
        level = _SEVERITY.get(found.group(found.lastindex or 0).lower(), -1)
    elif head.startswith("{"):
        json_level = _JSON_LEVEL.search(head)
        if json_level:
            word = json_level.group(1).lower()
            level = _SEVERITY.get(word, -1)
            if level < 0 and word.isdigit():  # bunyan/pino numeric levels
                level = 3 if int(word) >= 60 else 2 if int(word) >= 50 else 1 if int(word) >= 40 else 0
    else:
        glog = _GLOG_LEVEL.match(head)
        if glog:
            level = _SEVERITY[glog.group(1).lower()]
    if level < 0:  # no level at all: fall back to trouble words, or a system call that failed
        level = 1 if _SOFT.search(head) or _FAILED_CALL.search(head) else 0
    return max(level, hard)


def extract_timestamp(line: str) -> str | None:
    """The event time written in `line` (first full date-time, else a bare time), or None."""
    head = line[: _LEVEL_CHARS * 2]
    found = _TS_FULL.search(head)
    if found:
        return found.group()
    if head.startswith("{"):
        json_ts = _TS_JSON.search(head)
        if json_ts:
            return json_ts.group(1)
    hdfs = _TS_HDFS.match(head)
    if hdfs:
        return hdfs.group()
    bare = _TS_TIME.search(head)
    return bare.group() if bare else None


@dataclass(slots=True)
class Record:
    """Lines ``start..end-1`` of the log form one event."""

    start: int
    end: int
    template: str = ""  # its own template
    key: str = ""  # its group's template (after merging similar templates)
    severity: int = 0


def split_records(lines: list[str]) -> list[Record]:
    """Group lines into events; every line belongs to exactly one record, in order.

    When most non-blank lines start with a timestamp/level, every other line continues the
    event above it (stack frames, wrapped messages); otherwise each line is an event except
    recognizable stack-trace continuations.
    """
    records: list[Record] = []
    if not lines:
        return records
    header = [HEADER.match(line) is not None for line in lines]
    nonblank = sum(1 for line in lines if line.strip())
    if nonblank and sum(header) * 2 >= nonblank:
        start = 0
        for i in range(1, len(lines)):
            if header[i]:
                records.append(Record(start, i))
                start = i
        records.append(Record(start, len(lines)))
        return records
    # Unstructured output: each line is an event, except recognizable trace continuations.
    start = 0
    in_py_tb = lines[0].startswith(_PY_TB_START)
    prev_indented = False
    for i in range(1, len(lines)):
        line = lines[i]
        indented = line[:1] in (" ", "\t")
        if in_py_tb and (not line.strip() or indented or prev_indented or line.startswith(_PY_TB_LINKS)):
            prev_indented = indented
            continue
        in_py_tb = False
        if line.startswith(_PY_TB_START):
            records.append(Record(start, i))
            start = i
            in_py_tb = True
            prev_indented = False
            continue
        if _JAVA_CONT.match(line):
            continue
        records.append(Record(start, i))
        start = i
    records.append(Record(start, len(lines)))
    return records


# Drain-style merging of templates that differ only in a few literal words
# ("... invalid user admin from <*>" / "... invalid user oracle from <*>").
_MERGE_MAX_TEMPLATES = 2_000  # beyond this the log is mostly unique lines: merging buys nothing
_MERGE_MAX_CANDIDATES = 16  # clusters compared per bucket, bounding the cost
_MERGE_MIN_TOKENS = 4


_PUNCTUATION = re.compile(r"[^\w<>*-]+")


def _same_kind_of_word(a: str, b: str) -> bool:
    """Two words that name the same kind of thing, to merge for free: both hold variables,
    or one does beside more text and both have the same separators (``tzdata:all`` beside
    ``<*>:<*>`` for ``libssl3:amd64``; never a bare word beside a bare ``<*>``, nor paths)."""
    if "/" in a or "/" in b:
        return False  # paths and URLs: each is its own resource, not a name of one kind
    if PLACEHOLDER in a and PLACEHOLDER in b:
        return True
    variable = a if PLACEHOLDER in a else b if PLACEHOLDER in b else ""
    if not variable or variable == PLACEHOLDER:
        return False
    skeleton = _PUNCTUATION.findall(a)
    return bool(skeleton) and skeleton == _PUNCTUATION.findall(b)


def merge_similar(templates: dict[str, int]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Cluster single-line templates (template -> severity) that differ in a few words.

    Templates are bucketed like Drain's tree (same token count, same severity, same first
    two literal words, not counting qualified names like ``tzdata:all``); within a bucket a
    template joins the first cluster whose first template it matches everywhere except in at
    most a quarter of its words. Two words that
    both hold variables are the same kind of word whatever their shape (``libssl3:amd64``
    masks to ``<*>:<*>``, ``gpgv:amd64`` to ``gpgv:<*>``; versions ``<*>-<*>~<*>`` and
    ``<*>-<*>+<*>``): they differ for free. Returns, for each template in a cluster of two or
    more, the cluster's template (differing words as ``<*>``) and the positions of those
    words; the caller reads a differing word whole from each line (`fill_words`), so the
    values of lines whose words hold different numbers of variables stay aligned.
    """
    if len(templates) > _MERGE_MAX_TEMPLATES:
        return {}
    buckets: dict[tuple[object, ...], list[tuple[list[str], set[int], list[str]]]] = {}
    for template, severity in templates.items():
        tokens = template.split(" ")
        if len(tokens) < _MERGE_MIN_TOKENS:
            continue
        literal = [t for t in tokens[:6] if PLACEHOLDER not in t and ":" not in t][:2]
        bucket = buckets.setdefault((len(tokens), severity, *literal), [])
        allowed = max(1, len(tokens) // 4)
        for first, words, group in bucket[:_MERGE_MAX_CANDIDATES]:
            differ: set[int] = set()  # literal words that differ: at most `allowed`
            shapes: set[int] = set()  # variable-holding words of another shape: free
            for i, (a, b) in enumerate(zip(first, tokens, strict=True)):
                if a != b:
                    if _same_kind_of_word(a, b):
                        shapes.add(i)
                        continue
                    differ.add(i)
                    if len(differ | {w for w in words if PLACEHOLDER not in first[w]}) > allowed:
                        break
            else:
                words |= differ | shapes
                group.append(template)
                break
        else:
            bucket.append((tokens, set(), [template]))
    merged: dict[str, tuple[str, tuple[int, ...]]] = {}
    for bucket in buckets.values():
        for first, words, group in bucket:
            if len(group) < 2:
                continue
            positions = tuple(sorted(words))
            key = " ".join(PLACEHOLDER if i in words else t for i, t in enumerate(first))
            for template in group:
                merged[template] = (key, positions)
    return merged
