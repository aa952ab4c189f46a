"""The shared vocabulary between wire formats, router, compressors and the CCR store.

Adapters turn a wire-format request into `Segment`s; everything in the middle of the
pipeline sees only these plain objects, never OpenAI/Anthropic dict shapes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property
from typing import Any, Generic, TypeVar

__all__ = [
    "LONG_REF_BYTES",
    "PATH_ARGUMENT_KEYS",
    "REF_BYTES",
    "TASK_STOPWORDS",
    "CodeRead",
    "ContentKind",
    "EarlierCode",
    "EarlierJson",
    "EarlierLogs",
    "EarlierUnits",
    "JsonTables",
    "LogPage",
    "Segment",
    "SegmentContext",
    "content_ref",
    "ref_matches",
]

# Tool-call argument names that carry the file a tool reads (Read, open_file, view, ...).
PATH_ARGUMENT_KEYS = (
    "path",
    "file_path",
    "filePath",
    "filepath",
    "filename",
    "file",
    "target_file",
    "absolute_path",
    "notebook_path",
    "uri",
)


class ContentKind(str, Enum):
    """What a unit of content is, as far as compression is concerned."""

    JSON = "json"
    JSON_PAGE = "json_page"  # a page of a pretty-printed JSON file: starts and ends mid-document
    CODE = "code"
    LOGS = "logs"
    SEARCH = "search"
    DIFF = "diff"
    COMMITS = "commits"  # commit history: git log (--stat, --name-status, --pretty=fuller)
    DIAGNOSTICS = "diagnostics"  # compiler / linter / type-checker reports (gcc, rustc, ruff, mypy, tsc)
    TEST_REPORT = "test_report"  # a test run (pytest, unittest, cargo test, go test, jest, vitest)
    PROSE = "prose"
    TABLE = "table"  # CSV / TSV: delimited rows under a header
    HTML = "html"  # an HTML document (a fetched or generated page)
    XML = "xml"  # an XML document (a data file, a catalogue, a schema, a report)
    YAML = "yaml"  # a YAML document (a Kubernetes listing, an OpenAPI spec, a generated registry)
    PATHS = "paths"  # a list of file paths (Glob, find, grep -l)
    MIXED = "mixed"
    REPEATS = "repeats"  # text whose lines come back in cycles (a traceback of mutual recursion)
    TEXT = "text"  # plain text with no recognizable structure
    BINARY = "binary"  # binary junk or base64 blobs: never touched
    COMPRESSED = "compressed"  # already carries headroom markers: never re-compressed


_TERM = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]{2,}|\d{2,}")
# A value the task names by its digits: a date, a time, a version, an address (`2021-08-02`,
# `07:29:04`, `3.0.16`, `10.0.0.5`). Its parts alone (`2021`, `08`) name nothing.
_NUMERIC_TERM = re.compile(r"(?<![\w.:/-])\d+(?:[.:/-]\d+)+")
_FILE_NAME = re.compile(r"[\w-]+\.[a-z0-9]{1,8}")  # `fields.py`, not an API path's `issues`
# Words that say nothing about *which* rows/lines matter.
TASK_STOPWORDS = frozenset(
    """the and for with that this from what which where when who how are was were has have had
    not but all any can you your our their them they its into out about please find show list
    get set use using used give tell look read pull fetch need want should would could there
    here then than also just only some more most other each every one two does did done
    path paths limit query method true false null none""".split()
)


REF_BYTES = 6  # refs are short: the model reads and repeats them
LONG_REF_BYTES = 16  # the ref an original gets when its short ref is taken by other content


def text_digest(text: str) -> bytes:
    """128-bit digest of a unit's text: the unit cache's key and the history's chain use it (a
    collision would hand one unit another unit's output). Computed once per unit per request."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def content_ref(text: str, digest_size: int = REF_BYTES) -> str:
    """Content address of an original: same text -> same ref, on every machine and turn."""
    return "h_" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=digest_size).hexdigest()


def ref_matches(ref: str, text: str) -> bool:
    """Whether `ref` is the content address of `text` (at the ref's own length)."""
    digits = len(ref) - 2
    if not ref.startswith("h_") or digits % 2 or not 2 <= digits <= 128:
        return False
    return content_ref(text, digits // 2) == ref


@dataclass(frozen=True, slots=True)
class CodeRead:
    """What one earlier code unit of the request led to: the names called by the bodies it
    showed whole for the task (beyond the small bodies every outline keeps). An agent that read
    `_keep_alive`, which calls `get_comma_header`, and then opens the file defining it is
    following that call."""

    calls: tuple[tuple[str, int], ...]  # (name, how many of those bodies call it), by name
    # The names of those bodies and of the classes holding them: what the task led to there.
    # A later file's code that uses them is where that thing is used (the request handler
    # building the `MultiPartParser` the task is about).
    kept: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LogPage:
    """What one earlier log unit of the request put before the model: the templates of its
    events (every one was shown, there or on a page before it) and the values and words its
    text as sent shows (kept lines, and those its markers name)."""

    templates: frozenset[str]
    values: frozenset[str]


@dataclass(frozen=True, slots=True)
class JsonTables:
    """What one earlier JSON unit of the request put before the model, read from its text as
    sent: the ref it names itself by, its `_headroom` note (the key notes it explained), and the
    factored meta entries ('constant', 'derived', 'lookup', ...) it sent, by meta key: a key
    only when the unit sent one value for it, so a later unit citing it is unambiguous; with
    the earlier units it cited for that key (whose entries hold there too)."""

    ref: str
    note: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    cited: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


_Summary = TypeVar("_Summary")
_History = TypeVar("_History", bound="EarlierUnits[Any]")


@dataclass(frozen=True, slots=True)
class EarlierUnits(Generic[_Summary]):
    """The units of one kind that came before a unit in the same request, in order, each as
    a summary of what its text as sent showed.

    Compared and hashed by `digest` alone (a hash chain over those units' texts, original and
    as sent), so two histories are equal only when the same units came before, and a cache
    key can hold `without_summaries()`: the digest, not the summaries."""

    summaries: tuple[_Summary, ...] = field(default=(), compare=False, repr=False)
    digest: bytes = b""

    def __post_init__(self) -> None:
        # Equality is by digest: summaries without one would pass for any other history's (and
        # be handed that history's cached output). Build histories with `then()`.
        if self.summaries and not self.digest:
            raise ValueError("a history with summaries needs their digest: build it with then()")

    def then(self: _History, summary: Any, unit_digest: bytes) -> _History:
        """This history with one more unit after it."""
        chained = hashlib.blake2b(self.digest + unit_digest, digest_size=16).digest()
        return type(self)((*self.summaries, summary), chained)

    def without_summaries(self: _History) -> _History:
        """An equal history that keeps none of the summaries alive (for a long-lived cache key)."""
        return type(self)((), self.digest)


@dataclass(frozen=True, slots=True)
class EarlierLogs(EarlierUnits[LogPage]):
    """The log pages before a unit: a later page shows only what they did not."""

    @property
    def pages(self) -> tuple[LogPage, ...]:
        return self.summaries

    def without_pages(self) -> EarlierLogs:
        return self.without_summaries()

    def templates(self) -> frozenset[str]:
        """Every template the pages showed (a union: computed on each call)."""
        return frozenset().union(*(page.templates for page in self.pages))

    def values(self) -> frozenset[str]:
        """Every value and word the pages showed (a union: computed on each call)."""
        return frozenset().union(*(page.values for page in self.pages))


@dataclass(frozen=True, slots=True)
class EarlierJson(EarlierUnits[JsonTables]):
    """The JSON units before a unit: a later one does not repeat the key notes and meta
    entries they sent, it names the unit that sent them."""

    @property
    def tables(self) -> tuple[JsonTables, ...]:
        return self.summaries


@dataclass(frozen=True, slots=True)
class EarlierCode(EarlierUnits[CodeRead]):
    """The code units before a unit: what their task-kept bodies are and call."""

    def callees(self) -> dict[str, int]:
        """Every name the earlier units' kept bodies call, with how many bodies call it."""
        counts: dict[str, int] = {}
        for read in self.summaries:
            for name, count in read.calls:
                counts[name] = counts.get(name, 0) + count
        return counts

    def kept_names(self) -> frozenset[str]:
        """The names of the earlier units' task-kept bodies and of the classes holding them."""
        return frozenset(name for read in self.summaries for name in read.kept)


@dataclass(frozen=True, slots=True)
class SegmentContext:
    """What is known about a unit from the conversation *before and around* it.

    Only the user turn that led to the tool call, the call's own arguments and the units of its kind
    that came before it in the request are used — never later turns — so a unit compresses
    to the same bytes on every later request.
    """

    tool_name: str | None = None
    tool_arguments: str | None = None  # raw JSON string (or text) of the call's arguments
    user_query: str = ""  # the latest user text *before* this unit
    file_path: str | None = None  # a path argument, if the tool call named one
    # Earlier units of the same request, of the unit's own kind (None: none, or not walked as
    # a request): log pages for a log, JSON units for a JSON unit, code reads for code.
    earlier_logs: EarlierLogs | None = None
    earlier_json: EarlierJson | None = None
    earlier_code: EarlierCode | None = None

    def without_summaries(self) -> SegmentContext:
        """An equal context that keeps no earlier unit's summary alive (for a cache key): the
        histories compare by digest, so the key still tells which units came before."""
        return replace(
            self,
            earlier_logs=self.earlier_logs.without_summaries() if self.earlier_logs is not None else None,
            earlier_json=self.earlier_json.without_summaries() if self.earlier_json is not None else None,
            earlier_code=self.earlier_code.without_summaries() if self.earlier_code is not None else None,
        )

    def terms(self) -> frozenset[str]:
        """Lower-cased search terms from the user query and the tool arguments."""
        text = f"{self.user_query}\n{self.tool_arguments or ''}"
        found: set[str] = set()
        for match in _TERM.findall(text):
            word = match.strip(".:/-").lower()
            if len(word) >= 3 and word not in TASK_STOPWORDS:
                found.add(word)
            # A path names its file too: `ls -laR`, `du`, a stat listing show "fields.py" on its
            # row, under a directory line, not "pydantic/fields.py".
            name = word.rpartition("/")[2]
            if name != word and _FILE_NAME.fullmatch(name):
                found.add(name)
        found.update(_NUMERIC_TERM.findall(text))
        return frozenset(found)


@dataclass(frozen=True)
class Segment:
    """One compressible unit of content (a tool result, a large document) and its context."""

    text: str
    context: SegmentContext = field(default_factory=SegmentContext)
    kind: ContentKind = ContentKind.TEXT
    language: str | None = None  # for CODE: "python", "javascript", ...
    # A part of a larger unit (a code block inside a markdown document) points its markers at
    # the whole unit's original, which is what the pipeline stores.
    parent_ref: str | None = None
    # Line number of this text's first line within the stored original (for a part, where the
    # part starts), so markers citing line ranges match what retrieval by `lines` returns.
    first_line: int = 1
    # The agent saw each line numbered (a Read): a compressor that cuts inside lines (prose)
    # keeps or drops whole lines, so every kept line is a line of the file under its number.
    numbered: bool = False

    @cached_property
    def ref(self) -> str:
        """The CCR reference under which this unit's original is stored."""
        return self.parent_ref or content_ref(self.text)
