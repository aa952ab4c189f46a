"""Which rows of a large table stay visible: a representative, deterministic subset.

Kept, in priority order: first and last rows; rows matching the task's terms; rows with rare
values in low-cardinality columns (a `type: Organization` among users, a status that is not the
usual one); rows whose text follows a rare template (a successful login among failures); numeric
outliers; rows missing a value most rows have. Frequent patterns keep one exemplar each, and
exact duplicates collapse into one row with a count.
"""

from __future__ import annotations

import re
import statistics
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["RowSelection", "select_rows"]

_VARIABLE = re.compile(r"\d+(?:[.:]\d+)*|0x[0-9a-f]+|[0-9a-f]{8,}", re.IGNORECASE)
_EDGE_ROWS = 3
_RARE_SHARE = 0.05  # a value/template seen in at most 5% of rows is "rare"
_NAME_TERM = re.compile(r"[\d_.:/-]")  # a task term that names something: `postgresql-15`, `calc_price`


@dataclass(frozen=True, slots=True)
class RowSelection:
    kept: tuple[int, ...]  # indices into the input rows, ascending
    summary: str  # what the marker says about the dropped rows
    duplicates: dict[str, int] = field(default_factory=dict)  # row index (as str) -> times seen


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _template(text: str) -> str:
    return _VARIABLE.sub("#", text)


def _id_column(rows: list[dict[str, Any]], columns: list[str]) -> str | None:
    """The column that best identifies rows (for the marker's ranges): unique ints, else strings."""
    for wanted in (int, str):
        for column in columns:
            values = [row.get(column) for row in rows]
            if all(type(v) is wanted for v in values) and len(set(values)) == len(values):
                return column
    return None


def _rare_limit(counts: Counter[str]) -> int:
    """How many rows a value (or template) may have and still be rare in its column: at most 5%
    of the rows, and at most a quarter of what the typical row's value has (but a one-off is
    always rare, unless every value is one: a FAILED among a small table's few states). In an event-id
    column of 19 values, one held by 8 of 200 rows is under 5% yet an ordinary kind when the
    typical row's kind has 18 rows; taking every such row filled the budget with the first
    kinds' rows, where the one-off events were the telling ones."""
    n = sum(counts.values())
    # The typical row's value count: the median over the rows, each row counting its value's
    # count (a value held by c rows stands c times among them).
    typical, rows_below = 0, 0
    for count in sorted(counts.values()):
        rows_below += count
        if rows_below > n // 2:
            typical = count
            break
    if typical <= 1:
        return 0  # every value is one-off: none is rarer than the others
    return max(1, min(int(n * _RARE_SHARE), typical // 4))


def _held_texts(rows: list[dict[str, Any]], column: str, held: list[int]) -> tuple[list[str], Counter[str]]:
    """The texts of the rows holding `column`, and the counts of every row's text (a row
    without the column reads "None", as a null does)."""
    texts = [_scalar_text(rows[i][column]) for i in held]
    counts = Counter(texts)
    if len(held) < len(rows):
        counts["None"] += len(rows) - len(held)
    return texts, counts


def _rare_value_rows(rows: list[dict[str, Any]], columns: list[str], holders: Mapping[str, list[int]]) -> list[int]:
    n = len(rows)
    ranks: dict[int, int] = {}
    for column in columns:
        held = holders.get(column, [])
        texts, counts = _held_texts(rows, column, held)
        if len(counts) <= 1 or len(counts) > max(8, n // 10):
            continue  # constant, or high-cardinality (ids, free text): handled elsewhere
        limit = _rare_limit(counts)
        if len(held) == n or counts["None"] > limit:
            # A row without the column reads "None": unless that is rare, only the rows holding
            # the column can be (most optional columns), and only they are walked.
            _rank_rare(zip(held, texts, strict=True), counts, limit, ranks)
        else:
            _rank_rare(enumerate(_scalar_text(row.get(column)) for row in rows), counts, limit, ranks)
    return _by_rank(ranks)


def _rank_rare(values: Iterable[tuple[int, str]], counts: Counter[str], limit: int, ranks: dict[int, int]) -> None:
    """Record each row holding a rare value (one held by at most `limit` rows) with its rank
    among that value's rows (0 for the first), keeping a row's lowest rank over columns."""
    seen: Counter[str] = Counter()
    for i, value in values:
        if counts[value] <= limit:
            ranks[i] = min(ranks.get(i, seen[value]), seen[value])
            seen[value] += 1


def _by_rank(ranks: dict[int, int]) -> list[int]:
    """Each rare value's first row before any value's second row: a budget that runs
    out shows every rare value once rather than every row of the first few."""
    return sorted(ranks, key=lambda i: (ranks[i], i))


def _category_rows(rows: list[dict[str, Any]], columns: list[str], holders: Mapping[str, list[int]]) -> Iterable[int]:
    """The first row of each value of a category column (at most 8 values, each in under a
    fifth of the rows): a status in 7% of the rows (CrashLoopBackOff among Running pods) is not
    rare enough for `_rare_value_rows`, yet it is a kind of row the reader must see."""
    n = len(rows)
    for column in columns:
        held = holders.get(column, [])
        texts, counts = _held_texts(rows, column, held)
        if not 1 < len(counts) <= 8:
            continue
        first: dict[str, int] = {}
        for i, text in zip(held, texts, strict=True):
            first.setdefault(text, i)
        if len(held) < n:  # the rows without the column read "None" too
            absent = next((j for j, i in enumerate(held) if i != j), len(held))  # the first of them
            first["None"] = min(first.get("None", n), absent)
        yield from sorted(i for text, i in first.items() if counts[text] * 5 < n)


def _template_rows(
    rows: list[dict[str, Any]], columns: list[str], holders: Mapping[str, list[int]]
) -> tuple[list[int], list[int]]:
    """(rows with a rare text template, one exemplar row per frequent template), column by column.

    A column whose templates are mostly distinct (URLs with random hash directories, free text)
    says nothing about which rows are unusual: taken jointly with the others, every row would
    look rare and the selection would fall back to the first rows. Such columns are skipped, as
    high-cardinality columns are for rare values."""

    def is_text(value: Any) -> bool:
        return isinstance(value, str) and len(value) > 15

    n = len(rows)
    rare: dict[int, int] = {}
    exemplars: set[int] = set()
    for column in columns:
        if len(holders.get(column, ())) <= n // 2 or sum(is_text(row.get(column)) for row in rows) <= n // 2:
            continue
        templates = [_template(_scalar_text(row.get(column)))[:120] for row in rows]
        counts = Counter(templates)
        if len(counts) > max(8, n // 10):
            continue
        _rank_rare(enumerate(templates), counts, _rare_limit(counts), rare)
        first: dict[str, int] = {}
        for i, t in enumerate(templates):
            first.setdefault(t, i)
        exemplars.update(first.values())
    return _by_rank(rare), sorted(exemplars)


def _outlier_rows(rows: list[dict[str, Any]], columns: list[str], holders: Mapping[str, list[int]]) -> list[int]:
    """Rows with a number far out in its column, the farthest (in spreads from the median) first:
    when the budget cannot hold them all, the biggest of a profile's or import timing's costs
    are the ones that stay."""
    found: dict[int, float] = {}
    for column in columns:
        if len(holders.get(column, ())) < max(10, len(rows) // 2):
            continue  # too few numbers whatever the values (the test below)
        values = [row.get(column) for row in rows]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) < max(10, len(rows) // 2):
            continue
        median = statistics.median(numbers)
        spread = statistics.median(abs(v - median) for v in numbers)
        if spread == 0:
            continue
        for i, v in enumerate(values):
            if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v - median) > 8 * spread:
                found[i] = max(found.get(i, 0.0), abs(v - median) / spread)
    return sorted(found, key=lambda i: (-found[i], i))


def _missing_value_rows(
    rows: list[dict[str, Any]], columns: list[str], holders: Mapping[str, list[int]]
) -> Iterable[int]:
    n = len(rows)
    for column in columns:
        if n - len(holders.get(column, ())) > max(1, int(n * _RARE_SHARE)):
            continue  # absent from too many rows for its empty ones to be rare (the test below)
        empty = [i for i, row in enumerate(rows) if row.get(column) in (None, "", [], {})]
        if 0 < len(empty) <= max(1, int(n * _RARE_SHARE)):
            yield from empty


def _matching_rows(
    rows: list[dict[str, Any]], terms: frozenset[str], holders: Mapping[str, list[int]]
) -> tuple[list[int], bool]:
    """(rows whose values name a term of the task, those holding its names first; whether the
    task's words occur in the table at all, keys included). A term matches as a whole word
    ("box" is not in "toolbox"). A row's keys are no match (in a CSV every row holds `version`
    and `sha256`), nor is a term many rows hold (`node`, `package` in npm manifests): the first
    rows would fill the share and the one row the task names (`rich-13.2.0-py3-none-any.whl`)
    come too late. For the same reason the rows holding a name (`postgresql-15`,
    `calc_unit_price`: digits or punctuation in it) come before those holding a plain word of
    the task ("disk", "take"), each kind rarest first."""
    if not terms:
        return [], False
    # One text for the whole table, a line per row: each term is one regex scan, its hits
    # mapped to rows by where the lines start.
    texts = [" ".join(_scalar_text(value) for value in row.values()).lower().replace("\n", " ") for row in rows]
    table = "\n".join(texts)
    starts = [0]
    for text in texts[:-1]:
        starts.append(starts[-1] + len(text) + 1)
    keys = " ".join(sorted(key.lower() for key in holders))  # every column name, once
    related = False
    rank: dict[int, tuple[int, int]] = {}
    for term in sorted(terms):
        if term not in table:  # a literal scan first: the bounded pattern cannot skip ahead
            related = related or term in keys
            continue
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])")
        found = sorted({bisect_right(starts, match.start()) - 1 for match in pattern.finditer(table)})
        related = related or bool(found) or term in keys
        if 0 < len(found) <= max(3, len(rows) // 10):
            kind = 0 if _NAME_TERM.search(term) else 1
            for i in found:
                rank[i] = min(rank.get(i, (kind, len(found))), (kind, len(found)))
    return sorted(rank, key=lambda i: (rank[i], i)), related


def select_rows(
    rows: list[dict[str, Any]],
    columns: list[str],
    terms: frozenset[str],
    *,
    size_chars: int,
    indexed: bool = False,
    categories: bool = False,
) -> RowSelection:
    """`indexed`: the caller lists every other row by its identity fields, so fewer whole rows
    are needed to show the table's shape (the exceptions still come first). `categories`: the
    first row of each value of a category column stays too (`_category_rows`), for command
    output read by eye (`kubectl get pods`: the one CrashLoopBackOff pod among Running ones)."""
    n = len(rows)
    # Budget: enough rows to show the shape and the exceptions, about an eighth of a big table
    # (a sixteenth when the rest stay listed by identity).
    budget = max(16, n // 16) if indexed else max(24, n // 8)
    chosen: dict[int, None] = {}

    def take(indices: Iterable[int], cap: int | None = None) -> int:
        taken = 0
        for i in indices:
            if i in chosen:
                continue
            if len(chosen) >= budget or (cap is not None and taken >= cap):
                break
            chosen[i] = None
            taken += 1
        return taken

    take(range(min(_EDGE_ROWS, n)))
    take(range(max(0, n - 2), n))
    # The rows holding each column: a column most rows lack is looked at in those rows only, or
    # skipped when it could only be too sparse (hundreds of optional fields: rows x columns).
    holders: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        for name in row:
            holders.setdefault(name, []).append(i)
    # The rows the task names come before the table's exceptions: those can fill the budget
    # (a category column of 30 sections keeps 30 rows) and the row asked about is the answer.
    matching, related = _matching_rows(rows, terms, holders)
    matched = take(matching, cap=budget // 3)
    rare_templates, exemplars = _template_rows(rows, columns, holders)
    take(_rare_value_rows(rows, columns, holders))
    if categories:
        take(_category_rows(rows, columns, holders))
    take(rare_templates)
    take(_outlier_rows(rows, columns, holders))
    take(sorted(set(_missing_value_rows(rows, columns, holders))))
    take(exemplars)
    # When the task's words occur in the table, the share its rows did not use shows more of
    # the table's head: the rows a reader skimming the listing sees first.
    if related:
        take(range(n), cap=budget // 3 - matched)

    # Collapse exact duplicates among the kept rows (count them over the whole table).
    seen: dict[bytes, int] = {}
    counts: Counter[bytes] = Counter(orjson.dumps(row) for row in rows)
    kept: list[int] = []
    duplicates: dict[str, int] = {}
    for i in sorted(chosen):
        key = orjson.dumps(rows[i])
        if key in seen:
            continue
        seen[key] = i
        kept.append(i)
        if counts[key] > 1:
            duplicates[str(len(kept) - 1)] = counts[key]

    kept_set = set(kept)
    dropped = [i for i in range(n) if i not in kept_set]
    summary = f"{len(dropped)} of {n} rows omitted"
    id_column = _id_column(rows, columns)
    if id_column and dropped:
        ids = [rows[i][id_column] for i in dropped]
        if all(isinstance(v, int) for v in ids):
            summary += f" ({id_column} {min(ids)}-{max(ids)})"
        else:
            summary += f" ({id_column} {ids[0]!s:.40} … {ids[-1]!s:.40})"
    summary += "; retrieve with a query to see matching rows"
    return RowSelection(tuple(kept), summary, duplicates)
