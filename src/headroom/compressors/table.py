"""Delimited tables (CSV, TSV, `;`- or `|`-separated): a header and the rows worth seeing.

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
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from headroom.ccr.markers import marker
from headroom.compressors._table_rows import select_rows
from headroom.compressors.base import Compressed, register
from headroom.segments import ContentKind, Segment

__all__ = ["TableCompressor", "looks_like_table"]

_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_LINES = 40
_MIN_ROWS = 60
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class _Layout:
    delimiter: str
    has_header: bool  # False: a page from the middle of a file (a ranged read), rows only


def _layout(lines: list[str]) -> _Layout | None:
    """The delimiter splitting (nearly) every sampled line into the same 3+ fields, and whether
    the first line names them. Rows without a header need 4+ fields on nearly every line."""
    sample = [line for line in lines[:_SNIFF_LINES] if line.strip()]
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
        # Rows of the same width with 3+ filled cells (not lines that merely share some tabs).
        same = sum(len(row) == width and sum(bool(cell.strip()) for cell in row) >= 3 for row in rows)
        if width < 3 or same < 0.9 * len(rows):
            continue
        if all(_header_cell(cell) for cell in rows[0]):
            return _Layout(delimiter, True)
        if width >= 4 and same >= 0.95 * len(rows):
            return _Layout(delimiter, False)
    return None


def _header_cell(cell: str) -> bool:
    """A column name: short, a few words at most, not the end of a sentence."""
    name = cell.strip()
    return 0 < len(name) <= 60 and len(name.split()) <= 4 and name[-1] not in ".!?"


def looks_like_table(head: str) -> bool:
    lines = head.split("\n")
    if len(lines) > _SNIFF_LINES:
        lines = lines[:_SNIFF_LINES]  # the last sniffed line may be cut mid-row
    return _layout(lines) is not None


def _typed(cell: str) -> Any:
    """Numbers as numbers, so outliers are found; everything else as the text it is."""
    if _NUMBER.fullmatch(cell):
        return float(cell) if "." in cell else int(cell)
    return cell


@register(sniffer=looks_like_table, sniff_rank=50)
class TableCompressor:
    name: ClassVar[str] = "table"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.TABLE})
    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        lines = segment.text.split("\n")
        layout = _layout(lines)
        if layout is None:
            raise ValueError("not a delimited table")
        delimiter = layout.delimiter
        first = next(i for i, line in enumerate(lines) if line.strip())
        header = next(csv.reader([lines[first]], delimiter=delimiter))
        if not layout.has_header:
            header = [f"column {n}" for n in range(1, len(header) + 1)]
        header_at = first if layout.has_header else first - 1  # the last line before the rows
        body = [i for i in range(header_at + 1, len(lines)) if lines[i].strip()]
        if len(body) < _MIN_ROWS:
            return Compressed(segment.text)
        rows: list[dict[str, Any]] = []
        ragged: set[int] = set()  # rows that do not parse to the header's width: always kept
        for position, i in enumerate(body):
            try:
                cells = next(csv.reader([lines[i]], delimiter=delimiter))
            except csv.Error:
                cells = []
            if len(cells) != len(header):
                ragged.add(position)
            rows.append({column: _typed(cell) for column, cell in zip(header, cells, strict=False)})
        selection = select_rows(rows, header, segment.context.terms(), size_chars=len(segment.text))
        kept = set(selection.kept) | ragged
        if len(kept) == len(rows):
            return Compressed(segment.text)
        out = lines[: header_at + 1]
        summary_given = False
        gap: list[int] = []  # body positions of the current run of dropped rows

        def close_gap() -> None:
            nonlocal summary_given
            if not gap:
                return
            first, last = (segment.first_line + body[g] for g in (gap[0], gap[-1]))
            where = f"line {first}" if first == last else f"lines {first}-{last}"
            if summary_given:
                out.append(marker(f"{len(gap)} rows omitted ({where})", segment.ref))
            else:
                out.append(marker(f"{selection.summary}; here {len(gap)} rows, {where}", segment.ref))
                summary_given = True
            gap.clear()

        for position, i in enumerate(body):
            if position in kept:
                close_gap()
                out.append(lines[i])
            else:
                gap.append(position)
        close_gap()
        if body[-1] + 1 < len(lines):
            out.extend(lines[body[-1] + 1 :])  # blank lines after the last row (the final newline)
        notes = {"rows_kept": len(kept), "rows_dropped": len(rows) - len(kept)}
        return Compressed("\n".join(out), lossy=True, notes=notes)
