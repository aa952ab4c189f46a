"""Tables (CSV, TSV, `;`- or `|`-separated, or columns aligned with spaces): a header and the rows
worth seeing.

Agents read data files with `cat` or Read; a 900-row CSV is mostly rows like their neighbours.
The header stays, and the rows the JSON compressor would keep for the same table (first and
last, rows matching the task's terms, rare values, rare text shapes, numeric outliers, rows
missing a usual value: `_table_rows.select_rows`) stay *verbatim*, so each kept line is a line of
the file (a numbered read keeps its numbers). Each run of dropped rows becomes one marker line
naming the file lines it stood for; the original is one `headroom_retrieve` away. Tables under
`_MIN_ROWS` rows pass whole. A page from the middle of a file (a ranged read: rows, no header)
is read the same way, its columns unnamed.

Parsing uses the standard `csv` module (quoted fields, embedded delimiters); a row whose field
count differs from the header's is kept, never dropped.

Command outputs (`ps aux`, `ls -la`, `dpkg -l`, `pip list`, `df -h`, `docker ps`, `kubectl get`)
are tables whose columns are told by alignment, not by a delimiter: a column starts where the
lines leave a gutter of spaces, one that (nearly) every line reaches and (nearly) no line fills.
The last column runs to the line's end, so it may hold spaces (ps's COMMAND, a description). A
text may hold several such tables, each in its own block of lines after a few lines of preamble
(`ls -laR`: a `dir:` line and `total N` before each directory's rows); tables of the same shape
are read as one, so a directory of three files can lose its rows as well as a big one. A row
that leaves a gutter unfilled only in part (a value wider than its column) is kept. Every run
of dropped rows is named in its marker by its identity columns when that is cheap (learned from
the values, as the JSON compressor's `identity_columns`: a file name and size, a PID and its
command, a package name), so the reader still sees what each dropped row was.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar

from headroom.ccr.markers import marker
from headroom.compressors._records import Record, insert_rows, record_blocks
from headroom.compressors._table_rows import select_rows
from headroom.compressors.base import Compressed, register
from headroom.compressors.json_data import identity_columns
from headroom.compressors.logs import looks_like_logs
from headroom.segments import ContentKind, Segment

__all__ = ["TableCompressor", "looks_like_table"]

_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_LINES = 40
_MIN_ROWS = 60
_MIN_RECORDS = 16  # rows printed one field per line (`sqlite3 -line`, psql `\\x`): a few lines each
_SNIFF_RECORDS = 4
_MAX_CSV_PREAMBLE = 2
_CODE_ROW_STARTS = frozenset(" \t([{")
_CUT_HEAD_CHARS = 6_000  # a sniffed head this long was most likely cut from a longer text
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# A value of a series' typed column: a number (with an exponent), a hex word, a date or a time.
_SERIES_VALUE = re.compile(
    r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?|0[xX][0-9a-fA-F]+"
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[-+]\d{2}:?\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?"
)


@dataclass(frozen=True, slots=True)
class _Layout:
    delimiter: str
    has_header: bool  # False: a page from the middle of a file (a ranged read), rows only
    preamble: int = 0  # written lines before the header or rows (`569,30,malignant,benign`)


def _layout(lines: list[str]) -> _Layout | None:
    """The delimiter splitting (nearly) every sampled line into the same 3+ fields, and whether
    the first line names them. Rows without a header need 4+ fields on nearly every line. A
    line or two of another width may come first: a dataset's counts and class names over its
    rows (scikit-learn's CSVs), a title, a `sep=;` line for Excel."""
    written = [line for line in lines[: _SNIFF_LINES + _MAX_CSV_PREAMBLE] if line.strip()]
    for preamble in range(_MAX_CSV_PREAMBLE + 1):
        rows = written[preamble : preamble + _SNIFF_LINES]
        found = _layout_from(rows)
        # The preamble is delimited too, only narrower (a line of code opening a literal table
        # is not). A pipe table's header and rule are its own (markdown, psql): rows that split
        # wider under them hold escaped pipes, not a preamble's worth of other lines.
        if found is None or (preamble and found.delimiter == "|"):
            continue
        if preamble and sum(1 for row in rows if row[:1] in _CODE_ROW_STARTS) * 2 >= len(rows):
            continue  # indented or bracketed rows under `VALUES` or `DATA = [`: a literal in code
        if all(found.delimiter in line for line in written[:preamble]):
            return _Layout(found.delimiter, found.has_header, preamble)
    return None


def _layout_from(sample: list[str]) -> _Layout | None:
    if len(sample) < 5:
        return None
    for delimiter in _DELIMITERS:
        if delimiter not in sample[0]:
            continue
        try:
            rows = list(csv.reader(sample, delimiter=delimiter))
        except csv.Error:
            continue
        width = len(rows[0])
        if width == 2:
            if _two_column_series(rows):
                return _Layout(delimiter, True)
            continue
        # Rows of the same width with 3+ filled cells (not lines that merely share some tabs).
        same = sum(len(row) == width and sum(bool(cell.strip()) for cell in row) >= 3 for row in rows)
        if width < 3 or same < 0.9 * len(rows):
            continue
        if all(_header_cell(cell) for cell in rows[0]):
            return _Layout(delimiter, True)
        if width >= 4 and same >= 0.95 * len(rows):
            return _Layout(delimiter, False)
    return None


def _two_column_series(rows: list[list[str]]) -> bool:
    """Two columns, one of them values of a type (`date,close`, `seed,0xdeadbeaf` over
    `0,0xedc95200e2bd66a5`, `timestamp,value`): a series exported to CSV, or a page of one (a
    ranged read, whose first row stands where the header would). Two fields alone are too
    common a shape (`Lastname, Firstname`, a sentence with one comma) to be a table without the
    typed column."""
    header, body = rows[0], rows[1:]
    if not all(_header_cell(cell) for cell in header):
        return False
    if sum(len(row) == 2 and all(cell.strip() for cell in row) for row in body) < 0.95 * len(body):
        return False
    return any(
        sum(bool(_SERIES_VALUE.fullmatch(row[column].strip())) for row in body if len(row) == 2) >= 0.95 * len(body)
        for column in (0, 1)
    )


def _header_cell(cell: str) -> bool:
    """A column name: short, a few words at most, not the end of a sentence."""
    name = cell.strip()
    return 0 < len(name) <= 60 and len(name.split()) <= 4 and name[-1] not in ".!?"


def _last_blank(lines: list[str]) -> int:
    """The sniffed lines up to the last blank one: the last block may be cut mid-record."""
    return next((i for i in range(len(lines) - 1, 0, -1) if not lines[i].strip()), len(lines))


def looks_like_table(head: str) -> bool:
    lines = head.split("\n")
    # Rows one field per line take many lines each: the whole head is read for them.
    # A few rows are enough to tell when the head was cut from a longer text; a whole short text
    # needs as many as its compressor does, or it is left to the others (prose, logs).
    cut = len(head) >= _CUT_HEAD_CHARS
    if record_blocks(lines[: _last_blank(lines)], _SNIFF_RECORDS if cut else _MIN_RECORDS) is not None:
        return True
    if insert_rows(lines[:-1], _SNIFF_RECORDS if cut else _MIN_ROWS) is not None:  # the last line may be cut
        return True
    if len(lines) > _SNIFF_LINES:
        lines = lines[:_SNIFF_LINES]  # the last sniffed line may be cut mid-row
    if _layout(lines) is not None:
        return True
    # Logs are often aligned too (a timestamp, a level, a source): they stay logs.
    return _looks_aligned(lines) and not looks_like_logs(head)


_TOKEN = re.compile(r"\S+")
# A rule under a header: runs of dashes or equals signs split by spaces, `+` or `|` (pip list,
# dpkg -l, psql).
_RULE = re.compile(r"[-=+| ]*[-=]{3}[-=+| ]*")
_RULE_RUN = re.compile(r"[-=]+")
_VARIABLE = re.compile(r"\d+")
# A line of source: one closing on an open bracket, a comma or a semicolon (a comment aside), or
# a comment.
_CODE_LINE = re.compile(r"[,;{(\[]\s*(?:(?:#|//).*)?$|^\s*(?:#|//|/\*|--\s)")
# Padding inside a line: aligned output pads its columns ("root         1  0.0"); words set one
# space apart at fixed offsets ("worker 1 finished job 12 in 3 ms") are a sentence template.
_PADDING = re.compile(r"\S {2,}\S")
_PADDED_SHARE = 1 / 3
_CODE_SHARE = 0.3
_HEX_GROUP = re.compile(r"[0-9a-f]{4,}:?")
_MAX_PREAMBLE = 6  # lines before a table's header or first row (dpkg's legend, ls's "dir:", "total N")
_MIN_BLOCK_ROWS = 3
_REACH = 0.8  # a gutter is reached by (nearly) every line of the table...
_SPILL = 0.05  # ...and filled by almost none (a value wider than its column)
_FITTING = 0.9  # share of rows that must fit the columns
_REQUIRED = 0.95  # a column this share of rows fill is one every row must fill
_OPEN_END = 1 << 30
_IDENTITY_CHARS = 40
_IDENTITY_VALUE_CHARS = 48
_LISTING_SHARE = 0.5  # dropped rows are listed by identity when that costs at most this share of them


@dataclass(frozen=True, slots=True)
class _Aligned:
    """One space-aligned table in a block of lines (indices into the text's lines)."""

    header: int | None
    rows: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]  # the positions each column's values fill (the last: to the end)
    names: tuple[str, ...]
    ragged: frozenset[int]  # rows that do not fill the columns every other row fills: always kept
    cells: tuple[list[str], ...]  # each row's cells


def _column_spans(lines: list[str]) -> tuple[tuple[int, int], ...]:
    """Columns as (start, end) of the positions their values fill, split by gutters: runs of
    positions that nearly every line reaches and nearly none fills. Past the positions most
    lines reach there is no telling a gutter from a line's end: the last column runs on."""
    n = len(lines)
    width = max(map(len, lines), default=0)
    covering = [0] * (width + 1)  # difference array: +1 where a token starts, -1 where it ends
    ending = [0] * (width + 1)  # lines of each length
    for line in lines:
        ending[len(line)] += 1
        for token in _TOKEN.finditer(line):
            covering[token.start()] += 1
            covering[token.end()] -= 1
    spill = int(n * _SPILL)
    spans: list[list[int]] = []
    covered = 0
    reaching = n
    after_gutter = True
    for position in range(width):
        covered += covering[position]
        reaching -= ending[position]  # lines as long as this position end before it
        if reaching < _REACH * n:
            break
        gutter = covered <= spill
        if not gutter:
            if after_gutter:
                spans.append([position, position + 1])
            spans[-1][1] = position + 1
        after_gutter = gutter
    if spans:
        spans[-1][1] = _OPEN_END
    return tuple((start, end) for start, end in spans)


def _cells(line: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    """Each word of `line` under the column whose values it overlaps most: a value may be wider
    than most of its column's (a right-aligned number of one digit more, ps's `%MEM` header
    over `0.0`) or hold a space (df's `Mounted on`, docker's `Up 2 hours`). The last column
    runs from its first word to the line's end, spaces and all."""
    words: list[list[str]] = [[] for _ in spans]
    last = len(spans) - 1
    starts = [start for start, _ in spans]
    for token in _TOKEN.finditer(line):
        begin, end = token.span()
        first = max(0, bisect.bisect_right(starts, begin) - 1)
        if first < last and begin >= spans[first][1]:  # in a gutter: the nearer of its columns
            first += begin - spans[first][1] >= spans[first + 1][0] - end
        if first == last:
            words[last].append(line[begin:].strip())
            break
        final = max(first, bisect.bisect_right(starts, end - 1) - 1)
        column = (
            first
            if final == first
            else max(range(first, final + 1), key=lambda c: min(end, spans[c][1]) - max(begin, spans[c][0]))
        )
        words[column].append(token.group())
    return [" ".join(column) for column in words]


def _header_like(cells: list[str]) -> bool:
    filled = [cell for cell in cells if cell]
    return len(filled) >= max(2, len(cells) - 1) and all(
        _header_cell(cell) and not _NUMBER.fullmatch(cell) for cell in filled
    )


def _row_like(first: list[str], cells: list[list[str]]) -> bool:
    """The first line's cells take the shapes of the values under them in most columns: one of
    the rows (pytest's `test_x[0] PASSED [ 2%]` over `test_x[1] PASSED [ 4%]`), not a header."""
    shapes = [{_VARIABLE.sub("#", row[c]) for row in cells} for c in range(len(first))]
    return sum(_VARIABLE.sub("#", cell) in shapes[c] for c, cell in enumerate(first) if cell) * 2 >= len(first)


def _aligned_table(lines: list[str], block: list[int]) -> _Aligned | None:
    """The space-aligned table in a block of non-blank lines, after at most `_MAX_PREAMBLE`
    lines that are not its rows: a header over a rule line, a header, or rows alone."""
    rule = next((k for k in range(1, min(len(block), _MAX_PREAMBLE + 2)) if _RULE.fullmatch(lines[block[k]])), None)
    if rule is not None:
        spans = _rule_spans(lines[block[rule]])
        return _read_aligned(lines, block[rule - 1], block[rule + 1 :], min_columns=2, spans=spans)
    # Preamble lines hold far fewer words than rows ("dir:", "total 68"): none is tried as the
    # table's first line.
    words = [len(lines[i].split()) for i in block]
    typical = statistics.median(words)
    for skip in range(min(_MAX_PREAMBLE, len(block) - _MIN_BLOCK_ROWS) + 1):
        if words[skip] * 2 < typical:
            continue
        first, rest = block[skip], block[skip + 1 :]
        found = _read_aligned(lines, first, rest, min_columns=3)
        if found is None:
            found = _read_aligned(lines, None, [first, *rest], min_columns=4)
        if found is not None:
            return found
    return None


def _rule_spans(rule: str) -> tuple[tuple[int, int], ...] | None:
    """The columns a rule line draws under a header (`------  -----------  -----`, as sqlite3
    `-column`, `pip list` and `dpkg -l` write it): each run of dashes is a column's width, the
    last one running on. The values cannot tell them as well: a few long titles fill the
    gutters the rest leave open. None when the rule is one run (a banner, not columns)."""
    runs = [match.span() for match in _RULE_RUN.finditer(rule)]
    if len(runs) < 2:
        return None
    return (*runs[:-1], (runs[-1][0], _OPEN_END))


def _read_aligned(
    lines: list[str],
    header: int | None,
    rows: list[int],
    min_columns: int,
    spans: tuple[tuple[int, int], ...] | None = None,
) -> _Aligned | None:
    """`rows` as a table of `min_columns`+ columns under `header` (None: rows alone, which need
    a column of numbers and a first row that fits), or None when they are not one. `spans`:
    the columns, when a rule line under the header draws them."""
    if len(rows) < _MIN_BLOCK_ROWS:
        return None
    if sum(bool(_PADDING.search(lines[i])) for i in rows) < _PADDED_SHARE * len(rows):
        return None  # no padding between columns: words of a line template, not a table
    spans = spans or _column_spans([lines[i] for i in rows])
    if len(spans) < min_columns:
        return None
    header_cells = _cells(lines[header], spans) if header is not None else []
    if header is not None and not _header_like(header_cells):
        return None
    cells = [_cells(lines[i], spans) for i in rows]
    filled = [sum(bool(row[c]) for row in cells) for c in range(len(spans))]
    required = [c for c, count in enumerate(filled) if count >= _REQUIRED * len(rows)]
    ragged = frozenset(i for i, row in zip(rows, cells, strict=True) if not all(row[c] for c in required))
    if len(ragged) > (1 - _FITTING) * len(rows) or rows[0] in ragged:
        return None
    if not all(cells[0][c] for c in range(len(spans)) if all(row[c] for row in cells[1:])):
        return None  # a first line short of a column every other row fills (ls's "total 68")
    if sum(bool(_CODE_LINE.search(lines[i])) for i in rows) > _CODE_SHARE * len(rows):
        return None  # aligned source (a literal table, an ASCII-art comment): code, not records
    numeric = [sum(bool(_NUMBER.fullmatch(row[c])) for row in cells) for c in range(len(spans))]
    if header is None:
        if max(numeric) < 0.6 * len(rows):
            return None  # no column of numbers: more likely aligned text than records
        names = [f"column {c}" for c in range(1, len(spans) + 1)]
    else:
        if _row_like(header_cells, cells):
            return None
        names = [cell or f"column {c}" for c, cell in enumerate(header_cells, 1)]
        if len(set(names)) < len(names):
            names = [f"{name} ({c})" for c, name in enumerate(names, 1)]
    hex_cells = sum(bool(_HEX_GROUP.fullmatch(cell)) for row in cells for cell in row[:-1])
    if hex_cells > 0.6 * len(rows) * (len(spans) - 1):
        return None  # a hex dump (xxd, od): rows of bytes, not records
    return _Aligned(header, tuple(rows), spans, tuple(names), ragged, tuple(cells))


def _aligned_tables(lines: list[str]) -> list[_Aligned]:
    """The space-aligned tables of a text, one per block of non-blank lines at most."""
    tables: list[_Aligned] = []
    block: list[int] = []
    for i in range(len(lines) + 1):
        if i < len(lines) and lines[i].strip():
            block.append(i)
            continue
        if len(block) >= _MIN_BLOCK_ROWS:
            table = _aligned_table(lines, block)
            if table is not None:
                tables.append(table)
        block = []
    return tables


def _looks_aligned(lines: list[str]) -> bool:
    """Most non-blank lines are the header or rows of space-aligned tables."""
    tables = _aligned_tables(lines)
    covered = sum(len(table.rows) + (table.header is not None) for table in tables)
    return covered >= 5 and covered >= 0.5 * sum(bool(line.strip()) for line in lines)


def _typed(cell: str) -> Any:
    """Numbers as numbers, so outliers are found (padding aside: `|      23604 |` in a pipe
    table such as `python -X importtime`'s); everything else as the text it is."""
    value = cell.strip()
    if _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    return cell


def _records(lines: list[str], start: int, delimiter: str, width: int) -> list[tuple[int, int, list[str]]]:
    """The rows from line `start` on, each as (first line, one past its last line, cells): a
    quoted field may hold line breaks (a commit message, an issue body exported with
    `sqlite3 -csv`), and its row spans those lines, kept or dropped as one. Blank lines are no row.

    A row spans lines only when it then has the header's width and its later lines are not rows
    of their own: a stray quote opening a field (`5" screen`, a TSV where quotes mean nothing)
    would otherwise run to the end of the table, and a field past the csv module's size limit
    breaks the reader mid-field. Those lines are read one by one, as they were before."""
    records: list[tuple[int, int, list[str]]] = []
    reader = csv.reader((line + "\n" for line in lines[start:]), delimiter=delimiter)
    at = start
    try:
        for cells in reader:
            end = start + reader.line_num
            if end - at > 1 and (len(cells) != width or _runaway(lines, at, end, delimiter, width)):
                records.extend(_line_records(lines, at, end, delimiter))
            elif any(lines[i].strip() for i in range(at, end)):
                records.append((at, end, cells))
            at = end
    except csv.Error:
        records.extend(_line_records(lines, at, len(lines), delimiter))
    return records


def _runaway(lines: list[str], start: int, end: int, delimiter: str, width: int) -> bool:
    """Whether most lines after the first of a multi-line row are rows of the header's width
    themselves: a quote left open swallowed them."""
    rows = sum(
        1 for cells in map(_line_cells, lines[start + 1 : end], itertools.repeat(delimiter)) if len(cells) == width
    )
    return rows * 2 > end - start - 1


def _line_records(lines: list[str], start: int, end: int, delimiter: str) -> list[tuple[int, int, list[str]]]:
    return [(i, i + 1, _line_cells(lines[i], delimiter)) for i in range(start, end) if lines[i].strip()]


def _line_cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a NUL byte, a field over the csv module's size limit: a row to keep
        return []


@register(sniffer=looks_like_table, sniff_rank=50)
class TableCompressor:
    name: ClassVar[str] = "table"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.TABLE})
    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        lines = segment.text.split("\n")
        # A dump's INSERT lines first: their commas split them into rows of a kind, and a page
        # of them without its CREATE TABLE lines would otherwise read as one CSV of two tables.
        inserts = insert_rows(lines, _MIN_ROWS)
        if inserts is not None:
            return _compress_records(segment, lines, inserts)
        layout = _layout(lines)
        if layout is None:
            blocks = record_blocks(lines, _MIN_RECORDS)
            if blocks is not None:
                return _compress_records(segment, lines, blocks)
            return self._compress_aligned(segment, lines)
        delimiter = layout.delimiter
        written = (i for i, line in enumerate(lines) if line.strip())
        first = next(itertools.islice(written, layout.preamble, None))
        header = next(csv.reader([lines[first]], delimiter=delimiter))
        if not layout.has_header:
            header = [f"column {n}" for n in range(1, len(header) + 1)]
        header_at = first if layout.has_header else first - 1  # the last line before the rows
        records = _records(lines, header_at + 1, delimiter, len(header))
        if len(records) < _MIN_ROWS:
            return Compressed(segment.text)
        rows: list[dict[str, Any]] = []
        ragged: set[int] = set()  # rows that do not parse to the header's width: always kept
        for position, (_, _, cells) in enumerate(records):
            if len(cells) != len(header):
                ragged.add(position)
            rows.append({column: _typed(cell) for column, cell in zip(header, cells, strict=False)})
        selection = select_rows(rows, header, segment.context.terms(), size_chars=len(segment.text), categories=True)
        kept = set(selection.kept) | ragged
        if len(kept) == len(rows):
            return Compressed(segment.text)
        out = lines[: header_at + 1]
        summary_given = False
        gap: list[int] = []  # positions of the current run of dropped rows

        def close_gap() -> None:
            nonlocal summary_given
            if not gap:
                return
            first = segment.first_line + records[gap[0]][0]
            last = segment.first_line + records[gap[-1]][1] - 1
            where = f"line {first}" if first == last else f"lines {first}-{last}"
            ending = "\r" if lines[records[gap[0]][0]].endswith("\r") else ""  # a CRLF table keeps its line ends
            if summary_given:
                out.append(marker(f"{len(gap)} rows omitted ({where})", segment.ref) + ending)
            else:
                out.append(marker(f"{selection.summary}; here {len(gap)} rows, {where}", segment.ref) + ending)
                summary_given = True
            gap.clear()

        for position, (start, end, _) in enumerate(records):
            if position in kept:
                close_gap()
                out.extend(lines[start:end])
            else:
                gap.append(position)
        close_gap()
        out.extend(lines[records[-1][1] :])  # blank lines after the last row (the final newline)
        notes = {"rows_kept": len(kept), "rows_dropped": len(rows) - len(kept)}
        return Compressed("\n".join(out), lossy=True, notes=notes)

    def _compress_aligned(self, segment: Segment, lines: list[str]) -> Compressed:
        """Space-aligned tables: tables of the same columns are read as one (the directories of
        `ls -laR`), the telling rows stay verbatim, each run of dropped rows becomes a marker
        naming its lines and, when cheap, what each row was."""
        tables = _aligned_tables(lines)
        if not tables:  # the sniffed head lined up; the whole text does not
            return Compressed(segment.text)
        shapes: dict[tuple[str, ...], list[_Aligned]] = defaultdict(list)
        for table in tables:
            shapes[table.names].append(table)
        terms = segment.context.terms()
        markers: dict[int, str] = {}  # first line of a dropped run -> its marker
        dropped_lines: set[int] = set()
        for shape in shapes.values():
            dropped = _drop_rows(shape, lines, terms, segment)
            for run, text in dropped:
                markers[run[0]] = text
                dropped_lines.update(run)
        if not dropped_lines:
            return Compressed(segment.text)
        out = [markers.get(i, line) for i, line in enumerate(lines) if i in markers or i not in dropped_lines]
        notes = {"rows_kept": sum(len(t.rows) for t in tables) - len(dropped_lines), "rows_dropped": len(dropped_lines)}
        return Compressed("\n".join(out), lossy=True, notes=notes)


def _compress_records(segment: Segment, lines: list[str], records: list[Record]) -> Compressed:
    """Rows over several lines (one field per line) or as statements (a SQL dump's inserts),
    chosen table by table: the telling rows stay whole, each run of dropped rows becomes one
    marker naming its lines and, when cheap, what each row was."""
    tables: dict[str, list[int]] = defaultdict(list)
    for k, record in enumerate(records):
        if record.regular:
            tables[record.table].append(k)
    notes: dict[int, tuple[list[int], str]] = {}  # first record of a dropped run -> run, marker
    for members in tables.values():
        if len(members) >= _MIN_RECORDS:
            for run, note in _drop_records(segment, lines, [records[k] for k in members], members):
                notes[run[0]] = (run, note)
    if not notes:
        return Compressed(segment.text)
    out: list[str] = []
    at = 0
    for first in sorted(notes):
        run, note = notes[first]
        out.extend(lines[at : records[run[0]].start])
        out.append(note)
        at = _run_end(lines, records[run[0]].start, records[run[-1]].end)
    out.extend(lines[at:])
    dropped = sum(len(run) for run, _ in notes.values())
    return Compressed("\n".join(out), lossy=True, notes={"rows_kept": len(records) - dropped, "rows_dropped": dropped})


def _run_end(lines: list[str], start: int, end: int) -> int:
    """A dropped run's end, less the blank lines closing it: they stay between its marker and
    the next row."""
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _drop_records(
    segment: Segment, lines: list[str], records: list[Record], positions: list[int]
) -> list[tuple[list[int], str]]:
    """The runs of one table's records to drop (as `positions`, their places among all records)
    and each run's marker."""
    rows = [{key: _typed(value) for key, value in record.fields.items()} for record in records]
    names = list(dict.fromkeys(key for record in records for key in record.fields))
    identity = _identity(rows, names, [range(len(rows))])
    terms = frozenset(term for term in segment.context.terms() if not any(term in name.lower() for name in names))
    selection = select_rows(rows, names, terms, size_chars=len(segment.text), indexed=bool(identity), categories=True)
    kept = set(selection.kept)
    runs: list[list[int]] = []  # indices into `records`
    for k in range(len(records)):
        if k not in kept:
            if runs and runs[-1][-1] == k - 1 and positions[k - 1] == positions[k] - 1:
                runs[-1].append(k)
            else:
                runs.append([k])
    result: list[tuple[list[int], str]] = []
    for run in runs:
        start = records[run[0]].start
        end = _run_end(lines, start, records[run[-1]].end)
        listing = _listing([rows[k] for k in run], identity)
        note = _run_marker(segment, lines, start, end, len(run), None if result else selection.summary, listing)
        if note is not None:
            result.append(([positions[k] for k in run], note))
    return result


def _run_marker(
    segment: Segment, lines: list[str], start: int, end: int, rows: int, summary: str | None, listing: str
) -> str | None:
    """The marker for `rows` dropped rows on lines `[start, end)`: the selection's `summary` on
    the first one, then what each row was when `listing` is cheap beside them; None when the
    rows cost less than the note standing for them. A CRLF table's marker keeps its `\\r`."""
    first, last = segment.first_line + start, segment.first_line + end - 1
    where = f"line {first}" if first == last else f"lines {first}-{last}"
    count = f"{rows} row" if rows == 1 else f"{rows} rows"
    said = f"{summary}; here {count}, {where}" if summary is not None else f"{count} omitted ({where})"
    run_chars = sum(len(lines[i]) + 1 for i in range(start, end))
    if listing and len(listing) <= _LISTING_SHARE * run_chars:
        said += f": {listing}"
    note = marker(said, segment.ref) + ("\r" if lines[start].endswith("\r") else "")
    return note if len(note) < run_chars else None


def _drop_rows(
    tables: list[_Aligned], lines: list[str], terms: frozenset[str], segment: Segment
) -> list[tuple[list[int], str]]:
    """The runs of rows to drop from tables of one shape (line indices) and each one's marker."""
    names = list(tables[0].names)
    row_lines = [i for table in tables for i in table.rows]
    if len(row_lines) < _MIN_ROWS:
        return []
    rows = [
        {name: _typed(cell) for name, cell in zip(names, cells, strict=True)}
        for table in tables
        for cells in table.cells
    ]
    tables_rows = [range(start, start + len(table.rows)) for start, table in _offsets(tables)]
    identity = _identity(rows, names, tables_rows)
    # A term naming a column ("version") is in every row's fields: it tells no row apart.
    terms = frozenset(term for term in terms if not any(term in name.lower() for name in names))
    selection = select_rows(
        rows, names, terms, size_chars=sum(len(lines[i]) for i in row_lines), indexed=bool(identity), categories=True
    )
    ragged = {i for table in tables for i in table.ragged}
    kept = {row_lines[k] for k in selection.kept} | ragged
    if len(kept) == len(row_lines):
        return []
    position = {i: k for k, i in enumerate(row_lines)}
    runs: list[list[int]] = []
    for table in tables:
        for i in table.rows:
            if i in kept:
                continue
            if runs and runs[-1][-1] == i - 1 and runs[-1][-1] in table.rows:
                runs[-1].append(i)
            else:
                runs.append([i])
    result: list[tuple[list[int], str]] = []
    for n, run in enumerate(runs):  # a run is consecutive lines
        listing = _listing([rows[position[i]] for i in run], identity)
        note = _run_marker(segment, lines, run[0], run[-1] + 1, len(run), None if n else selection.summary, listing)
        if note is not None:
            result.append((run, note))
    return result


def _offsets(tables: list[_Aligned]) -> list[tuple[int, _Aligned]]:
    """Each table with the position of its first row among all their rows."""
    starts = itertools.accumulate((len(table.rows) for table in tables[:-1]), initial=0)
    return list(zip(starts, tables, strict=True))


def _identity(rows: list[dict[str, Any]], names: list[str], tables: list[range]) -> list[str]:
    """The columns naming what each row is, learned from the values (`identity_columns`, on
    values cut to `_IDENTITY_VALUE_CHARS` as the listing shows them): the word columns first,
    numbers added only while the rows of a table are not yet told apart (a PID beside a
    command that repeats; not a file's size beside a name unique in its directory)."""
    shown = [{name: _shown(value) for name, value in row.items()} for row in rows]
    candidates = identity_columns(shown, names, _IDENTITY_CHARS)
    words = [name for name in candidates if all(isinstance(row.get(name), str) for row in shown)]
    chosen: list[str] = []
    for name in words + [name for name in candidates if name not in words]:
        chosen.append(name)
        if all(len({tuple(shown[k].get(c) for c in chosen) for k in table}) == len(table) for table in tables):
            break
    return [name for name in names if name in chosen]


def _shown(value: Any) -> Any:
    """A value as a marker's listing quotes it: on one line, cut to `_IDENTITY_VALUE_CHARS`."""
    if not isinstance(value, str):
        return value
    value = " ".join(value.split())
    if len(value) > _IDENTITY_VALUE_CHARS:
        return value[: _IDENTITY_VALUE_CHARS - 1] + "…"
    return value


def _listing(rows: list[dict[str, Any]], identity: list[str]) -> str:
    """What each row is, by its identity cells; "" when the table has no identity columns or
    the rows leave them empty (a marker then names only the lines)."""
    if not identity:
        return ""
    names = [" ".join(str(_shown(row.get(name, ""))) for name in identity).strip() for row in rows]
    return ", ".join(names) if all(names) else ""
