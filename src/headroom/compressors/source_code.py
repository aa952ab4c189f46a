"""Source files -> an AST outline: signatures, constants and types stay; long bodies become stubs.

A file read by an agent is mostly function bodies; what it needs to navigate (and most facts
it asks about) sits in signatures, defaults, class attributes, module constants, docstring
first lines and error messages. This compressor parses the file with tree-sitter and replaces
each long body with a one-line stub that keeps the file syntactically valid, e.g.::

    def dumps(obj, *, skipkeys=False, ...):
        \"\"\"Serialize ``obj`` to a JSON formatted ``str``.
        [headroom: body lines 185-238 · ref=h_0123456789ab]\"\"\"

    def loads(s, *, cls=None, ...):
        ... # [headroom: body lines 300-341; raises TypeError(...)]

The first marker carries the unit's ref, and then one every few thousand characters
(`ccr.markers.REF_EVERY_CHARS`); the others cite only the lines of that ref (` · ref=h_...`
is ~10 tokens, and a file has dozens of markers). In a numbered read (Claude Code's Read,
`cat -n`) markers give no span (`93\t        ... # [headroom: body]`): the lines a marker
folds run up to the next number shown, as the first marker says once. Comment blocks keep
their first line and fold the rest, unless they sit right above a symbol the task names.

Kept whole: bodies of the symbols the task names (the agent may read or edit them) and bodies
too small for a stub to pay off; a Python class the task names keeps all of its code, and its
docstrings (its own, its methods') fold past their first line as anywhere else. A symbol is
named when the user turn or the tool call writes it as code (`formatException`,
`Formatter.format`, a grep for `def _read_headers`), or when the task's words cover its word
pieces ("formats exceptions" -> `formatException`): the best matches only (a phrase of the
task beats the same pieces scattered over it), within a token budget, so a vague task does
not unfold the file. The bodies that use what the task names (read `self.keep_alive`, call
`formatException`) stay whole too, within a budget of their own: the rule the task asks about
lives where the concept is used (`select_users`). Raise/throw
messages of an elided body are listed in its marker. `cat -n` / `12→` line-number prefixes
are detected, stripped for parsing and kept on every output line (blank lines between
declarations are dropped there: each costs a prefix). Without the `[code]` extra, or when the
text does not parse, the input comes back untouched.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from headroom.ccr.markers import MARKER_PREFIX
from headroom.compressors._code_outline import Edit, Symbol, collect_symbols, plan_outline
from headroom.compressors._tree_sitter import (
    NumberedLines,
    detect_language,
    get_parser,
    language_from_path,
    normalize_language,
    path_from_arguments,
    split_line_numbers,
)
from headroom.compressors.base import Compressed, register
from headroom.envelopes import without_client_notes
from headroom.line_numbers import compact_prefix
from headroom.segments import PATH_ARGUMENT_KEYS, CodeRead, ContentKind, Segment, SegmentContext
from headroom.tokens import count_fragment_tokens, count_tokens

__all__ = [
    "FOLDED_BODY",
    "CodeCompressor",
    "TaskNames",
    "code_read",
    "detect_language",
    "resolve_language",
    "select_named",
    "stem",
    "task_names",
    "word_pieces",
]

MAX_CHARS = 1_000_000  # beyond this, parsing (worst case ~1 ms/KB on junk) costs too much
MAX_LINE = 5_000  # a line this long is minified/generated: nothing to outline
_MIN_GOOD_SHARE = 0.6  # share of rows that must parse cleanly before we trust the tree
_SPLIT_TERM = re.compile(r"[./:\\()\-]+")
_WORD = re.compile(r"[A-Za-z_]\w*")
_QUALIFIER = re.compile(r"\.[A-Za-z_]")
_WRITTEN_AS_CODE = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]|[a-z][A-Z]")  # snake_case, camelCase; not SSL, UTF-8
_SENTENCE_BREAK = re.compile(r"[.!?;:]\s|\n")  # between two words: a new sentence or line


def resolve_language(segment: Segment) -> str | None:
    """`segment.language`, else the file path (context or a path tool argument), else a sniff."""
    ctx = segment.context
    return (
        normalize_language(segment.language)
        or language_from_path(ctx.file_path)
        or language_from_path(path_from_arguments(ctx.tool_arguments))
        or detect_language(segment.text, None)
    )


def _code_words(text: str) -> set[str]:
    """Words the user wrote as code: `snake_case`, CamelCase, `call(`, `obj.attr`, or a
    capitalized word mid-sentence ("why does Set evict...") — even when they are stopwords."""
    found: set[str] = set()
    first_word_at = len(text) - len(text.lstrip())
    for match in _WORD.finditer(text):
        word, start = match.group(0), match.start()
        if _QUALIFIER.match(text, match.end()):
            continue  # `Queue` in `Queue.get_nowait`: the user means the method
        before = text[max(0, start - 2) : start]
        sentence_start = start <= first_word_at or re.search(r"[.!?:]\s+$|\n\s*$", before) is not None
        if (
            "_" in word.strip("_")
            or any(c.isupper() for c in word[1:])
            or (word[0].isupper() and not sentence_start)
            or text.startswith("(", match.end())
            or before.endswith(".")
            or before.endswith("`")
        ):
            found.add(word.lower())
    return found


# ---------------------------------------------------------------------------- task names
#
# Which symbols does the task name? Exact identifiers (`formatException`, a grep for
# `def _read_headers`) always keep their bodies. Plain words ("how the logging module formats
# exceptions") are matched by word pieces: identifiers split at camelCase/snake_case/digits,
# words reduced by a small suffix-stripping stemmer, so `formatException` is named by
# "formats exceptions" and `_read_headers` by "reading headers".

_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_VOWEL = re.compile(r"[aeiouy]")
_DOUBLE_END = re.compile(r"([b-df-hj-kmnp-rtv-y])\1$")  # "formatt", "stopp"; not ll/ss/zz
# English words that never name code, and words for code in general.
_PLAIN_STOPWORDS = frozenset(
    """a an the and or but nor not no yes so to of in on at by for with from into onto out over under
    about above after before again also just only than then there here this that these those
    what which where when who whom whose why how is am are was were be been being do does did done
    doing have has had having can could should would will shall may might must need needs want
    wants i me my we us our you your he she it its they them their let lets please thank thanks
    look looks see show shows tell during while give find explain understand check review inspect investigate
    some any all each every more most other such same very much many few own both either
    module modules file files function functions method methods class classes code source
    implementation implement implemented behaviour behavior logic thing things way work works
    happen happens happening part parts line lines call calls called something anything using
    def class fn func function struct interface trait enum type impl return import""".split()
)
# Pieces so common in identifiers that sharing them says nothing (`get_value`, `__init__`).
_CODE_STOPWORDS = frozenset(
    """get set self this cls init new make create data value values val item items key keys
    obj object objects arg args kwargs param params str int num tmp temp var func fn impl main
    do is has to from of in on at by for with and or not the if else none null true false
    helper helpers util utils inner internal private default""".split()
)
# Instruction verbs that open a sentence ("Read the asyncio implementation..."): not a name.
_INSTRUCTION = frozenset("read open write add fix run use go try make get print list debug update".split())
_MAX_PHRASES = 16  # a long pasted query holds many hyphened words; the first few are the task's
_HYPHENED = re.compile(r"(?<![\w-])[A-Za-z]+(?:-[A-Za-z]+){2,}(?![\w-])")  # `too-many-files`, not `x-3-y`
_QUALIFIED = re.compile(r"([A-Za-z_$][\w$]*)(?:\.|::)([A-Za-z_$][\w$]*)")
_ESCAPE = re.compile(r"\\.|[^\w$]+")  # regex escapes and operators in a grep pattern: `\s+`, `.*`
_DECLARES = re.compile(r"\b(?:def|class|fn|func|function|struct|interface|trait|enum|type|impl)\s+([A-Za-z_$][\w$]*)")
_PATTERN_KEYS = frozenset({"pattern", "query", "regex", "search", "symbol", "name", "q", "term", "identifier"})
NAMED_BUDGET_SHARE, NAMED_BUDGET_MIN, NAMED_BUDGET_MAX = 0.08, 300, 2500  # tokens of kept bodies
# Bodies using a concept the task names (`select_users`) are few when the concept is specific;
# this share of the file only caps a concept used everywhere.
USERS_BUDGET_SHARE = 0.25


def stem(word: str) -> str:
    """A deterministic suffix stripper, just enough to make inflections meet their identifier:
    formats/format, exceptions/exception, headers/header, reading/read, parsed/parse (both
    `pars`), entries/entry (`entri`), cookies/cookie (`cooki`). Not a linguistic stemmer: both
    sides go through the same function."""
    w = word.lower()
    if len(w) <= 3:
        return w
    if w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "i"  # entries/entry and cookies/cookie both meet at the "i" form below
    elif w.endswith(("sses", "xes", "zes", "ches", "shes")):
        w = w[:-2]
    elif w.endswith("ses") and len(w) > 4:
        w = w[:-1]  # responses -> response (-> respons below), cases -> case
    elif w.endswith("s") and not w.endswith(("ss", "us", "is", "ias")):
        w = w[:-1]
    elif w.endswith("ing") and len(w) >= 6 and _VOWEL.search(w, 0, len(w) - 3):
        w = w[:-3]  # reading -> read, getting -> gett -> get, lexing -> lex; "string" stays
    elif w.endswith("ed") and not w.endswith("eed") and len(w) >= 5:
        w = w[:-2]
    w = _DOUBLE_END.sub(r"\1", w) if len(w) > 3 else w
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]  # parse/parsed/parsing all meet at "pars"
    if w.endswith("y") and len(w) > 3 and w[-2] not in "aeiou":
        w = w[:-1] + "i"  # entry/entries, copy/copied (a vowel before: key/keys stay)
    return w


def _looks_like_code(word: str) -> bool:
    """`snake_case`, `camelCase`, `HTTPResponse`: an identifier, not an English word."""
    return "_" in word.strip("_") or any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word)


def _starts_sentence(text: str, start: int) -> bool:
    head = text[max(0, start - 20) : start].rstrip(" \t")
    return (not head and start < 20) or (bool(head) and head[-1] in ".!?:;\n")


@lru_cache(maxsize=8192)  # identifiers repeat across files and turns (`__init__`, `read`)
def word_pieces(identifier: str) -> tuple[str, ...]:
    """`formatException` -> [format, exception]; `_read_headers` -> [read, header];
    `HTTPResponse` -> [http, respons]; code stopwords (get, self, init, ...) dropped."""
    pieces: list[str] = []
    for raw in _PIECE.findall(identifier):
        low = raw.lower()
        if len(low) < 2 or low.isdigit() or low in _CODE_STOPWORDS:
            continue
        stemmed = stem(low)
        if stemmed not in _CODE_STOPWORDS:
            pieces.append(stemmed)
    return tuple(pieces)


@dataclass(frozen=True, slots=True)
class TaskNames:
    """What the user turn and the tool call name, ready to match against a file's symbols."""

    exact: frozenset[str] = frozenset()  # lower-cased identifiers named literally
    qualified: frozenset[tuple[str, str]] = frozenset()  # (container, member), lower-cased
    pieces: tuple[str, ...] = ()  # stems of the task's words, in order (for phrase matches)
    # Stems of plain words written side by side within one sentence ("keep-alive", "formats
    # exceptions"); not across a sentence's end ("... the cache. Keys expire" names no
    # `cache_key`), and not the pieces of an identifier written as code.
    pairs: frozenset[tuple[str, str]] = frozenset()
    # Words the task joins with hyphens, three or more ("the unsupported-price-key warning",
    # "the too-many-files error"): the words of a message, found in the code that says it.
    phrases: tuple[tuple[str, ...], ...] = ()

    def is_empty(self) -> bool:
        return not self.exact and not self.pieces


def _argument_strings(arguments: str) -> tuple[list[str], list[str]]:
    """(pattern-like values, other values) of a tool call's arguments; paths left out."""
    try:
        parsed: Any = json.loads(arguments)
    except (ValueError, TypeError):
        return [], [arguments]
    patterns: list[str] = []
    others: list[str] = []
    if isinstance(parsed, dict):
        for key, value in parsed.items():
            if not isinstance(value, str) or key in PATH_ARGUMENT_KEYS:
                continue
            (patterns if key.lower() in _PATTERN_KEYS else others).append(value)
    elif isinstance(parsed, str):
        others.append(parsed)
    return patterns, others


def task_names(ctx: SegmentContext) -> TaskNames:
    """Names in the user turn before the unit and in the call's arguments.

    Parts of the file's own path ("json", "__init__", "logging") are not names the user chose:
    a task about "the logging module" does not name every `log` method in logging/__init__.py.
    """
    path = ctx.file_path or path_from_arguments(ctx.tool_arguments) or ""
    path_words = {w.lower() for w in _SPLIT_TERM.split(path) if w}
    path_stems = {p for w in path_words for p in word_pieces(w)}
    query = without_client_notes(ctx.user_query)
    exact = _code_words(query)
    qualified = {(a.lower(), b.lower()) for a, b in _QUALIFIED.findall(query)}
    texts = [query]
    if ctx.tool_arguments:
        patterns, others = _argument_strings(ctx.tool_arguments)
        for value in patterns + others:
            # A grep pattern or a shell command names a symbol literally when it declares it
            # (`def\s+_read_headers`, `class HTTPResponse`) or is one identifier (`emit`); other
            # code-shaped words count too. Plain words of a pattern ("format.*exception") are
            # matched by word pieces like the task's.
            plain = _ESCAPE.sub(" ", value).strip()
            literal = {w.lower() for w in _DECLARES.findall(plain)}
            literal.update(w.lower() for w in _WORD.findall(plain) if _looks_like_code(w))
            if value in patterns and _WORD.fullmatch(plain) and plain.lower() not in _PLAIN_STOPWORDS:
                literal.add(plain.lower())
            exact |= literal
            if value in patterns and not literal:
                texts.append(plain)
    pieces: list[str] = []
    pairs: set[tuple[str, str]] = set()
    for text in texts:
        run: list[str] = []  # the pieces since the sentence began
        last_end = 0
        for match in _WORD.finditer(text):
            if _SENTENCE_BREAK.search(text, last_end, match.start()):
                run = []
            last_end = match.end()
            word = match.group(0)
            low = word.lower()
            if len(low) < 3 or low in _PLAIN_STOPWORDS or low in path_words:
                continue
            if low in _INSTRUCTION and _starts_sentence(text, match.start()):
                continue  # "Read the asyncio implementation": an instruction, not a name
            own = [p for p in word_pieces(word) if p not in path_stems]
            pieces.extend(own)
            if _WRITTEN_AS_CODE.search(word):
                # A symbol written as code (`_read_headers`, `formatException`) points at that
                # symbol, named exactly above; words describing behaviour ("decides keep-alive",
                # "the SSL handshake") point at wherever it is used, and only their pairs lead to
                # the code using them.
                run = []
                continue
            pairs.update(itertools.pairwise(run[-1:] + own))
            run.extend(own)
    exact = {w for w in exact if len(w) >= 2 and w not in path_words}
    phrases = tuple(dict.fromkeys(tuple(m.lower().split("-")) for m in _HYPHENED.findall(query)))
    return TaskNames(frozenset(exact), frozenset(qualified), tuple(pieces), frozenset(pairs), phrases)


def _qualifier_ok(symbol: Symbol, names: TaskNames, containers: frozenset[str]) -> bool:
    """`Formatter.format` names the `format` of class Formatter, not of every class — unless
    the qualifier is no class of this file (`json.dumps`: a module)."""
    member = symbol.name.lower()
    owners = {a for a, b in names.qualified if b == member and a in containers}
    return not owners or (symbol.container or "").lower() in owners


def _phrase(pieces: tuple[str, ...], sequence: tuple[str, ...]) -> bool:
    """Whether `pieces` occur as one run in the task's words ("formats exceptions")."""
    n = len(pieces)
    return n >= 2 and any(sequence[i : i + n] == pieces for i in range(len(sequence) - n + 1))


def select_named(symbols: list[Symbol], names: TaskNames, budget: int) -> tuple[frozenset[int], int, int]:
    """Keys of the symbols whose bodies stay whole, and how many were named exactly / by pieces.

    Exact names always stay. Word-piece matches must cover (nearly) all of a symbol's pieces;
    only the best tier (most task words matched) competes, rarest pieces first, within
    `budget` tokens, so "formats exceptions" keeps `formatException` and not every `format`,
    and a vague task ("read the streams code") unfolds a few bodies, not the file.
    """
    containers = frozenset(s.name.lower() for s in symbols if s.is_container)
    kept: set[int] = set()
    exact = 0
    for symbol in symbols:
        if symbol.name.lower() in names.exact and _qualifier_ok(symbol, names, containers):
            kept.add(symbol.key)
            exact += 1
    if not names.pieces:
        return frozenset(kept), exact, 0
    task = set(names.pieces)
    pieces_of = {s.key: word_pieces(s.name) for s in symbols}
    spread: Counter[str] = Counter(p for ps in pieces_of.values() for p in set(ps))
    scored: list[tuple[int, int, float, int, int, Symbol]] = []
    for symbol in symbols:
        own = pieces_of[symbol.key]
        if symbol.key in kept or not own:
            continue
        matched = [p for p in dict.fromkeys(own) if p in task]
        distinct = len(set(own))
        if not matched or len(matched) < distinct - (1 if distinct >= 3 else 0):
            continue  # `open_connection` is not named by "connection" alone
        rarity = sum(1.0 / spread[p] for p in matched)
        scored.append((len(matched), int(_phrase(own, names.pieces)), rarity, -symbol.tokens, -symbol.key, symbol))
    if not scored:
        return frozenset(kept), exact, 0
    best = max(item[0] for item in scored)
    first_budget = budget  # the best-ranked body may take the whole budget ("resize" keeps `resize()`)
    if best == 1:
        budget //= 2  # one shared word is a weak sign: a vague task gets fewer bodies
    tier = [item for item in scored if item[0] == best]
    if any(item[1] for item in tier):
        # Task words written side by side ("formats exceptions" -> `formatException`) are far
        # stronger evidence than the same pieces scattered over the task ("formats" ... "csv-style"
        # -> `StrFormatStyle`): when some symbol of the tier is named as a phrase, only those stay.
        tier = [item for item in tier if item[1]]
    tier.sort(key=lambda item: item[:5], reverse=True)
    fuzzy = 0
    for *_, symbol in tier:
        if any(k in kept for k in _ancestors_or_self(symbol, symbols)):
            # A kept class already shows this method's code; keeping the method too only keeps
            # its docstring whole (a named class's docstrings fold past their first line).
            kept.add(symbol.key)
            fuzzy += 1
            continue
        if symbol.tokens > (first_budget if fuzzy == 0 else budget):
            continue
        budget -= symbol.tokens
        kept.add(symbol.key)
        fuzzy += 1
    return frozenset(kept), exact, fuzzy


def select_users(
    symbols: list[Symbol],
    kept: frozenset[int],
    names: TaskNames,
    code_lines: list[str],
    budget: int,
    callees: Mapping[str, int] | None = None,
    followed: frozenset[str] = frozenset(),
) -> frozenset[int]:
    """Keys of the bodies that use what the task names, kept whole within `budget` tokens.

    A task about "how h11 decides keep-alive" is answered by `_keep_alive` and by the code that
    reads and sets `self.keep_alive` or calls `process_keep_alive_disabled()`: the rule is
    where the concept is used. An identifier names the concept when two of its word pieces run
    side by side in the task's plain words (`TaskNames.pairs`: "keep-alive" -> `keep_alive`,
    `process_keep_alive_disabled`; "formats exceptions" -> `formatException`, whose callers then
    stay); a lone shared word ("connection") is too weak to follow, and a symbol the task writes
    as code (`_read_headers`) is named itself, not its users. Functions using the most such
    identifiers come first, then the smallest.
    Then, with what budget is left, the functions that task-kept bodies of code read earlier in
    the request call (`callees`, name -> bodies calling it: `_keep_alive` calls
    `get_comma_header`, defined here), the most called first; then the functions that use what
    those bodies are (`followed`: the names of the task-kept bodies of earlier reads and of
    their classes; the request handler building the `MultiPartParser` the task is about), those
    using the most such names first. Names of one word piece (`close`, `add`) are left out, and so
    are the names this file defines itself (a re-read of the same file). Before all of these come
    the bodies that say a phrase the task hyphens ("make the unsupported-price-key warning say
    ..." keeps the body warning "Unsupported price key for standard pricing"): the code to change."""
    bigrams = names.pairs
    callees = {name: n for name, n in (callees or {}).items() if len(word_pieces(name)) >= 2}
    source = "\n".join(code_lines)
    identifiers = set(_IDENTIFIER.findall(source))
    concepts = (
        sorted(w for w in identifiers if any(p in bigrams for p in itertools.pairwise(word_pieces(w))))
        if bigrams
        else []
    )
    said = _phrase_offsets(names.phrases, source)
    defined = {symbol.name for symbol in symbols}
    uses_of = sorted(
        name
        for name in followed & identifiers
        if name not in defined and name not in concepts and len(word_pieces(name)) >= 2
    )
    if not concepts and not callees and not uses_of and not said:
        return frozenset()
    watched = concepts + uses_of
    is_concept = frozenset(concepts)
    # Where each identifier naming the concept occurs (by offset), in one pass over the file: a
    # pattern of them when they are few, else a look at every identifier.
    where: list[int] = []
    which: list[str] = []
    if len(watched) <= _CONCEPT_PATTERN_MAX:
        pattern = re.compile(rf"(?<![\w$])(?:{'|'.join(map(re.escape, watched))})(?![\w$])") if watched else None
        matches = pattern.finditer(source) if pattern is not None else iter(())
    else:
        named = frozenset(watched)
        matches = (m for m in _IDENTIFIER.finditer(source) if m.group(0) in named)
    for match in matches:
        where.append(match.start())
        which.append(match.group(0))
    starts = [0]
    for line in code_lines:
        starts.append(starts[-1] + len(line) + 1)
    kept_containers = [(s.start_row, s.end_row) for s in symbols if s.is_container and s.key in kept]
    candidates: list[tuple[int, int, int, int, Symbol]] = []
    for symbol in symbols:
        if symbol.is_container or symbol.key in kept:
            continue
        if any(a <= symbol.start_row and symbol.end_row <= b for a, b in kept_containers):
            continue  # a kept class already shows this method's code
        begin, end = starts[symbol.start_row], starts[symbol.end_row + 1]
        first = bisect.bisect_left(where, begin)
        last = bisect.bisect_left(where, end)
        used = set(which[first:last]) - {symbol.name}
        concepts_used = used & is_concept
        if bisect.bisect_left(said, begin) < bisect.bisect_left(said, end):
            candidates.append((-1, 0, symbol.tokens, symbol.key, symbol))  # says what the task quotes
        elif concepts_used:
            candidates.append((0, -len(concepts_used), symbol.tokens, symbol.key, symbol))
        elif symbol.name in callees:
            candidates.append((1, -callees[symbol.name], symbol.tokens, symbol.key, symbol))
        elif used:
            candidates.append((2, -len(used), symbol.tokens, symbol.key, symbol))
    users: set[int] = set()
    for *_, symbol in sorted(candidates):
        if symbol.tokens <= budget:
            budget -= symbol.tokens
            users.add(symbol.key)
    return frozenset(users)


def _phrase_offsets(phrases: tuple[tuple[str, ...], ...], source: str) -> list[int]:
    """Where the code says one of the task's hyphened phrases, its words apart by spaces,
    hyphens or underscores in any case ("Unsupported price key for ...", `too_many_files`)."""
    found: list[int] = []
    lowered = source.lower() if phrases else ""
    for words in phrases[:_MAX_PHRASES]:
        if not all(word in lowered for word in words):
            continue  # a literal scan first: most phrases are in no file
        pattern = re.compile(r"(?<![A-Za-z])" + r"[\s_-]+".join(map(re.escape, words)) + r"(?![A-Za-z])", re.IGNORECASE)
        found.extend(match.start() for match in pattern.finditer(source))
    return sorted(found)


# A body shown whole with at least this many tokens was kept for the task: the outline folds
# every body whose stub saves `MIN_SAVING` tokens (a stub line costs ~15), so the bodies it keeps
# for their size are smaller than this.
_TASK_KEPT_MIN_TOKENS = 48
_CALL = re.compile(r"([A-Za-z_$][\w$]*)\s*\(")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")  # `$keepAlive` (JS) is one identifier
_CONCEPT_PATTERN_MAX = 64  # an alternation of more words costs more per character than it saves
FOLDED_BODY = f"{MARKER_PREFIX} body"  # how a folded body's marker starts ("body lines 3-9", "body]")
_NOT_CALLEES = frozenset(
    """if elif while for return not and or in is assert del print lambda yield await with except
    switch catch typeof sizeof new super this self cls function func fn def class""".split()
)


def code_read(text: str, sent: str) -> CodeRead | None:
    """What a code unit sent as an outline led to (`CodeRead`): the names called by the bodies it
    showed whole for the task. None when it was sent whole (that says nothing about the task),
    is no code, or does not parse."""
    if sent == text or MARKER_PREFIX not in sent:
        return None
    # The outline's own markers say Python (`... # [headroom: body`, docstring markers); other
    # languages are told apart by a sniff of the outline, shorter than the file.
    python = f"# {FOLDED_BODY}" in sent or f"{MARKER_PREFIX} docstring" in sent
    language = "python" if python else detect_language(sent)
    parser = get_parser(language) if language else None
    if language is None or parser is None:
        return None
    lines = sent.split("\n")
    numbered = split_line_numbers(lines)
    code_lines = list(numbered.code_lines) if numbered else lines
    root = parser.parse("\n".join(code_lines).encode("utf-8", "surrogatepass")).root_node
    callees: Counter[str] = Counter()
    kept: set[str] = set()
    for symbol in collect_symbols(root, language):
        if symbol.is_container or symbol.tokens < _TASK_KEPT_MIN_TOKENS:
            continue
        body = "\n".join(code_lines[symbol.start_row : symbol.end_row + 1])
        if FOLDED_BODY in body:
            continue  # folded (a trimmed docstring or comment is no fold of the code)
        callees.update({name for name in _CALL.findall(body) if name not in _NOT_CALLEES and name != symbol.name})
        kept.add(symbol.name)
        if symbol.container:
            kept.add(symbol.container)
    return CodeRead(tuple(sorted(callees.items())), tuple(sorted(kept)))


def _ancestors_or_self(symbol: Symbol, symbols: list[Symbol]) -> list[int]:
    """Keys of containers enclosing `symbol` (a kept class already shows its methods' code)."""
    return [
        s.key
        for s in symbols
        if s.is_container and s.start_row <= symbol.start_row and s.end_row >= symbol.end_row and s.key != symbol.key
    ]


def _prefix_cost(numbered: NumberedLines | None) -> int:
    """Tokens of one line-number prefix ("   123\t"), measured on the middle line."""
    if numbered is None:
        return 0
    return count_fragment_tokens(numbered.prefixes[len(numbered.prefixes) // 2])


def _clean_rows(node: Any, depth: int = 0) -> int:
    """Rows covered by error-free nodes, looking a few levels into nodes that hold an error
    (a file cut off mid-class still has dozens of clean methods before the cut)."""
    if not node.has_error:
        return int(node.end_point.row - node.start_point.row + 1)
    if (node.type == "ERROR" and depth > 0) or depth >= 4:
        return 0
    return sum(_clean_rows(child, depth + 1) for child in node.named_children)


def _clean_share(root: Any, n_rows: int) -> float:
    """Share of rows that parsed without error: below `_MIN_GOOD_SHARE` the tree is not trusted."""
    return 1.0 if not root.has_error else _clean_rows(root) / max(n_rows, 1)


def _render(lines: list[str], numbered: NumberedLines | None, edits: list[Edit]) -> str:
    """The outline: `lines` with `edits` applied. A numbered read's lines keep their numbers
    without the padding that right-aligns them (`   363\t` -> `363\t`): a token on every kept
    line, a seventh of a `cat -n` outline, telling the model nothing the number does not."""
    if numbered is not None:
        prefixes = [compact_prefix(p) for p in numbered.prefixes]
        lines = [prefix + code for prefix, code in zip(prefixes, numbered.code_lines, strict=True)]
    out: list[str] = []
    row = 0
    for edit in edits:
        out.extend(lines[row : edit.start])
        if edit.text is not None:
            eol = "\r" if lines[edit.start].endswith("\r") else ""  # keep CRLF files consistent
            out.append((prefixes[edit.start] if numbered is not None else "") + edit.text + eol)
        row = edit.end + 1
    out.extend(lines[row:])
    return "\n".join(out)


@register
class CodeCompressor:
    name: ClassVar[str] = "code"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.CODE})
    priority: ClassVar[int] = 10

    def compress(self, segment: Segment) -> Compressed:
        text = segment.text
        if not text.strip():
            return Compressed(text)
        lines = text.split("\n")
        if max(map(len, lines)) > MAX_LINE:
            return Compressed(text, notes={"minified": 1})
        if len(text) > MAX_CHARS:
            return Compressed(text, notes={"too_large": 1})
        if segment.language and normalize_language(segment.language) is None:
            return Compressed(text, notes={"no_outline": 1})  # named (`shell`, `yaml`): no guessing
        language = resolve_language(segment)
        if language is None:
            return Compressed(text, notes={"unknown_language": 1})
        parser = get_parser(language)
        if parser is None:  # the [code] extra (tree-sitter grammars) is not installed
            return Compressed(text, notes={"no_tree_sitter": 1})

        numbered = split_line_numbers(lines)
        code_lines = list(numbered.code_lines) if numbered else lines
        source = "\n".join(code_lines).encode("utf-8", "surrogatepass")
        root = parser.parse(source).root_node
        tsx_parser = get_parser("tsx") if root.has_error and language == "typescript" else None
        if tsx_parser is not None:  # JSX in a file we could not name .tsx
            tsx_root = tsx_parser.parse(source).root_node
            if not tsx_root.has_error:
                language, root = "tsx", tsx_root
        if _clean_share(root, len(code_lines)) < _MIN_GOOD_SHARE:
            return Compressed(text, notes={"unparsed": 1})

        names = task_names(segment.context)
        kept: frozenset[int] = frozenset()
        named = (0, 0)
        users: frozenset[int] = frozenset()
        if not names.is_empty():
            symbols = collect_symbols(root, language)
            budget = int(len(source) / 4 * NAMED_BUDGET_SHARE)
            budget = min(max(budget, NAMED_BUDGET_MIN), NAMED_BUDGET_MAX)
            kept, *counts = select_named(symbols, names, budget)
            named = (counts[0], counts[1])
            users_budget = min(max(int(len(source) / 4 * USERS_BUDGET_SHARE), NAMED_BUDGET_MIN), NAMED_BUDGET_MAX)
            earlier = segment.context.earlier_code
            callees = earlier.callees() if earlier is not None else None
            followed = earlier.kept_names() if earlier is not None else frozenset()
            users = select_users(symbols, kept, names, code_lines, users_budget, callees, followed)
            kept |= users
        edits, counters = plan_outline(
            root,
            code_lines,
            language,
            kept,
            segment.ref,
            numbered.first_number if numbered else segment.first_line,
            count_fragment_tokens,
            _prefix_cost(numbered),
            names.exact,
        )
        notes = dict(counters)
        if named[0]:
            notes["named_exact"] = named[0]
        if named[1]:
            notes["named_by_pieces"] = named[1]
        if users:
            notes["named_users"] = len(users)
        notes["line_numbers"] = int(numbered is not None)
        if root.has_error:
            notes["parse_errors"] = 1
        if not edits:
            return Compressed(text, notes=notes)
        out = _render(lines, numbered, edits)
        # Tokenizing both (50k tokens ~ 40 ms) only when the cut is small enough to be in doubt.
        if len(out) * 10 > len(text) * 7 and count_tokens(out) >= count_tokens(text):
            return Compressed(text, notes=notes)
        return Compressed(out, lossy=True, notes=notes)
