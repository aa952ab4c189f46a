"""SmartCrusher: JSON compression that keeps valid JSON and only values from the original.

Lossless steps come first (minify; flatten nested objects of table rows into dotted columns;
factor out columns constant across all rows; drop columns derivable from another column,
such as GitHub's `url = "https://api.github.com/users/" + login`; factor out columns that are
a function of a low-cardinality column; columnar encoding when it is shorter). Only when a
table is still large are rows cut to their identity — first/last rows, rare and anomalous rows,
and rows matching the task's terms stay whole — and the others keep only their identifying
fields (ids, numbers, names, titles, logins, paths, timestamps: columns learned from the table,
see `identity_columns`) in an `other_rows` index: the question that follows the tool result is
unknown when it is compressed, so the compressed table must still name every row that was
there. Only tables beyond `max_index_rows` lose rows entirely, and the marker then gives the
range of the identities behind it. The marker's ref retrieves the whole original, or the rows
matching a query.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import orjson

from headroom.ccr.markers import find_refs, marker
from headroom.compressors._table_rows import RowSelection, select_rows
from headroom.compressors.base import Compressed, Registry, register
from headroom.compressors.prose import ProseOptions, compress_prose_fields
from headroom.segments import ContentKind, JsonTables, Segment, ref_matches

__all__ = ["JsonCompressor", "JsonOptions", "identity_columns", "json_tables", "similar_records"]

META_KEY = "_headroom"
_MISSING = object()
OTHER_ROWS_KEY = "other_rows"
KEYED_KEY = "keyed"  # meta entry naming the column that holds each row's member name
GROUPED_KEY = "grouped"  # the same, for an object whose members are lists of records
EMPTY_GROUPS_KEY = "empty_groups"  # the members of such an object whose list was empty
# Values that name nothing a reader would ask about: hashes, base64 node ids, signatures.
_OPAQUE = re.compile(r"[0-9a-fA-F]{16,}|(?=[^=]*\d)(?=[^=]*[a-z])(?=[^=]*[A-Z])[A-Za-z0-9+/=_-]{12,}")
_DERIVED_NOTE = "'derived' field = prefix + that column's value + suffix where it is"
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")  # a time of day, alone or in a timestamp
_HEX = re.compile(r"[0-9a-fA-F]+")
_MAX_IDENTITY_COLUMNS = 4
# Meta entries a table may take from an earlier JSON unit of the request instead of repeating
# them (column -> rule maps): the pages of one API listing factor out the same ones.
CITABLE_META = ("constant", "constant_where", "derived", "lookup", "present_with", "element_field", "counter")
# A table's note citing them: "'derived', 'lookup' as in h_…, plus any here".
_CITED = re.compile(r"((?:'[a-z_]+', )*'[a-z_]+') as in ((?:h_[0-9a-f]{12,32}, )*h_[0-9a-f]{12,32}), plus any here")
_MAX_CITED_UNITS = 3  # earlier units one meta key may cite
_CITED_NOTE = "'x' as in h_…, plus any here: those results' 'x' (with what they cite) and this table's hold here"


def identity_columns(rows: list[dict[str, Any]], columns: list[str], budget_chars: int = 64) -> list[str]:
    """The columns that tell this table's rows apart for a reader, learned from the values (not
    from field names): present in every row, scalar, and either numbers taking a new value on at
    least half the rows (ids, issue numbers, sizes) or short strings varied enough to name things
    (names, titles, logins, paths, timestamps; a reporter repeats across issues, a status does
    not name anything). URLs and opaque tokens (hashes, base64 node ids) are left out: the first
    are usually derived from an id, the second no one asks for by sight. Words first (titles,
    names, logins, file names), then numbers, then digit-heavy strings (versions), then times,
    each in column order, while their average width stays within `budget_chars`. Integers
    counting the rows (line numbers) and times come last, and never alone: they name nothing.
    Of two renderings of one value (`upload_time` "…T10:30:07" beside `upload_time_iso_8601`
    "…T10:30:07.629183Z"), the fuller one is named when it fits: the shorter says nothing more;
    nor does a column spelled out inside another chosen one on every row (a release's version
    inside its file's name)."""
    n = len(rows)
    ranked: list[tuple[int, int, str, float]] = []  # (kind rank, column position, column, width)
    grouping: list[tuple[int, int, str, float]] = []  # (-distinct values, position, column, width)
    unique: set[str] = set()  # integer columns with a value of their own in every row
    holding: Counter[str] = Counter()  # rows holding each column
    for row in rows:
        holding.update(row.keys())
    for position, column in enumerate(columns):
        if holding[column] < n:
            continue  # missing from some row
        values = [row[column] for row in rows]
        present = [v for v in values if v is not None]
        if len(present) < 0.9 * n:
            continue
        if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            if len(set(present)) < 0.5 * n:
                continue
            kind = 3 if _counts_rows(values) else 1
            if len(set(present)) == n:
                unique.add(column)
            ranked.append((kind, position, column, sum(len(str(v)) for v in present) / n))
        elif all(isinstance(v, str) for v in present):
            texts: list[str] = present
            if sum(1 for t in texts if "://" in t or _OPAQUE.fullmatch(t)) * 2 >= len(texts):
                continue
            joined = "".join(texts)
            letters = sum(map(str.isalpha, joined))  # map: a fifth of the time of a generator
            digits = sum(map(str.isdigit, joined))
            distinct = len(set(texts))
            if distinct < max(3, n // 4):
                if distinct >= 3 and len(present) == n and all(any(c.isalpha() for c in t) for t in texts):
                    grouping.append((-distinct, position, column, sum(len(t) for t in texts) / n))
                continue
            kind = 0 if letters > digits else 3 if sum(1 for t in texts if _CLOCK.search(t)) * 2 > len(texts) else 2
            ranked.append((kind, position, column, sum(len(t) for t in texts) / n))
    chosen: list[tuple[int, str]] = []
    width = 0.0
    if ranked and not any(kind in (0, 2) or column in unique for kind, _, column, _ in ranked):
        # No column names its rows, no number is one row's own (a linter's findings: a file and
        # a rule each shared by many, told apart by line numbers that repeat across files): the
        # most varied named group goes first, when it fits, so a row reads "UP031 68", not "68".
        for _, position, column, average in sorted(grouping):
            if average <= budget_chars / 2:
                chosen.append((position, column))
                width += average
                break
    for kind, position, column, average in sorted(ranked):
        if kind == 3 and not chosen:
            break  # row counters and times alone name nothing: the marker gives their range
        if any(_same_values(rows, column, other) for _, other in chosen):
            continue  # `noqa_row` beside `location.row`: the same numbers say nothing more
        if len(chosen) < _MAX_IDENTITY_COLUMNS and width + average <= budget_chars:
            chosen.append((position, column))
            width += average
    # A column chosen whose every value starts a longer candidate's, row by row, gives way to
    # that fuller rendering when it fits the width too (and to nothing when it is chosen too).
    widths = {column: average for _, _, column, average in ranked}
    for i, (_, column) in enumerate(chosen):
        taken = {c for _, c in chosen}
        for _, position, fuller, average in sorted(ranked):
            if fuller == column or not _spelled_in_every(rows, column, fuller, at_start=True):
                continue
            if fuller in taken:
                chosen[i] = (-1, "")
                width -= widths[column]
                break
            if width - widths[column] + average <= budget_chars:
                chosen[i] = (position, fuller)
                width += average - widths[column]
                break
    # A column written out inside another chosen one, row by row (PyPI's release `key` "0.13.3"
    # in its file name "httpx-0.13.3.tar.gz"), says nothing the other does not.
    for i, (_, column) in enumerate(chosen):
        if column and any(other and other != column and _spelled_in_every(rows, column, other) for _, other in chosen):
            chosen[i] = (-1, "")
    return [column for _, column in sorted(chosen) if column]


def _same_values(rows: list[dict[str, Any]], column: str, other: str) -> bool:
    """Whether two columns hold the same value on at least nine rows in ten."""
    same = sum(1 for row in rows if row.get(column) == row.get(other))
    return same * 10 >= len(rows) * 9


def _spelled_in_every(rows: list[dict[str, Any]], part: str, whole: str, *, at_start: bool = False) -> bool:
    """Whether in every row `whole` is a longer string holding `part`'s string: at its start
    with `at_start` (a shorter rendering of one value), else anywhere and of 2+ characters."""
    return all(
        isinstance(inner := row.get(part), str)
        and isinstance(outer := row.get(whole), str)
        and len(outer) > len(inner)
        and (outer.startswith(inner) if at_start else len(inner) >= 2 and inner in outer)
        for row in rows
    )


def _counts_rows(values: list[Any]) -> bool:
    """Integers counting the rows (line numbers, ranks, serial ids: each one more than the one
    before): beside a name they say which row is which; alone, the marker's range says it."""
    return len(values) > 2 and all(
        isinstance(a, int) and isinstance(b, int) and b == a + 1 for a, b in itertools.pairwise(values)
    )


@dataclass(frozen=True, slots=True)
class JsonOptions:
    min_rows: int = 3  # arrays shorter than this are not treated as tables
    flatten_depth: int = 3  # nested objects inside rows become dotted columns up to this depth
    # Row selection starts only when a table stays above this size after lossless steps.
    row_selection_min_rows: int = 40
    row_selection_min_chars: int = 12_000
    max_lookup_cardinality: int = 64
    # String values at least this long are prose (issue bodies, passages) for the prose
    # compressor; None leaves every string whole.
    prose_min_chars: int | None = 400
    # Share of a long text field's droppable tokens kept. Lower than for whole documents: a
    # field sits beside its row's other fields (an issue's title, labels), which carry the gist,
    # and the unit most relevant to the task stays on top (prose.py). 0.2 keeps every needle of
    # both benchmark corpora visible (0.15 lost one on the shared doc_qa cases).
    prose_keep_ratio: float = 0.2
    # Strings from this long are prose too when such strings are a third of the document or more.
    prose_passage_min_chars: int = 120
    # The prose model's token budget is full up to this document size (~25k tokens), then
    # shrinks in proportion down to `prose_min_model_tokens` (the query and 4 unit prefixes).
    prose_full_model_chars: int = 100_000
    prose_min_model_tokens: int = 96
    # Rows cut to their identity are listed in `other_rows` up to this many per table; beyond
    # it (tables of thousands of rows) the rest are only counted, with their identity range.
    max_index_rows: int = 1_000
    # Identity fields kept per row cost at most about this many characters on average: ids and
    # titles fit, a table's whole text does not.
    identity_chars: int = 64
    # An object whose values are at least this many similar records keyed by name (a lockfile's
    # packages by path, a map of id -> record) is a table too: one row per member, its name in
    # a key column. None keeps such objects as objects.
    keyed_min_rows: int | None = 4


@register
class JsonCompressor:
    name: ClassVar[str] = "json"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.JSON})
    priority: ClassVar[int] = 10

    def __init__(self, options: JsonOptions | None = None, registry: Registry | None = None) -> None:
        self.options = options or JsonOptions()
        # Long text fields go through the prose compressor with the options its registry gives
        # it (e.g. the learned model off), so a JSON document's prose reads like any prose.
        prose = registry.options.get("prose") if registry is not None else None
        self._prose = prose if isinstance(prose, ProseOptions) else ProseOptions()

    def without_model(self) -> JsonCompressor:
        """This compressor with long text fields weighed by their keyword scores alone (for a
        page of many small runs, each a document of its own: a pass of the model each cost
        ~30 ms, 3.4 s for a 50k-token page of three-issue groups)."""
        twin = copy.copy(self)
        twin._prose = replace(self._prose, learned=False)
        return twin

    def compress(self, segment: Segment) -> Compressed:
        value = orjson.loads(segment.text)
        _check_faithful(value)
        crusher = _Crusher(self.options, segment)
        shortened, fields_shortened = _shorten_prose(value, segment, self.options, self._prose, field_markers=False)
        out = crusher.crush(shortened)
        if fields_shortened and not isinstance(out, dict):
            # No object at the root to carry the note: each shortened field gets its own marker.
            crusher = _Crusher(self.options, segment)
            shortened, fields_shortened = _shorten_prose(value, segment, self.options, self._prose, field_markers=True)
            out = crusher.crush(shortened)
        notes_for_root = _cite_notes(list(crusher.legend), _earlier_tables(segment))
        if fields_shortened and isinstance(out, dict):
            notes_for_root.append(marker(f"… in {fields_shortened} text fields marks omitted sentences", segment.ref))
        if notes_for_root and isinstance(out, dict):
            head = [out[META_KEY]] if out.get(META_KEY) else []
            out = {META_KEY: "; ".join([*head, *notes_for_root]), **{k: v for k, v in out.items() if k != META_KEY}}
        notes = {**crusher.notes(), "text_fields_shortened": fields_shortened}
        text = orjson.dumps(out).decode()
        if crusher.rows_dropped == 0 and crusher.columns_omitted == 0 and not fields_shortened:
            return Compressed(text, notes=notes)

        def every_row() -> str:  # only computed when the lossy form cannot be used
            return orjson.dumps(_Crusher(self.options, segment, select=False).crush(value)).decode()

        return Compressed(text, lossy=True, notes=notes, lossless_text=every_row)


def _earlier_tables(segment: Segment) -> tuple[JsonTables, ...]:
    earlier = segment.context.earlier_json
    return earlier.tables if earlier is not None else ()


def _cite_notes(notes: list[str], earlier: tuple[JsonTables, ...]) -> list[str]:
    """`notes` with those an earlier JSON unit's note already said replaced by one note naming
    that unit (the earliest that said each). Notes carrying a ref (markers) are this unit's own."""
    cited: dict[str, None] = {}
    kept: list[str] = []
    for note in notes:
        source = None if find_refs(note) else next((t.ref for t in earlier if note in t.note), None)
        if source is None:
            kept.append(note)
        else:
            if not cited:
                kept.append("")  # the citation stands where the first note it replaces stood
            cited[source] = None
    if not cited:
        return notes
    citation = f"key notes as in {', '.join(cited)}"
    return [citation if note == "" else note for note in kept]


def json_tables(text: str, sent_body: str) -> JsonTables | None:
    """What a JSON unit (`text`, whose JSON body was sent as `sent_body`) put before the model:
    None unless the text as sent is JSON naming the unit's own ref (a unit sent whole explained
    nothing, and one that names no ref cannot be cited). Its meta entries are those it sent in
    full, each meta key only when it sent one value for it (anywhere in the document), so a
    later unit citing that key means exactly that value."""
    ref = next((r for r in find_refs(sent_body) if ref_matches(r, text)), None)
    if ref is None:
        return None
    value = orjson.loads(sent_body)
    note = value.get(META_KEY) if isinstance(value, dict) else None
    found: dict[str, set[bytes]] = {}
    cites: dict[str, set[tuple[str, ...]]] = {}  # meta key -> the units each table's note cites for it
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            own = node.get(META_KEY)
            cited = {
                key.strip("'"): tuple(refs.split(", "))
                for keys, refs in _CITED.findall(own if isinstance(own, str) else "")
                for key in keys.split(", ")
            }
            # Meta keys count only on a table this compressor wrote (it has `rows`): a data
            # field that happens to be called `constant` is no meta a later unit may cite.
            table = isinstance(node.get("rows"), list)
            for key, child in node.items():
                if table and key in CITABLE_META:
                    found.setdefault(key, set()).add(_canonical(child))
                    cites.setdefault(key, set()).add(cited.get(key, ()))
                stack.append(child)
            for key, refs in cited.items():  # a key cited with nothing left here is absent
                if key not in node:
                    found.setdefault(key, set()).add(_canonical({}))
                    cites.setdefault(key, set()).add(refs)
    meta = {
        key: orjson.loads(next(iter(values)))
        for key, values in found.items()
        if len(values) == 1 and len(cites[key]) == 1
    }
    cited_units = {key: next(iter(cites[key])) for key in meta if next(iter(cites[key]))}
    return JsonTables(ref, note if isinstance(note, str) else "", meta, cited_units)


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _check_faithful(value: Any) -> None:
    """Refuse documents this compressor cannot reproduce faithfully (the pipeline then keeps the
    original): integers beyond 64 bits, which the parser reads as floats, and documents that
    already use headroom's note key."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            if node.is_integer() and abs(node) >= 2**53:
                raise ValueError("integer too large to carry exactly through the JSON parser")
        elif isinstance(node, dict):
            if META_KEY in node:
                raise ValueError(f"the document already uses the key {META_KEY!r}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _shorten_prose(
    value: Any, segment: Segment, options: JsonOptions, prose: ProseOptions, *, field_markers: bool
) -> tuple[Any, int]:
    """Long prose strings (issue bodies, retrieved passages) shortened by the prose compressor,
    all of a document's strings together (one budget; a passage repeated across rows goes)."""
    min_chars = options.prose_min_chars
    if min_chars is None:
        return value, 0
    strings: list[str] = []
    shortest = min(min_chars, options.prose_passage_min_chars)

    def collect(node: Any) -> None:
        if isinstance(node, str):
            if len(node) >= shortest:
                strings.append(node)
        elif isinstance(node, dict):
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    collect(value)
    # Retrieved passages are often short (a release-note bullet each): in a document that is
    # mostly such text they compete for the budget with the long ones; elsewhere (an issue's
    # short body beside its title and labels) only long strings are prose.
    if sum(len(t) for t in strings) * 3 < len(segment.text):
        long_strings = [t for t in strings if len(t) >= min_chars]
    else:
        long_strings, min_chars = strings, shortest
    if not long_strings:
        return value, 0
    # The prose model's budget shrinks with the document beyond `prose_full_model_chars`: the
    # rest of the work (parsing, crushing, counting) grows with it, the model's cost does not.
    # Decided from the document's size alone, so the same document gives the same bytes.
    model_tokens = prose.max_model_tokens
    if len(segment.text) > options.prose_full_model_chars:
        scaled = model_tokens * options.prose_full_model_chars // len(segment.text)
        model_tokens = max(options.prose_min_model_tokens, scaled)
    replacements = compress_prose_fields(
        long_strings,
        segment.context,
        segment.ref,
        field_markers=field_markers,
        keep_ratio=options.prose_keep_ratio,
        options=replace(prose, max_model_tokens=model_tokens, min_chars=min(min_chars, prose.min_chars)),
    )
    changed = {id(original): new for original, new in zip(long_strings, replacements, strict=True) if new is not None}
    if not changed:
        return value, 0

    def rebuild(node: Any) -> Any:
        if isinstance(node, str):
            return changed.get(id(node), node)
        if isinstance(node, dict):
            return {k: rebuild(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rebuild(v) for v in node]
        return node

    return rebuild(value), len(changed)


def _covered(ours: dict[str, Any], theirs: Any, *, lookup: bool) -> set[tuple[str, str]] | None:
    """The entries of the meta map `ours` that the earlier map `theirs` gives, as (column, "")
    or, for a lookup, (column, value key): None unless every entry of `theirs` holds here (the
    same in `ours`; for a lookup, the same 'by' and no value that differs), so that reading
    `theirs` with `ours` is exact."""
    if not isinstance(theirs, dict):
        return None
    covered: set[tuple[str, str]] = set()
    for column, rule in theirs.items():
        mine = ours.get(column, _MISSING)
        if mine is _MISSING:
            return None
        if not lookup:
            if _canonical(mine) != _canonical(rule):
                return None
            covered.add((column, ""))
            continue
        if not (isinstance(mine, dict) and isinstance(rule, dict)) or set(mine) != set(rule):
            return None
        values, known = mine.get("values"), rule.get("values")
        if mine.get("by") != rule.get("by") or not isinstance(values, dict) or not isinstance(known, dict):
            return None
        if any(_canonical(values[k]) != _canonical(known[k]) for k in values if k in known):
            return None
        covered.update((column, k) for k in values if k in known)
    return covered


def _entries(meta: dict[str, Any], *, lookup: bool) -> set[tuple[str, str]]:
    if not lookup:
        return {(column, "") for column in meta}
    return {(column, k) for column, rule in meta.items() for k in rule["values"]}


def _uncovered(meta: dict[str, Any], covered: set[tuple[str, str]], *, lookup: bool) -> dict[str, Any]:
    if not lookup:
        return {column: rule for column, rule in meta.items() if (column, "") not in covered}
    left: dict[str, Any] = {}
    for column, rule in meta.items():
        values = {k: v for k, v in rule["values"].items() if (column, k) not in covered}
        if values:
            left[column] = {**rule, "values": values}
    return left


def _effective(table: JsonTables, key: str, earlier: tuple[JsonTables, ...], *, lookup: bool) -> Any:
    """The entries of meta `key` an earlier unit's table stands for: those it sent and those of
    the units it cited for that key (recursively); None if one of those is not known."""
    by_ref = {t.ref: t for t in earlier}
    value = table.meta[key]
    for ref in table.cited.get(key, ()):
        source = by_ref.get(ref)
        if source is None or key not in source.meta or source is table:
            return None
        inherited = _effective(source, key, earlier[: earlier.index(source)], lookup=lookup)
        if not isinstance(inherited, dict) or not isinstance(value, dict):
            return None
        if lookup:
            value = {**inherited, **value} | {
                c: {**r, "values": {**inherited[c]["values"], **r["values"]}}
                for c, r in value.items()
                if c in inherited and isinstance(inherited[c], dict) and isinstance(r, dict)
            }
        else:
            value = {**inherited, **value}
    return value


def _whole_object_paths(rows: list[dict[str, Any]], max_depth: int) -> set[str]:
    """Dotted paths (as flattening would name them) of the nested objects that stay whole in
    their column instead of becoming dotted columns:
    - maps, whose keys are data rather than a schema (a package's `devDependencies`: each row
      has a few of many names): as columns they would be mostly null, one per name ever seen;
      an object is a record when its rows have, on average, at least half of its keys;
    - objects with a key containing "." in some row (`"exports": {".": ...}`): a dotted column
      name must split back into its keys."""
    keys_at: dict[str, dict[str, int]] = {}  # path -> key -> rows having it
    rows_at: dict[str, int] = {}
    dotted: set[str] = set()
    stack: list[tuple[dict[str, Any], str, int]] = [(row, "", 0) for row in rows]
    while stack:
        node, prefix, depth = stack.pop()
        for key, value in node.items():
            if isinstance(value, dict) and value and depth < max_depth:
                name = f"{prefix}{key}"
                rows_at[name] = rows_at.get(name, 0) + 1
                counts = keys_at.setdefault(name, {})
                for inner in value:
                    counts[inner] = counts.get(inner, 0) + 1
                    if "." in inner:
                        dotted.add(name)
                stack.append((value, name + ".", depth + 1))
    maps = {path for path, counts in keys_at.items() if 2 * sum(counts.values()) < len(counts) * rows_at[path]}
    return dotted | maps


def similar_records(records: list[dict[str, Any]]) -> bool:
    """Records of one kind, not a bag of unrelated objects: the fields most of them have (in at
    least half) are, on average, at least half of each record's fields. A lockfile's packages
    share version, resolved and integrity beside their own few; a config's sections do not."""
    counts: dict[str, int] = {}
    for record in records:
        for key in record:
            counts[key] = counts.get(key, 0) + 1
    common = {key for key, n in counts.items() if 2 * n >= len(records)}
    shared = sum(1 for record in records for key in record if key in common)
    return bool(common) and 2 * shared >= sum(len(record) for record in records)


_SPARSE_MIN_FIELDS = 64


def _too_sparse(records: list[dict[str, Any]]) -> bool:
    """More distinct fields than records (and many): each record has fields of its own (an
    event's attributes keyed by name). As a table it would be mostly empty cells, and the
    table's passes, each over every row for every column, grow with rows x columns: 3.6 s
    for 50k tokens of records with two fields of their own each."""
    fields: set[str] = set()
    for record in records:
        fields.update(record)
        if len(fields) > max(_SPARSE_MIN_FIELDS, len(records)):
            return True
    return False


def _key_column_names() -> Iterator[str]:
    """Names for the key column of a keyed table, the first no record uses as a field."""
    yield "key"
    for n in itertools.count():
        yield f"key_{n}"


class _Crusher:
    """One compression run over one JSON document."""

    def __init__(self, options: JsonOptions, segment: Segment, *, select: bool = True) -> None:
        self.options = options
        self.select = select
        self.ref = segment.ref
        self.terms = segment.context.terms()
        self.tables = 0
        self.rows_in = 0
        self.rows_dropped = 0
        self.columns_factored = 0
        self.columns_omitted = 0
        # (id of a list element, field): fields an element keeps although they are derived for
        # the others (the rule does not fit its value).
        self.own_values: set[tuple[int, str]] = set()
        self.derived_nulls = False  # a derived field of list elements is null somewhere
        # List columns whose elements are shown by their one field left (labels by name).
        self.bare_fields: dict[str, str] = {}
        self.depth = 0  # tables inside table cells carry no note of their own unless rows went
        self.legend: dict[str, None] = {}  # explanations of the meta keys used, said once per document
        self.trying_keyed = False  # crushing a map's members as a keyed table (see `_keyed_table`)
        self.earlier = _earlier_tables(segment)  # earlier JSON units of the request, to cite

    def notes(self) -> dict[str, int]:
        return {
            "tables": self.tables,
            "rows_in": self.rows_in,
            "rows_dropped": self.rows_dropped,
            "columns_factored": self.columns_factored,
            "columns_omitted": self.columns_omitted,
        }

    def crush(self, value: Any) -> Any:
        if isinstance(value, list):
            records = len(value) >= self.options.min_rows and all(isinstance(v, dict) for v in value)
            if records and not _too_sparse(value):
                return self._table(value)
            return [self.crush(v) for v in value]
        if isinstance(value, dict):
            keyed = self._keyed_table(value)
            if keyed is None:
                keyed = self._grouped_table(value)
            if keyed is not None:
                return keyed
            return {k: self.crush(v) for k, v in value.items()}
        return value

    def _keyed_table(self, members: dict[str, Any]) -> dict[str, Any] | None:
        """An object of similar records keyed by name, as a table: each member a row with its
        name in a key column (named in the `keyed` meta entry), so the records' shared fields
        are factored and their rows selected like any table's. None when the object is not such
        a map, or when the table would not be shorter than the object it replaces."""
        least = self.options.keyed_min_rows
        # Inside another keyed attempt, maps stay maps: an attempt crushes its whole subtree and
        # a rejected one crushes it again, so nested attempts would double the work per level
        # (a 2 KB dependency tree 24 levels deep took seconds).
        if least is None or self.trying_keyed or len(members) < max(least, 2):
            return None
        records = list(members.values())
        if not all(isinstance(r, dict) and r for r in records) or not similar_records(records):
            return None
        rows = [(name, record) for name, record in members.items()]
        legend = f"'{KEYED_KEY}' column: the table was an object; that column holds each row's member name"
        return self._member_table(members, rows, KEYED_KEY, legend, {})

    def _grouped_table(self, members: dict[str, Any]) -> dict[str, Any] | None:
        """An object whose members are lists of similar records (a package's files by release,
        events by day), as one table: each record a row with the name of the member it was
        listed under in a key column (named in the `grouped` meta entry); the members whose
        list was empty are named in `empty_groups`. None when the object is not such a map, or
        when the table would not be shorter. Each list alone is too short to be a table."""
        least = self.options.keyed_min_rows
        if least is None or self.trying_keyed or len(members) < max(least, 2):
            return None
        lists = list(members.values())
        if not all(isinstance(group, list) and all(isinstance(r, dict) and r for r in group) for group in lists):
            return None
        rows = [(name, record) for name, group in members.items() for record in group]
        if len(rows) < max(least, 2) or not similar_records([record for _, record in rows]):
            return None
        empty = [name for name, group in members.items() if not group]
        legend = (
            f"'{GROUPED_KEY}' column: the table was an object of lists; that column holds the member each row was"
            " listed under" + (f" ('{EMPTY_GROUPS_KEY}': the members whose list was empty)" if empty else "")
        )
        return self._member_table(members, rows, GROUPED_KEY, legend, {EMPTY_GROUPS_KEY: empty} if empty else {})

    def _member_table(
        self,
        members: dict[str, Any],
        rows: list[tuple[str, dict[str, Any]]],
        meta_key: str,
        legend: str,
        extra: dict[str, Any],
    ) -> dict[str, Any] | None:
        """The table of `rows` (member name, record), the name in a key column no record uses,
        or None when it is not shorter than `members` (then nothing it counted stays counted)."""
        taken = {key for _, record in rows for key in record}
        column = next(name for name in _key_column_names() if name not in taken)
        saved = self._state()
        self.trying_keyed = True
        try:
            table = self._table([{column: name, **record} for name, record in rows])
        finally:
            self.trying_keyed = False
        if not isinstance(table, dict) or len(orjson.dumps({**extra, **table})) >= len(orjson.dumps(members)):
            self._restore(saved)  # the object stays an object, counted and noted as one
            return None
        self.legend[legend] = None
        head = {META_KEY: table.pop(META_KEY)} if META_KEY in table else {}
        return {**head, meta_key: column, **extra, **table}

    def _state(self) -> tuple[Any, ...]:
        return (
            self.tables,
            self.rows_in,
            self.rows_dropped,
            self.columns_factored,
            self.columns_omitted,
            set(self.own_values),
            self.derived_nulls,
            dict(self.bare_fields),
            dict(self.legend),
        )

    def _restore(self, state: tuple[Any, ...]) -> None:
        (
            self.tables,
            self.rows_in,
            self.rows_dropped,
            self.columns_factored,
            self.columns_omitted,
            self.own_values,
            self.derived_nulls,
            self.bare_fields,
            self.legend,
        ) = state

    # -- tables -------------------------------------------------------------------------

    def _table(self, rows: list[dict[str, Any]]) -> Any:
        self.tables += 1
        self.rows_in += len(rows)
        flat = self._flat_rows(rows)
        columns = list(dict.fromkeys(key for row in flat for key in row))
        # Columns present in exactly the same rows form a group (nested objects that are null in
        # some rows give such groups); derived and lookup columns are found within a group, so a
        # factored column is present exactly where its source column is.
        groups: dict[tuple[int, ...], list[str]] = {}
        for column in columns:
            groups.setdefault(tuple(i for i, row in enumerate(flat) if column in row), []).append(column)
        everywhere = groups.get(tuple(range(len(flat))), [])
        constants = self._constant_columns(flat, everywhere)
        constant_with: dict[str, dict[str, Any]] = {}
        derived: dict[str, tuple[str, str, str]] = {}
        lookups: dict[str, tuple[str, dict[str, Any]]] = {}
        for present, group in groups.items():
            if len(present) < 2:
                continue  # a nested object two rows share (one assignee on two issues) factors too
            group_rows = [flat[i] for i in present]
            remaining = [c for c in group if c not in constants]
            if group is not everywhere:
                # Constant wherever present (the same milestone creator on every issue that has a
                # milestone): one column of the group stays as the witness of where that is.
                local = self._constant_columns(group_rows, group)
                # A column that varies stays anyway; when all are constant there, the shortest
                # value is the cheapest witness (a milestone's number, not its creator's URL).
                witness = next(
                    (c for c in group if c not in local),
                    min(group, key=lambda c: len(orjson.dumps(group_rows[0][c]))),
                )
                local.pop(witness, None)
                if local:
                    constant_with[witness] = local
                remaining = [c for c in remaining if c not in local]
            derived.update(self._derived_columns(group_rows, remaining))
            remaining = [c for c in remaining if c not in derived]
            lookups.update(self._lookup_columns(group_rows, remaining))
        factored = set(constants) | set(derived) | set(lookups)
        factored.update(c for local in constant_with.values() for c in local)
        self.columns_factored += len(factored)
        omitted = self._opaque_twins(
            flat, [c for c in columns if c not in derived and c not in lookups], set(constant_with)
        )
        if omitted:
            # Constants too: a gravatar hash and its avatar URL, the same wherever the milestone is.
            for column in omitted:
                constants.pop(column, None)
                for local in constant_with.values():
                    local.pop(column, None)
            for witness in [w for w, local in constant_with.items() if not local]:
                del constant_with[witness]
            # What was factored from an omitted field goes with it (an avatar URL built from a
            # gravatar hash): the note must not point at a field the rows do not have.
            for column, (_, source, _) in list(derived.items()):
                if source in omitted:
                    del derived[column]
                    omitted.append(column)
            for column, (by, _) in list(lookups.items()):
                if by in omitted:
                    del lookups[column]
                    omitted.append(column)
            self.columns_omitted += len(omitted)
            factored.update(omitted)

        kept_columns = [c for c in columns if c not in factored]
        # Rows of one shape can be sent as columns: nulls for null nested objects and absent
        # field groups, kept only if every row then has every column.
        filled, filled_columns, nulled = self._fill_null_objects(flat, kept_columns)
        filled, present_with = self._fill_absent_groups(filled, filled_columns, list(constant_with))
        if (nulled or present_with) and all(all(c in row for c in filled_columns) for row in filled):
            flat, kept_columns = filled, filled_columns
            if nulled:
                self.legend["an object whose dotted columns are all null was null"] = None
        else:
            present_with = {}
        element_meta, element_drops = self._pool_object_lists(flat, kept_columns)
        self.depth += 1
        bare = self.bare_fields
        body_rows = [
            {c: self._cell(row[c], element_drops.get(c), bare.get(c)) for c in kept_columns if c in row} for row in flat
        ]
        self.depth -= 1
        uniform = all(len(row) == len(kept_columns) for row in body_rows)

        selection = self._maybe_select_rows(body_rows, kept_columns, uniform)
        counters: dict[str, int] = {}
        if selection is None and uniform and len(kept_columns) > 1:
            # Every row shown: a column counting them from 0 or 1 (a search result's rank) is its
            # position. Serial ids (1001, 1002...) stay: a reader asks for them by value.
            counters = {
                c: body_rows[0][c]
                for c in kept_columns
                if body_rows[0][c] in (0, 1) and _counts_rows([row[c] for row in body_rows])
            }
            if counters:
                kept_columns = [c for c in kept_columns if c not in counters]
                body_rows = [{c: row[c] for c in kept_columns} for row in body_rows]
                factored.update(counters)
                self.columns_factored += len(counters)
        shown = [body_rows[i] for i in selection.kept] if selection else body_rows
        shared: dict[str, list[dict[str, Any]]] = {}
        if self.depth == 0:
            shared = self._shared_values(shown, kept_columns)
            if shared:
                kept_columns = [c for c in kept_columns if c not in shared]
                shown = [{c: v for c, v in row.items() if c not in shared} for row in shown]
        index: dict[str, Any] | None = None
        summary = selection.summary if selection else ""
        if selection:
            index, summary = self._identity_index(body_rows, kept_columns, selection)

        meta: dict[str, Any] = {}
        if counters:
            meta["counter"] = counters
            self.legend["'counter' {field: first}: the first row has that value, each next row one more"] = None
        if constants:
            meta["constant"] = constants
            self.legend["'constant': the same in every row"] = None
        if present_with:
            meta["present_with"] = present_with
            self.legend["'present_with' {column: [fields]}: null there means neither it nor those fields exist"] = None
        if constant_with:
            meta["constant_where"] = constant_with
            self.legend["'constant_where' {column: {field: value}}: in the rows with that column"] = None
        if derived:
            meta["derived"] = {c: list(parts) for c, parts in derived.items()}
        if derived or "derived" in element_meta:
            nulls = self.derived_nulls or any(c in row and row[c] is None for c in derived for row in flat)
            caveats = [
                *(["null where its column is null"] if nulls else []),
                *(["own values first"] if self.own_values else []),
            ]
            self.legend[_DERIVED_NOTE + (f" ({'; '.join(caveats)})" if caveats else "")] = None
        if lookups:
            meta["lookup"] = {c: {"by": by, "values": table} for c, (by, table) in lookups.items()}
            self.legend["'lookup' field = values[<row's value of 'by'>], wherever 'by' is"] = None
        if omitted:
            meta["omitted"] = omitted
            self.legend[
                marker(
                    "'omitted' fields (opaque ids and hashes, one per value of a field shown, and what is built "
                    "from them) are only in the original",
                    self.ref,
                )
            ] = None
        if shared:
            meta["shared"] = shared
            self.legend[
                "'shared' {column: [{<id field>: [ids], 'value': v}]}: that column is v in the rows with those ids"
            ] = None
        for key, value in element_meta.items():
            meta.setdefault(key, {}).update(value)
        if element_meta:
            self.legend["'x[].y': field y of each element of list x"] = None
        if "element_field" in element_meta:
            self.legend[
                "'element_field' {list: field}: the list shows each element's field (an object if it has own values)"
            ] = None
        if any(c != c.split(".", 1)[0] for c in kept_columns):
            self.legend["dotted columns are nested fields"] = None
        notes = [f"table of {len(rows)} rows"] if self.depth == 0 else []
        if selection:
            self.rows_dropped += len(rows) - len(selection.kept)
            notes.append(marker(summary, self.ref))

        columnar = uniform and self._columnar_pays(shown, kept_columns)
        unchanged_shape = kept_columns == columns and all(len(f) == len(r) for f, r in zip(flat, rows, strict=True))
        if not meta and not selection and not columnar and unchanged_shape:
            return [self.crush(row) for row in rows]  # nothing factored: keep the original shape
        if notes and self.earlier:  # a table with a note of its own can cite earlier units there
            meta, citation = self._cite_meta(meta)
            if citation:
                notes.append(citation)
                self.legend[_CITED_NOTE] = None
        result: dict[str, Any] = {META_KEY: "; ".join(notes)} if notes else {}
        result.update(meta)
        if columnar:
            result["columns"] = kept_columns
            result["rows"] = [[row[c] for c in kept_columns] for row in shown]
        else:
            result["rows"] = shown
        if selection and selection.duplicates:
            result["duplicate_counts"] = selection.duplicates
        if index:
            result[OTHER_ROWS_KEY] = index
        return result

    def _cite_meta(self, meta: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """`meta` without the entries earlier JSON units sent identically (for a lookup, the
        values they sent): each meta key cites the few earlier units that spare the most of it,
        each only if every entry it stands for holds here. Returns the meta left and the note
        citing them ("" if none)."""
        cited: dict[tuple[str, ...], list[str]] = {}  # refs -> meta keys
        left = dict(meta)
        for key in CITABLE_META:
            ours = meta.get(key)
            if not isinstance(ours, dict) or not ours:
                continue
            lookup = key == "lookup"
            if lookup and not all(isinstance(r, dict) and isinstance(r.get("values"), dict) for r in ours.values()):
                continue
            options: list[tuple[str, set[tuple[str, str]]]] = []
            for position, table in enumerate(self.earlier):
                if key in table.meta:
                    effective = _effective(table, key, self.earlier[:position], lookup=lookup)
                    covered = _covered(ours, effective, lookup=lookup)
                    if covered:
                        options.append((table.ref, covered))
            refs: list[str] = []
            done: set[tuple[str, str]] = set()
            while options and len(refs) < _MAX_CITED_UNITS:
                ref, covered = max(options, key=lambda option: len(option[1] - done))  # the first of the best
                if not covered - done:
                    break
                refs.append(ref)
                done |= covered
                options = [o for o in options if o[0] != ref]
            if not refs:
                continue
            rest = _uncovered(ours, done, lookup=lookup)
            # Citing costs the key's name and the refs: only worth it when that is less.
            if len(orjson.dumps(rest)) + len(key) + 16 * len(refs) >= len(orjson.dumps(ours)):
                continue
            cited.setdefault(tuple(refs), []).append(key)
            if rest:
                left[key] = rest
            else:
                del left[key]
        notes = [
            f"{', '.join(repr(k) for k in keys)} as in {', '.join(refs)}, plus any here" for refs, keys in cited.items()
        ]
        return left, "; ".join(notes)

    def _identity_index(
        self, rows: list[dict[str, Any]], columns: list[str], selection: RowSelection
    ) -> tuple[dict[str, Any] | None, str]:
        """The rows left out of `rows` (shown in full) as an index of their identity fields, and
        the marker's text saying so (or the selection's own summary when no column identifies)."""
        shown = set(selection.kept)
        others = [i for i in range(len(rows)) if i not in shown]
        identity = identity_columns(rows, columns, self.options.identity_chars)
        if not identity or not others:
            return None, selection.summary
        listed = others[: self.options.max_index_rows]
        index = {"columns": identity, "rows": [[rows[i][c] for c in identity] for i in listed]}
        summary = (
            f"{len(shown)} of {len(rows)} rows in full; the other {len(listed)} by {', '.join(identity)} "
            f"in '{OTHER_ROWS_KEY}'"
        )
        unlisted = others[len(listed) :]
        if unlisted:
            first, last = (rows[unlisted[0]][identity[0]], rows[unlisted[-1]][identity[0]])
            summary += f", {len(unlisted)} more not listed ({identity[0]} {first!s:.40} … {last!s:.40})"
        summary += "; retrieve with a query (any value above) for the fields not shown"
        return index, summary

    def _fill_null_objects(
        self, rows: list[dict[str, Any]], columns: list[str]
    ) -> tuple[list[dict[str, Any]], list[str], bool]:
        """A nested object that is null in some rows (an issue's milestone or assignee) gives
        rows of two shapes: `"milestone": null` in some, `milestone.*` columns in the others,
        so the table cannot be sent as columns and every row repeats its field names. Where
        it is unambiguous, the null rows get null in each kept `milestone.*` column instead:
        every row then has the same columns (the caller keeps it only if they do). Unambiguous
        means: every row has either the null or all those columns, and in each of the latter
        one of them is not null (so "all null" can only mean the object was null)."""
        present = set(columns)
        fills: dict[str, list[str]] = {}
        for column in columns:
            inner = [c for c in columns if c.startswith(column + ".")]
            if not inner or any(column.startswith(prefix + ".") for prefix in fills):
                continue
            ok = True
            null_rows = 0
            for row in rows:
                if column in row:
                    if row[column] is not None or any(c in row for c in inner):
                        ok = False
                        break
                    null_rows += 1
                elif not all(c in row for c in inner) or all(row[c] is None for c in inner):
                    ok = False
                    break
            if ok and null_rows:
                fills[column] = inner
        if not fills:
            return rows, columns, False
        filled_columns = [c for c in columns if c not in fills and c in present]
        out: list[dict[str, Any]] = []
        for row in rows:
            nulls = [column for column in fills if column in row]
            if not nulls:
                out.append(row)
                continue
            blanks = {c for column in nulls for c in fills[column]}
            out.append({c: v for c, v in row.items() if c not in fills} | dict.fromkeys(blanks))
        return out, filled_columns, True

    def _fill_absent_groups(
        self, rows: list[dict[str, Any]], columns: list[str], witnesses: list[str]
    ) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        """Fields that only some rows have (a pull request's `draft` and `pull_request.*` in a
        list of issues) keep a table from being sent as columns, and every row then repeats its
        field names. When each such group of fields (present in exactly the same rows) has a
        column that is never null where present, the rows without the group get null in all
        its columns, and `present_with` names the group by that column, so null there means
        absent. Only done when it gives every row the same columns."""
        if self.depth or len(rows) < self.options.min_rows:
            return rows, {}
        groups: dict[tuple[int, ...], list[str]] = {}
        for column in columns:
            groups.setdefault(tuple(i for i, row in enumerate(rows) if column in row), []).append(column)
        present_with: dict[str, list[str]] = {}
        for present, group in groups.items():
            if len(present) == len(rows):
                continue
            if not present:
                return rows, {}
            candidates = [c for c in group if all(rows[i][c] is not None for i in present)]
            preferred = [c for c in candidates if c in witnesses]
            if not candidates or (any(c in witnesses for c in group) and not preferred):
                return rows, {}
            witness = (preferred or candidates)[0]
            present_with[witness] = [c for c in group if c != witness]
        if not present_with:
            return rows, {}
        # Worth it when the field names no longer repeated outweigh the nulls added.
        names = sum(len(c) + 4 for row in rows for c in columns if c in row)
        nulls = sum(5 for row in rows for c in columns if c not in row)
        notes = len(orjson.dumps(present_with)) + 100
        if names <= nulls + notes + sum(len(c) + 3 for c in columns):
            return rows, {}
        return [row | {c: None for c in columns if c not in row} for row in rows], present_with

    def _opaque_twins(self, rows: list[dict[str, Any]], columns: list[str], witnesses: set[str]) -> list[str]:
        """Columns of opaque values (hashes, base64 node ids) that only restate the identity
        of something a readable field beside them names already: one value per value of a
        readable field of the same object (`user.gravatar_id` per `user.login`; a base64
        `node_id` per `id`). No one asks for them by sight; the original keeps them. A hash that
        is the only name of its row (a commit's sha, a file's sha256) has no such twin and stays.
        Only in a lossy run, and only in tables big enough for row selection to be considered."""
        if not self.select or len(rows) < self.options.min_rows:
            return []
        parents: dict[str, list[str]] = {}
        opaque: list[str] = []
        where: dict[str, list[int]] = {}  # column -> rows where it has a value
        for column in columns:
            parents.setdefault(column.rpartition(".")[0], []).append(column)
            where[column] = [i for i, row in enumerate(rows) if row.get(column) is not None]
            values = [rows[i][column] for i in where[column]]
            if (
                column not in witnesses
                and len(values) >= self.options.min_rows
                and all(isinstance(v, str) for v in values)
                and sum(1 for v in values if "/" not in v and _OPAQUE.fullmatch(v)) * 10 >= 9 * len(values)
                # The same everywhere, a value twins with any other constant: only a hex digest
                # (a gravatar hash beside its login) is dropped then.
                and (len(set(values)) > 1 or (len(values[0]) >= 16 and _HEX.fullmatch(values[0]) is not None))
            ):
                opaque.append(column)
        node_ids = {c for c in opaque if any(not _HEX.fullmatch(rows[i][c]) for i in where[c])}
        omitted: list[str] = []
        for column in opaque:
            for twin in parents[column.rpartition(".")[0]]:
                if twin in opaque or twin == column or twin in witnesses or where[twin] != where[column]:
                    continue
                twins = [rows[i][twin] for i in where[column]]
                # A hex digest (a checksum someone may compare) needs a readable name as twin; a
                # base64 node id may restate a numeric id too.
                names = all(isinstance(b, str) and not _OPAQUE.fullmatch(b) for b in twins)
                numbers = all(isinstance(b, int) and not isinstance(b, bool) for b in twins)
                if not (names or (numbers and column in node_ids)):
                    continue
                pairs = {(rows[i][column], b) for i, b in zip(where[column], twins, strict=True)}
                if len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs}):
                    omitted.append(column)
                    break
        # Values built from an omitted one (an avatar URL around the gravatar hash) go with it.
        for column in columns:
            if column in omitted or column in witnesses or not where[column]:
                continue
            for source in omitted[:]:
                if all(
                    isinstance(rows[i][column], str)
                    and isinstance(rows[i].get(source), str)
                    and _OPAQUE.fullmatch(rows[i][source])
                    and rows[i][source] in rows[i][column]
                    for i in where[column]
                ):
                    omitted.append(column)
                    break
        return omitted

    def _pool_object_lists(
        self, rows: list[dict[str, Any]], columns: list[str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
        """Columns holding lists of objects (an issue's labels): the elements of all rows are
        pooled, and fields constant or derived across them are factored out of every element.
        Returns (meta entries, column -> element fields dropped)."""
        meta: dict[str, dict[str, Any]] = {}
        drops: dict[str, set[str]] = {}
        for column in columns:
            cells = [row[column] for row in rows if column in row]
            if not all(isinstance(cell, list) and all(isinstance(e, dict) for e in cell) for cell in cells):
                continue
            elements = [e for cell in cells for e in cell]
            if len(elements) < self.options.min_rows:
                continue
            keys = list(elements[0])
            if any(list(e) != keys for e in elements):
                continue
            constants = self._constant_columns(elements, keys)
            rules = self._derive(elements, [k for k in keys if k not in constants], len(elements) // 10)
            derived = {k: rule for k, (rule, _) in rules.items()}
            remaining = [k for k in keys if k not in constants and k not in derived]
            lookups = self._lookup_columns(elements, remaining, object_form=True)
            if len(constants) + len(derived) + len(lookups) >= len(keys):  # keep a field per element
                continue
            if constants:
                meta.setdefault("constant", {}).update({f"{column}[].{k}": v for k, v in constants.items()})
            if derived:
                meta.setdefault("derived", {}).update(
                    {f"{column}[].{k}": [p, f"{column}[].{key}", x] for k, (p, key, x) in derived.items()}
                )
            if lookups:
                meta.setdefault("lookup", {}).update(
                    {f"{column}[].{k}": {"by": f"{column}[].{by}", "values": t} for k, (by, t) in lookups.items()}
                )
            drops[column] = set(constants) | set(derived) | set(lookups)
            for k, (_, misfits) in rules.items():
                self.own_values.update((id(elements[j]), k) for j in misfits)
                self.derived_nulls = self.derived_nulls or any(e[k] is None for e in elements)
            left = [k for k in keys if k not in drops[column]]
            if len(left) == 1 and not any(isinstance(e[left[0]], (dict, list)) for e in elements):
                # One field left per element (a label's name): the list shows that field's values.
                self.bare_fields[column] = left[0]
                meta.setdefault("element_field", {})[column] = left[0]
        return meta, drops

    def _cell(self, value: Any, drop: set[str] | None, bare: str | None = None) -> Any:
        own = self.own_values
        if bare is not None and isinstance(value, list):
            # An element keeping a value of its own stays an object.
            return [
                {k: self.crush(v) for k, v in element.items() if k == bare or (id(element), k) in own}
                if any((id(element), k) in own for k in element)
                else element[bare]
                for element in value
            ]
        if drop and isinstance(value, list):
            return [
                {k: self.crush(v) for k, v in element.items() if k not in drop or (id(element), k) in own}
                for element in value
            ]
        return self.crush(value)

    def _flatten(self, row: dict[str, Any], keep_whole: set[str], prefix: str = "", depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in row.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and value and depth < self.options.flatten_depth and name not in keep_whole:
                out.update(self._flatten(value, keep_whole, name + ".", depth + 1))
            else:
                out[name] = value
        return out

    def _flat_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows with nested records as dotted columns (see `_whole_object_paths` for the objects
        that stay whole). Rows whose own keys have a "." stay as they are."""
        if any("." in key for row in rows for key in row):
            return [dict(row) for row in rows]
        keep_whole = _whole_object_paths(rows, self.options.flatten_depth)
        return [self._flatten(row, keep_whole) for row in rows]

    @staticmethod
    def _constant_columns(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
        constants: dict[str, Any] = {}
        for column in columns:
            first = rows[0][column]
            if isinstance(first, (dict, list)) and first:
                continue
            if all(row[column] == first and type(row[column]) is type(first) for row in rows):
                constants[column] = first
        return constants

    @staticmethod
    def _derived_columns(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, tuple[str, str, str]]:
        """Columns equal to prefix + str(other column) + suffix in every row (lossless to drop)."""
        return {column: rule for column, (rule, _) in _Crusher._derive(rows, columns, 0).items()}

    @staticmethod
    def _derive(
        rows: list[dict[str, Any]], columns: list[str], max_misfits: int
    ) -> dict[str, tuple[tuple[str, str, str], tuple[int, ...]]]:
        """Columns equal to prefix + str(other column) + suffix, null where that column is
        null, in every row but at most `max_misfits` (returned: those rows keep their own
        value, e.g. a label URL with its space escaped)."""
        # Candidate source columns: scalar or null in every row and not constant. The template
        # is then verified on every row, so a coincidental match can never drop information.
        keys = [
            c
            for c in columns
            if all(row[c] is None or (isinstance(row[c], (str, int)) and not isinstance(row[c], bool)) for row in rows)
            and len({row[c] for row in rows if row[c] is not None}) > 1
        ]
        derived: dict[str, tuple[tuple[str, str, str], tuple[int, ...]]] = {}
        for column in columns:
            samples = [i for i, row in enumerate(rows) if isinstance(row[column], str) and len(row[column]) >= 8]
            if not samples:
                continue
            found = False
            for key in keys:
                if key == column or key in derived:
                    continue
                for i in samples[: min(3, max_misfits + 1)]:  # a misfit may come first
                    value, source = rows[i][column], rows[i][key]
                    needle = "" if source is None else str(source)
                    at = value.find(needle) if needle else -1
                    if at < 0:
                        continue
                    prefix, suffix = value[:at], value[at + len(needle) :]
                    misfits = tuple(
                        j
                        for j, row in enumerate(rows)
                        if not (
                            (row[column] is None and row[key] is None)
                            or (row[key] is not None and row[column] == f"{prefix}{row[key]}{suffix}")
                        )
                    )
                    if len(misfits) <= max_misfits and all(rows[j][column] is not None for j in misfits):
                        derived[column] = ((prefix, key, suffix), misfits)
                        found = True
                        break
                if found:
                    break
        return derived

    def _lookup_columns(
        self, rows: list[dict[str, Any]], columns: list[str], *, object_form: bool = False
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """Long string columns that are a function of a low-cardinality column. In `object_form`
        (list elements, which repeat their field names) any string field pays when its table
        costs less than half of what the field costs in the elements, name included (a label's
        color by its name)."""
        limit = min(self.options.max_lookup_cardinality, len(rows) // (2 if object_form else 4))
        candidates_by: list[tuple[str, list[Any]]] = []
        for column in columns:
            values = [row[column] for row in rows]
            if all(isinstance(v, str) for v in values) and 1 < len(set(values)) <= limit:
                candidates_by.append((column, values))
        lookups: dict[str, tuple[str, dict[str, Any]]] = {}
        targets = list(columns)
        if object_form:  # the longest values first: a label's name stays, its color and text go
            targets.sort(key=lambda c: -sum(len(str(row[c])) for row in rows))
        for column in targets:
            values = [row[column] for row in rows]
            if not all(isinstance(v, str) for v in values) or any(by == column for by, _ in lookups.values()):
                continue
            if not object_form and sum(len(v) for v in values) < 12 * len(values):
                continue  # short values: a lookup table would not pay
            for by, by_values in candidates_by:
                if by == column or by in lookups:
                    continue
                table: dict[str, Any] = {}
                if not all(table.setdefault(k, v) == v for k, v in zip(by_values, values, strict=True)):
                    continue
                if object_form:
                    table_cost = sum(len(k) + len(v) + 6 for k, v in table.items())
                    if 2 * table_cost >= sum(len(v) + len(column) + 6 for v in values):
                        continue
                lookups[column] = (by, table)
                break
        return lookups

    @staticmethod
    def _shared_values(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Columns whose big values repeat across the rows shown (a package's scripts and
        devDependencies, the same for a run of versions; a keyword list): each distinct value
        once, with the ids of the rows holding it, when that costs at most 80% of repeating it
        (and spares 200 characters or more). The ids are those of an identity column unique
        across these rows. Every row holds every such column, so each row is listed once."""
        if len(rows) < 4:
            return {}
        by = next(
            (
                column
                for column in identity_columns(rows, columns)
                if all(isinstance(row.get(column), str | int) for row in rows)
                and len({row[column] for row in rows}) == len(rows)
            ),
            None,
        )
        if by is None or by == "value":  # "value" holds each entry's value
            return {}
        ids = [orjson.dumps(row[by]) for row in rows]
        shared: dict[str, list[dict[str, Any]]] = {}
        for column in columns:
            if column == by or any(column not in row for row in rows):
                continue
            holders: dict[bytes, list[int]] = {}
            for i, row in enumerate(rows):
                holders.setdefault(orjson.dumps(row[column]), []).append(i)
            if len(holders) == len(rows):
                continue
            inline = sum(len(value) * len(held) + len(held) for value, held in holders.items())
            pooled = len(column) + sum(
                len(value) + len(by) + 16 + sum(len(ids[i]) + 1 for i in held) for value, held in holders.items()
            )
            if pooled * 10 > inline * 8 or inline - pooled < 200:
                continue
            shared[column] = [
                {by: [rows[i][by] for i in held], "value": rows[held[0]][column]} for held in holders.values()
            ]
        return shared

    @staticmethod
    def _columnar_pays(rows: list[dict[str, Any]], columns: list[str]) -> bool:
        # Column names repeat once per row in object form and once in all in columnar form; the
        # wrapper object costs ~30 characters.
        if len(rows) < 2 or not columns:
            return False
        key_chars = sum(len(c) + 3 for c in columns)
        return key_chars * (len(rows) - 1) > 30

    def _maybe_select_rows(self, rows: list[dict[str, Any]], columns: list[str], uniform: bool) -> RowSelection | None:
        if not self.select or len(rows) < self.options.row_selection_min_rows:
            return None
        # Measure the table as it would be sent: columnar rows carry no key names.
        size = len(orjson.dumps([list(r.values()) for r in rows] if uniform else rows))
        if size < self.options.row_selection_min_chars:
            return None
        indexed = bool(identity_columns(rows, columns, self.options.identity_chars))
        selection = select_rows(rows, columns, self.terms, size_chars=size, indexed=indexed)
        if len(selection.kept) >= len(rows):
            return None
        return selection
