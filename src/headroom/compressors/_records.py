"""Rows a table tool prints over several lines, or as statements: found here, compressed as a table.

Blocks of `key = value` lines, one block per row: database shells print a query's rows this way
when they are wide: `sqlite3 -line` (blocks
apart by blank lines, `name = value`), psql's expanded display (`-[ RECORD 3 ]-----`, then
`name | value`), MySQL's `\\G` (`*** 3. row ***`, then `name: value`); so do package tools
(`apt-cache show`, `dpkg -s`: `Name: value` stanzas). The table compressor reads them as a
table whose rows span lines (`TableCompressor`); this module only finds the blocks and their
fields. No library parses these shells' display formats (they are meant for eyes), and the
rows are only read to choose which stay: kept blocks go out byte for byte.

A SQL dump (`sqlite3 .dump`, `pg_dump --inserts`): one `INSERT INTO t VALUES(...);` line per row,
read with the column names its `CREATE TABLE` gives (`insert_rows`). The values are split by a
small literal scanner (quotes, doubled quotes, nested calls such as `replace(...)`), not a SQL
parser: the statements stay verbatim, the values only rank the rows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

__all__ = ["Record", "insert_rows", "record_blocks"]

# A line starting a row: psql's expanded display, MySQL's vertical output.
_RECORD_RULE = re.compile(r"-\[ RECORD \d+ \]-*(?:\+-*)?|\*{5,} \d+\. row \*{5,}")
# A field: a name of a few words, padded, then the separator. The value may be empty.
_FIELDS = {
    sep: re.compile(rf"\s*(?P<key>[A-Za-z_][\w.\-]*(?: [\w.\-]+){{0,3}}?)\s*{re.escape(sep)}(?: (?P<value>.*)|$)")
    for sep in ("=", ":", "|")
}
_LOG_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})
_MIN_SHARED_KEYS = 3  # two names a block ("Q:", "A:") make a document of pairs, not rows
_MAX_ROW_CHARS = 20_000  # a statement this long (a blob, a wide row) stays as it is, unread
_SHARED_KEYS = 0.9  # a field name of the table: in this share of the rows at least
_REGULAR = 0.9  # share of blocks that must be rows of the table


@dataclass(frozen=True, slots=True)
class Record:
    """One block: its lines `[start, end)` (indices into the text's lines) and its fields.
    `regular`: it is a row of the table (it opens with the usual first field); a block that is
    not (a preamble, a note between rows) is always kept."""

    start: int
    end: int
    fields: dict[str, str]
    regular: bool
    table: str = ""  # the table a dump's row goes to: rows are chosen table by table


def record_blocks(lines: list[str], min_records: int) -> list[Record] | None:
    """The blocks of `lines` as records when at least `min_records` of them are rows of one
    table (the same first field, three names shared by nearly all) and nearly all blocks are;
    else None."""
    blocks = _blocks(lines)
    if len(blocks) < min_records:
        return None
    field = _field_pattern(lines, blocks)
    if field is None:
        return None
    parsed = [
        _fields(lines, start, end, field) if _opens_with_field(lines, start, end, field) else {}
        for start, end in blocks
    ]
    firsts = Counter(next(iter(fields)) for fields in parsed if len(fields) >= 2)
    if not firsts:
        return None
    first, _ = firsts.most_common(1)[0]
    regular = [len(fields) >= 2 and next(iter(fields)) == first for fields in parsed]
    if sum(regular) < max(min_records, _REGULAR * len(blocks)):
        return None
    counts = Counter(key for fields, ok in zip(parsed, regular, strict=True) if ok for key in fields)
    shared = [key for key, count in counts.items() if count >= _SHARED_KEYS * sum(regular)]
    if len(shared) < _MIN_SHARED_KEYS:
        return None
    return [Record(start, end, fields, ok) for (start, end), fields, ok in zip(blocks, parsed, regular, strict=True)]


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """`[start, end)` of each block: from one record rule to the next when the text has them,
    else each run of non-blank lines."""
    rules = [i for i, line in enumerate(lines) if _RECORD_RULE.fullmatch(line.strip())]
    if len(rules) >= 2:
        ends = [*rules[1:], len(lines)]
        blocks = [(start, end) for start, end in zip(rules, ends, strict=True)]
        return [(0, rules[0]), *blocks] if any(line.strip() for line in lines[: rules[0]]) else blocks
    blocks = []
    start: int | None = None
    for i, line in enumerate([*lines, ""]):
        if line.strip():
            if start is None:
                start = i
        elif start is not None:
            blocks.append((start, i))
            start = None
    return blocks


def _field_pattern(lines: list[str], blocks: list[tuple[int, int]]) -> re.Pattern[str] | None:
    """The field separator the first blocks' lines use most (`=`, `:` or `|`), if most of
    their lines are fields with it."""
    sample = [line for start, end in blocks[:12] for line in lines[start:end] if line.strip()]
    best = max(_FIELDS.values(), key=lambda pattern: sum(bool(pattern.fullmatch(line)) for line in sample))
    if sum(bool(best.fullmatch(line)) for line in sample) * 2 < len(sample):
        return None
    return best


def _opens_with_field(lines: list[str], start: int, end: int, field: re.Pattern[str]) -> bool:
    """Whether a block's first line (after its record rule) is a field: a row's block opens
    with one; a function whose body assigns (`def f():` over `x = ...` lines) does not."""
    first = next((line for line in lines[start:end] if line.strip() and not _RECORD_RULE.fullmatch(line.strip())), "")
    return field.fullmatch(first) is not None


def _fields(lines: list[str], start: int, end: int, field: re.Pattern[str]) -> dict[str, str]:
    """A block's fields in order; a line that is no field continues the value before it (a
    multi-line text, a Debian description: joined with spaces, as a marker may quote it), and
    a name seen twice keeps its first value. `INFO:`, `ERROR:` open a log's lines, not fields."""
    fields: dict[str, str] = {}
    last: str | None = None
    for line in lines[start:end]:
        if _RECORD_RULE.fullmatch(line.strip()) or not line.strip():
            continue
        match = field.fullmatch(line)
        if match and match["key"].upper() not in _LOG_LEVELS:
            if match["key"] not in fields:
                last = match["key"]
                fields[last] = (match["value"] or "").strip()
        elif last is not None and len(fields[last]) < 400:
            fields[last] += " " + line.strip()
    return fields


_INSERT = re.compile(
    r'INSERT INTO\s+(?P<table>[\w."`\[\]]+)\s*(?:\((?P<columns>[^)]*)\)\s*)?VALUES\s*\((?P<values>.*)\);?\s*',
    re.IGNORECASE,
)
_CREATE = re.compile(
    r'CREATE TABLE\s+(?:IF NOT EXISTS\s+)?(?P<table>[\w."`\[\]]+)\s*\((?P<body>.*)\);?\s*', re.IGNORECASE
)
_CONSTRAINT = re.compile(r"(?:PRIMARY|FOREIGN|UNIQUE|CHECK|CONSTRAINT)\b", re.IGNORECASE)
_MIN_INSERT_SHARE = 0.5  # of the non-blank lines


def insert_rows(lines: list[str], min_records: int) -> list[Record] | None:
    """A SQL dump's lines as records: each `INSERT ... VALUES(...);` line a row of its table
    (fields named by its column list or its table's `CREATE TABLE`, else `column N`), every other
    line (schema, `BEGIN`, `COMMIT`) irregular, so kept; None unless `min_records` lines or more
    insert rows and they make at least half the text's lines."""
    inserts = [
        (i, match)
        for i, line in enumerate(lines)
        if line[:6].upper() == "INSERT" and (match := _INSERT.fullmatch(line))
    ]
    written = sum(1 for line in lines if line.strip())
    if len(inserts) < min_records or len(inserts) < _MIN_INSERT_SHARE * written:
        return None
    columns: dict[str, list[str]] = {}
    for line in lines:
        if line[:6].upper() == "CREATE" and (create := _CREATE.fullmatch(line)):
            parts = _split_values(create["body"])
            columns[_bare(create["table"])] = [
                _bare(part.split()[0]) for part in parts if part.split() and not _CONSTRAINT.match(part)
            ]
    by_line = dict(inserts)
    widths: dict[str, int] = {}  # each table's row width: its first row's
    records: list[Record] = []
    for i, line in enumerate(lines):
        match = by_line.get(i)
        if match is None:
            if line.strip():
                records.append(Record(i, i + 1, {}, regular=False))
            continue
        table = _bare(match["table"])
        names = (
            [_bare(name.strip()) for name in match["columns"].split(",")]
            if match["columns"]
            else columns.get(table, [])
        )
        values = _split_values(match["values"]) if len(line) <= _MAX_ROW_CHARS else []
        if len(values) < 2 or (names and len(names) != len(values)):
            records.append(Record(i, i + 1, {}, regular=False))  # kept: not a row read here
            continue
        names = names or [f"column {n}" for n in range(1, len(values) + 1)]
        fields = {name: _literal(value) for name, value in zip(names, values, strict=True)}
        widths.setdefault(table, len(fields))
        regular = widths[table] == len(fields)  # a row of another width (another column list) stays
        records.append(Record(i, i + 1, fields if regular else {}, regular=regular, table=table if regular else ""))
    return records


def _bare(name: str) -> str:
    """A SQL name without its quotes or schema brackets: `"public"."users"` -> `public.users`."""
    return re.sub(r'["`\[\]]', "", name.strip())


def _split_values(text: str) -> list[str]:
    """`text` split at the commas outside quotes and brackets."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote:
                if text[i + 1 : i + 2] == quote:
                    i += 1  # a doubled quote stands for one
                else:
                    quote = None
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return parts


def _literal(value: str) -> str:
    """The text a literal stands for, near enough to rank rows by: a quoted string unquoted (the
    first one inside a call such as `replace('…','\\n',char(10))`), anything else as written."""
    quoted = re.search(r"'((?:[^']|'')*)'", value) if not value[:1].isdigit() else None
    return quoted[1].replace("''", "'") if quoted else value
