"""Prose compressor: keep the sentences the task needs, drop the rest behind CCR markers.

Text is cut into units (sentences, code blocks, list items, headings; `_sentences.py`) kept as
byte-exact spans. Each unit is scored by its relevance to the task context — the user turn that
led to the tool call and the call's arguments, never later turns — with a learned sentence
embedding (all-MiniLM-L6-v2, `_embedding.py`, from the `headroom[ml]` extra) blended with an
IDF-weighted match of the task's terms; without the extra, the lexical score alone is used
(`notes["learned"] == 0`). Then:

- units carrying hard facts always stay: numbers, versions, PEP/RFC/CVE/issue references,
  identifiers (CamelCase, snake_case, dotted names, calls), code spans, quoted literals, URLs,
  and caveats the text flags ("Warning:", "Caution:", "Important:");
- repeated units (same words as an earlier unit, or a near-identical embedding) and boilerplate
  (greetings, thanks, sign-offs, navigation text) go first;
- the best-scoring remaining units fill a token budget (`keep_ratio` of the droppable tokens);
- a dropped run too small to pay for its marker is kept after all.

Dropped runs become `marker(...)` in place (`ProseCompressor`), or ` … ` plus one marker per
field when JSON string values are shortened through `compress_prose_fields`.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import ClassVar

import orjson

from headroom.ccr.markers import MARKER_PREFIX, marker
from headroom.compressors._embedding import EmbeddingTimeout, get_encoder
from headroom.compressors._sentences import Unit, UnitKind, columned_line, split_units
from headroom.compressors.base import Compressed, register
from headroom.compressors.passthrough import normalize_whitespace
from headroom.segments import TASK_STOPWORDS, ContentKind, Segment, SegmentContext
from headroom.tokens import count_fragment_tokens, count_tokens

__all__ = ["ProseCompressor", "ProseOptions", "compress_prose_field", "compress_prose_fields"]

log = logging.getLogger(__name__)

ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class ProseOptions:
    keep_ratio: float = 0.4  # share of the droppable tokens kept (hard-fact units come on top)
    min_chars: int = 400  # shorter texts are not worth a marker
    learned: bool = True  # use the embedding model when the `ml` extra is installed
    # Deterministic cap on model work per call (query + units), decided from the input alone.
    # The 6-layer model reads ~4k tokens/s on an idle core here and ~1.6k/s on a contended one,
    # so 160 tokens is 40-100 ms: a new 50k-token tool result must compress within 250 ms with
    # the other core busy. `_semantic_scores` says which units the model reads when not all fit.
    max_model_tokens: int = 160
    # Optional wall-clock ceiling per call (past it the text is kept whole). Off by default: a
    # clock makes the output depend on machine load, and the same input must give the same
    # bytes on every turn (prompt caches). `max_model_tokens` bounds the work deterministically,
    # and the proxy's compression budget is the wall-clock safety net.
    time_budget_s: float | None = None
    near_duplicate: float = 0.93  # embedding cosine above which a unit repeats an earlier one


# Hard facts: a unit carrying one is never dropped (PEP/RFC/CVE references, versions,
# percentages). They are rare in any text, so keeping them costs little.
_HARD_FACT = re.compile(
    r"\b(?:PEP|RFC|CVE|GHSA|bpo|gh)[- ]?\d+|\b\d+\.\d+\.\d+\b|\bversions? v?\d+(?:\.\d+)+"
    r"|(?<![\w.])\d+(?:\.\d+)?%",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")  # in every form above: scanning for one first is much cheaper
# A caveat the text itself flags ("Warning: putting -delete first will make find try to delete
# everything", "**Caution**:", "> [!WARNING]"): what a reader must not miss, and rare enough in
# any text to keep whole. The flag is a label: "Important changes include" is a sentence.
_CAVEAT = re.compile(r"\W{0,4}(?:warning|caution|danger|important)(?:\**\s*:|\])", re.IGNORECASE)
# No form above starts more than 10 characters before its first digit ("versions v1.2"), so
# the search starts there (lookbehinds and \b still see the characters before it).
_HARD_LEAD = 10
# Soft facts: numbers, names, code, quoted literals, URLs. In technical text most units have
# one (55-90% of the doc_qa/issue tokens), so they raise a unit's score instead of pinning it.
# `_has_soft_fact` is the one pattern
#   \d+\.\d+ | \d{2,} | \b[A-Z][a-z0-9]+[A-Z]\w* | \b[a-z]+[A-Z]\w* | \b[A-Z]{2,}\b | \b\w+_\w+
#   | \b\w+\.\w+\( | \b\w+\(\) | `[^`\n]+` | https?:// | [@#]\w | a quoted literal with punctuation
# taken apart: each piece starts with a character class the regex engine scans for in a tight
# loop, or sits behind a substring test, where the alternation tried 12 branches at every
# character (3-4x slower; the same answers, tests/compressors/test_prose.py checks it).
_SOFT_NUMBER = re.compile(r"\d\d|\d\.\d")
_SOFT_CAPS = re.compile(r"[A-Z](?<!\w[A-Z])(?:[a-z0-9]+[A-Z]|[A-Z]+(?!\w))")  # CamelCase, ALLCAPS
_SOFT_CAMEL_HINT = re.compile(r"[a-z][A-Z]")  # cheap necessary condition of the next one
_SOFT_CAMEL = re.compile(r"\b[a-z]+[A-Z]")  # camelCase
_SOFT_SNAKE = re.compile(r"\w_\w")
_SOFT_CALL = re.compile(r"\w\.\w+\(|\w\(\)")
_SOFT_TICKS = re.compile(r"`[^`\n]+`")
_SOFT_HANDLE = re.compile(r"[@#]\w")
_SOFT_QUOTED = re.compile(r"[\"'“‘][^\"'“”‘’\s]*[^\w\s\"'“”‘’][^\"'“”‘’\s]*[\"'”’]")


def _has_soft_fact(text: str, has_digit: bool) -> bool:
    return (
        (has_digit and _SOFT_NUMBER.search(text) is not None)
        or _SOFT_CAPS.search(text) is not None
        or (_SOFT_CAMEL_HINT.search(text) is not None and _SOFT_CAMEL.search(text) is not None)
        or ("_" in text and _SOFT_SNAKE.search(text) is not None)
        or ("(" in text and _SOFT_CALL.search(text) is not None)
        or ("`" in text and _SOFT_TICKS.search(text) is not None)
        or ("://" in text and ("http://" in text or "https://" in text))
        or (("@" in text or "#" in text) and _SOFT_HANDLE.search(text) is not None)
        or _SOFT_QUOTED.search(text) is not None
    )


# Identifier-like task terms (sys.exception, RuntimeError, __exit__, CVE-…): a unit naming one is kept.
_SPECIFIC_TERM = re.compile(r"[._(]|\d|[a-z][A-Z]")
_QUERY_TOKEN = re.compile(r"[A-Za-z_][\w.()-]*\w\)?|\d[\w.-]*")
_BOILERPLATE = re.compile(
    r"^\W*(?:hi|hello|hey|dear|thanks?|thank you|cheers|regards|best|kind regards|greetings|"
    r"any (?:ideas|help|thoughts)|\+1|bump|same here|lgtm|sent from my|cc\b|"
    r"copyright|all rights reserved|skip to|sign (?:in|up)|log ?in|subscribe|share this|cookie|"
    r"click here|read more|back to top|table of contents|edit this page)\b",
    re.IGNORECASE,
)
# Model token budget split: the task (query) is read from at most this many tokens, each unit
# from a prefix of 16..48 tokens (below 16 a prefix says too little about the unit).
_QUERY_MODEL_TOKENS = 32
_MIN_PREFIX, _MAX_PREFIX = 16, 48
# Beyond this many candidate units (~8k tokens of text) the units' share of the model budget
# shrinks in proportion, down to 4 prefixes: the rest of the work grows with the text, the
# model's stays flat, and a re-ranking of a few of 2000 units moves little of the output.
_MODEL_FULL_UNITS = 256
_MODEL_MIN_UNIT_TOKENS = 4 * _MIN_PREFIX
_BEST_UNIT_TOKENS = 100  # the best unit stays beyond the budget up to this size (a passage, not a listing)
# A unit longer than this is not a sentence but pasted output (a linker command line, a dump):
# it competes for the budget only after the sentences, where one such unit took a whole
# document's budget (1k tokens of `clang++ -L…` flags in one issue body).
_LONG_UNIT_TOKENS = 200
_INTRODUCED_LIST_TOKENS = 120  # a list a kept "...:" introduces stays whole up to this size,
_LISTED_ENTRY_TOKENS = 24  # when each entry is a short line (a value and what it means)
_LEAD_IN = re.compile(r"[a-z]:\s*$")  # "...the following status:", not a code line's "as TARGET:"
_NOT_LISTED = frozenset({UnitKind.HEADING, UnitKind.CODE})
_W_LEXICAL = 0.65  # weight of the lexical score beside the learned one (ablation in docs/PROSE.md)
_WORD = re.compile(r"\w+", re.UNICODE)
# Chinese and Japanese write a sentence without spaces (Korean joins particles to its words): a
# run of their characters is a phrase, matched by its character pairs ("削除" in "テキストを削除
# するには" finds the lesson titled "テキスト編集 - 削除"). Kana, CJK ideographs, Hangul.
_WIDE_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]{2,}")
_QUALIFIER = re.compile(r"[.:-]+")  # `HTTPConnection.set_tunnel`, `Foo::bar`, `url-safe`; a path is not split
_RECEIVERS = frozenset({"self", "this", "cls"})  # `self.assertEqual`: the method is the term
# Unit token counts are exact up to this many units (~8k tokens of text); beyond, they are
# estimated from the unit's length at the tokens-per-character rate of its kind in a
# deterministic sample of about this many units (every k-th). Tokenizing every unit of a
# 50k-token text cost ~25 ms; the counts only weigh units against the budget and a marker's
# cost, where the estimate does nearly as well (the pipeline counts the output exactly).
_EXACT_UNITS = 256


@dataclass(slots=True)
class _Item:
    doc: int
    unit: Unit
    text: str
    tokens: int
    key: str
    hard: bool
    named: frozenset[str] = frozenset()  # identifier-like task terms the unit contains
    score: float = 0.0
    keep: bool = False
    repeat: bool = False


@dataclass(slots=True)
class _Outcome:
    groups: list[list[_Item] | None]  # per input text: its units, or None when it was not considered
    learned: bool
    units: int
    dropped: int
    repeats: int
    timeout: bool = False


def _query_text(context: SegmentContext) -> str:
    """The user's request and the string values of the tool arguments, as one query."""
    parts = [context.user_query.strip()]
    raw = context.tool_arguments or ""
    try:
        args = orjson.loads(raw) if raw.strip().startswith(("{", "[")) else raw
    except orjson.JSONDecodeError:
        args = raw
    stack = [args]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return "\n".join(p for p in parts if p)


def _specific_terms(query: str) -> re.Pattern[str] | None:
    """A pattern matching the identifier-like words of the task (`sys.exception`, `RuntimeError`)."""
    terms = sorted(
        {t for t in _QUERY_TOKEN.findall(query) if len(t) >= 4 and _SPECIFIC_TERM.search(t)},
        key=lambda t: (-len(t), t),
    )
    if not terms:
        return None
    return re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(t) for t in terms) + r")(?![\w])", re.IGNORECASE)


def _wide_pairs(text: str) -> list[str]:
    """The character pairs of each run of Chinese, Japanese or Korean characters in `text`."""
    return [run[k : k + 2] for run in _WIDE_RUN.findall(text) for k in range(len(run) - 1)]


def _stem(word: str) -> str:
    # Cheap stemming so "errors" matches "error": drop a plural/possessive "s".
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


def _term_forms(terms: frozenset[str]) -> dict[str, str]:
    """Every word whose stem is one of the task's terms (stemmed), mapped to that term: a word
    w has stem t only if w == t or w == t + "s", so a unit's words are looked up instead of
    stemmed one by one. A unit's words are runs of word characters, so a qualified name
    (`HTTPConnection.set_tunnel`, `os.path`) is looked up by its parts as well."""
    pieces = {
        part
        for t in terms
        if "/" not in t
        for part in _QUALIFIER.split(t)
        if len(part) >= 3 and part not in TASK_STOPWORDS and part not in _RECEIVERS
    }
    forms: dict[str, str] = {}
    for term in {_stem(t) for t in terms | pieces}:
        if _stem(term) == term:
            forms[term] = term
        if _stem(term + "s") == term:
            forms[term + "s"] = term
    return forms


@dataclass(frozen=True, slots=True)
class _Named:
    """The task's identifier-like terms: a pattern finding them and a cheap pre-test."""

    pattern: re.Pattern[str]
    ascii_terms: tuple[str, ...] | None  # lower-cased terms when all are ASCII, else None

    def find(self, text: str, lower: str) -> frozenset[str]:
        # For ASCII text and terms, an IGNORECASE match implies the lowered term is in the
        # lowered text: the substring test skips the regex for most units.
        if self.ascii_terms is not None and text.isascii() and not any(t in lower for t in self.ascii_terms):
            return frozenset()
        return frozenset(m.lower() for m in self.pattern.findall(text))


def _named_terms(query: str) -> _Named | None:
    specific = _specific_terms(query)
    if specific is None:
        return None
    terms = tuple(t.lower() for t in _QUERY_TOKEN.findall(query) if len(t) >= 4 and _SPECIFIC_TERM.search(t))
    return _Named(specific, terms if all(t.isascii() for t in terms) else None)


def _is_hard(piece: str, first_digit: int) -> bool:
    return _HARD_FACT.search(piece, max(0, first_digit - _HARD_LEAD)) is not None


def _set_token_counts(items: list[_Item]) -> None:
    """Exact counts for up to `_EXACT_UNITS` units; beyond, estimates (see `_EXACT_UNITS`)."""
    if len(items) <= _EXACT_UNITS:
        for item in items:
            item.tokens = count_fragment_tokens(item.text)
        return
    step = -(-len(items) // _EXACT_UNITS)
    chars: dict[UnitKind, int] = {}
    tokens: dict[UnitKind, int] = {}
    for item in items[::step]:
        item.tokens = count_fragment_tokens(item.text)
        kind = item.unit.kind
        chars[kind] = chars.get(kind, 0) + len(item.text)
        tokens[kind] = tokens.get(kind, 0) + item.tokens
    # Each kind at its own rate (code is denser than sentences, underlined headings sparser);
    # a kind too rare in the sample to measure takes the sample's overall rate.
    overall = sum(tokens.values()) / max(1, sum(chars.values()))
    rate = {kind: tokens[kind] / n if n >= 400 else overall for kind, n in chars.items()}
    for i, item in enumerate(items):
        if i % step:
            item.tokens = max(1, round(len(item.text) * rate.get(item.unit.kind, overall)))


def _select(
    texts: Sequence[str],
    context: SegmentContext,
    options: ProseOptions,
    min_drop_tokens: int,
    min_chars: int | None = None,
    whole_lines: bool = False,
) -> _Outcome:
    """Decide which units of each text stay; returns the kept/dropped state in `_Item`s. A text
    shorter than `min_chars` (default: the options') is left as it is."""
    min_chars = options.min_chars if min_chars is None else min_chars
    query = _query_text(context)
    named = _named_terms(query)
    forms = _term_forms(context.terms())
    pairs = {pair: pair for pair in _wide_pairs(query)}
    forms.update(pairs)
    items: list[_Item] = []
    words_of: list[list[str]] = []
    soft_hint: list[bool] = []  # has a digit (the soft-fact number test needs one)
    for doc, text in enumerate(texts):
        if len(text) < min_chars or MARKER_PREFIX in text:
            continue
        for unit in split_units(text, whole_lines=whole_lines):
            piece = text[unit.start : unit.end]
            digit = _DIGIT.search(piece)
            hard = (
                unit.kind is UnitKind.HEADING
                or unit.head  # a long item's first sentence: its bullet and subject
                or (digit is not None and _is_hard(piece, digit.start()))
                or _CAVEAT.match(piece) is not None
            )
            lower = piece.lower()
            words = _WORD.findall(lower)
            # The unit's words, any spacing or punctuation: equal keys are repeats.
            item = _Item(doc, unit, piece, 0, " ".join(words), hard)
            if pairs:
                words = words + _wide_pairs(piece)
            if named is not None:
                item.named = named.find(piece, lower)
            items.append(item)
            words_of.append(words)
            soft_hint.append(digit is not None)
    # A task identifier pins the units naming it, unless it is everywhere (the repository's
    # own name in its issues): then it tells nothing about which units matter.
    named_df: dict[str, int] = {}
    for item in items:
        for term in item.named:
            named_df[term] = named_df.get(term, 0) + 1
    cap = max(3, len(items) // 10)
    for item in items:
        if any(named_df[term] <= cap for term in item.named):
            item.hard = True
    outcome = _Outcome([None] * len(texts), learned=False, units=len(items), dropped=0, repeats=0)
    if not items:
        return outcome
    _set_token_counts(items)

    # Exact repeats (same words, any spacing/punctuation) of an earlier unit go first.
    seen: set[str] = set()
    live_at: list[int] = []
    for i, item in enumerate(items):
        if item.key and item.key in seen:
            item.repeat = True
        else:
            live_at.append(i)
        seen.add(item.key)
    live = [items[i] for i in live_at]

    # Lexical relevance: IDF-weighted share of the task's terms present in the unit.
    hits = [{forms[w] for w in words_of[i] if w in forms} for i in live_at] if forms else [set() for _ in live]
    df: dict[str, int] = {}
    for found in hits:
        for t in found:
            df[t] = df.get(t, 0) + 1
    idf = {t: math.log(1 + len(live) / (1 + n)) for t, n in df.items()}
    # fsum: the sum must not depend on set iteration order (str hashes differ per process).
    lexical = [math.fsum(idf[t] for t in found) for found in hits]
    top = max(lexical, default=0.0) or 1.0
    lexical = [v / top for v in lexical]

    semantic = _semantic_scores(live, lexical, query, options, outcome)
    if outcome.timeout:
        return outcome
    for i, item in enumerate(live):
        score = lexical[i]
        if outcome.learned:
            score = _W_LEXICAL * score + (1 - _W_LEXICAL) * semantic[i]
        if item.unit.lead:
            score += 0.1
        boilerplate = _BOILERPLATE.search(item.text) is not None
        # The soft-fact scan is the costliest per-unit test; a hard unit is kept whatever its
        # score, so only units that compete for the budget pay for it.
        if (boilerplate or not item.hard) and _has_soft_fact(item.text, soft_hint[live_at[i]]):
            score += 0.1
        if boilerplate:
            score -= 0.5
            item.hard = False
        item.score = round(score, 4)  # rounded: BLAS noise must not reorder near-ties

    # Fill the budget: hard facts first, then by score (ties by position: deterministic).
    budget = options.keep_ratio * sum(item.tokens for item in live)
    used = 0
    for item in live:
        if item.hard:
            item.keep = True
            used += item.tokens
    order = sorted((i for i, item in enumerate(live) if not item.hard), key=lambda i: (-live[i].score, i))
    # The unit most relevant to the task stays however much the hard facts took: in retrieved
    # passages full of versions and CVE numbers, the one that answers is often without any.
    if order and live[order[0]].score > 0 and live[order[0]].tokens <= _BEST_UNIT_TOKENS:
        live[order[0]].keep = True
        used += live[order[0]].tokens
    # Units longer than `_LONG_UNIT_TOKENS` come only after the others: they take what budget
    # the sentences left (a document of nothing but run-on paragraphs still keeps some).
    for long_units in (False, True):
        for i in order:
            candidate = live[i]
            if candidate.keep or (candidate.tokens > _LONG_UNIT_TOKENS) != long_units:
                continue
            if used + candidate.tokens <= budget:
                candidate.keep = True
                used += candidate.tokens

    _keep_introduced_lists(items)

    # A dropped run must save more than the marker that replaces it.
    run: list[_Item] = []
    for entry in [*items, None]:
        if entry is not None and not entry.keep and (not run or run[-1].doc == entry.doc):
            run.append(entry)
            continue
        if run and sum(r.tokens for r in run) < min_drop_tokens:
            for r in run:
                r.keep = True
        run = [entry] if entry is not None and not entry.keep else []
    outcome.dropped = sum(not item.keep for item in items)
    outcome.repeats = sum(item.repeat and not item.keep for item in items)
    outcome.groups = _items_by_doc(items, len(texts))
    return outcome


def _keep_introduced_lists(items: list[_Item]) -> None:
    """A kept lead-in that ends with a colon ("xargs exits with the following status:") says
    nothing without the list it introduces: when that list is short, its units stay too. The
    list is the run of short units after it (a value and what it means, one a line), up to the
    next lead-in; a long list is left to the scores (its kept lead-in still tells what was
    there). Each unit is looked at once per lead-in, and a run ends at the next lead-in, kept
    or not: linear in the units."""
    for i, item in enumerate(items):
        if not item.keep or item.unit.kind is UnitKind.CODE or not _LEAD_IN.search(item.text):
            continue
        listed: list[_Item] = []
        total = 0
        for j in range(i + 1, len(items)):
            follower = items[j]
            if follower.doc != item.doc or follower.unit.kind in _NOT_LISTED:
                break
            if follower.tokens > _LISTED_ENTRY_TOKENS:
                break  # a paragraph: the list ended
            if follower.keep:
                if _LEAD_IN.search(follower.text):
                    break  # the next lead-in, kept: its list is its own
                continue
            total += follower.tokens
            if total > _INTRODUCED_LIST_TOKENS:
                listed = []
                break
            listed.append(follower)
            if _LEAD_IN.search(follower.text):
                break  # the next lead-in: its own list is its own
        for follower in listed:
            follower.keep = True


def _semantic_scores(
    live: list[_Item], lexical: list[float], query: str, options: ProseOptions, outcome: _Outcome
) -> list[float]:
    """Cosine relevance to the task (0..1), and near-duplicates marked as repeats.

    The model reads at most `options.max_model_tokens` tokens per call, a bound decided from the
    input alone (never from the clock: the same input gives the same bytes on any machine), and
    less for a long text (`_MODEL_FULL_UNITS`). When
    every candidate fits with a prefix of at least 16 tokens, all are read; otherwise the model
    re-ranks a shortlist, the candidates with the best keyword score (ties: first in the text),
    16 tokens each: the units matching the task's terms are where its reading of the question
    changes which stay. A unit the model did not read gets its keyword score here, so the blend
    leaves it at its keyword score, on the same scale as the units the model scored."""
    encoder = get_encoder() if options.learned else None
    if encoder is None or not query:
        return [0.0] * len(live)
    candidates = [i for i, item in enumerate(live) if not item.hard]
    unit_budget = options.max_model_tokens - _QUERY_MODEL_TOKENS
    if len(candidates) > _MODEL_FULL_UNITS:
        scaled = max(_MODEL_MIN_UNIT_TOKENS, unit_budget * _MODEL_FULL_UNITS // len(candidates))
        unit_budget = min(unit_budget, scaled)
    if not candidates or unit_budget < _MIN_PREFIX:
        return [0.0] * len(live)
    if len(candidates) * _MIN_PREFIX <= unit_budget:
        chosen = candidates
        prefix = min(_MAX_PREFIX, unit_budget // len(candidates))
    else:
        shortlist = sorted(candidates, key=lambda i: (-lexical[i], i))[: unit_budget // _MIN_PREFIX]
        chosen = sorted(shortlist)
        prefix = _MIN_PREFIX
    deadline = None if options.time_budget_s is None else time.perf_counter() + options.time_budget_s
    try:
        # The query and the units in one call: one pass of the model over all of them.
        vectors = encoder.embed(
            [query, *(live[i].text for i in chosen)],
            max_tokens=[_QUERY_MODEL_TOKENS, *([prefix] * len(chosen))],
            deadline=deadline,
        )
    except EmbeddingTimeout:
        outcome.timeout = True
        return []
    outcome.learned = True
    query_vector, vectors = vectors[0], vectors[1:]
    cosines = vectors @ query_vector
    scores = list(lexical)
    for row, i in enumerate(chosen):
        scores[i] = min(1.0, max(0.0, (float(cosines[row]) - 0.1) / 0.5))
    # Near-duplicates: a unit almost identical to an earlier one the model read says nothing new.
    if len(chosen) > 1:
        similar = vectors @ vectors.T
        for row in range(1, len(chosen)):
            if float(similar[row, :row].max()) >= options.near_duplicate:
                live[chosen[row]].repeat = True
                live[chosen[row]].score = -1.0
                scores[chosen[row]] = -1.0
    return scores


def _items_by_doc(items: list[_Item], n: int) -> list[list[_Item] | None]:
    grouped: list[list[_Item] | None] = [None] * n
    for item in items:
        bucket = grouped[item.doc]
        if bucket is None:
            grouped[item.doc] = bucket = []
        bucket.append(item)
    return grouped


def _summary(run: list[_Item], text: str | None = None) -> str:
    counts: dict[str, int] = {}
    for item in run:
        kind = {UnitKind.CODE: "code block", UnitKind.ITEM: "list item", UnitKind.HEADING: "heading"}.get(
            item.unit.kind, "sentence"
        )
        counts[kind] = counts.get(kind, 0) + 1
    parts = [f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in counts.items()]
    repeated = " (repeats)" if all(item.repeat for item in run) else ""
    named = _first_fields(run, text) if text is not None else ""
    return f"{', '.join(parts)} omitted{repeated}" + (f": {named}" if named else "")


_FIRST_FIELD = re.compile(r"[^\t]*?(?=\t| {3,}|$)")
_MAX_NAMED_CHARS = 400


def _first_fields(run: list[_Item], text: str) -> str:
    """What each dropped line was, by its first field, when every one is a line of columns
    (`/etc/services`: `ssh`, `telnet`, `smtp`): the marker then lists what was there, as a
    table's does. "" for anything else, or when the list would run long."""
    names: dict[str, None] = {}
    for item in run:
        line = text[item.unit.start : item.unit.end]
        if "\n" in line or not columned_line(line):
            return ""
        found = _FIRST_FIELD.match(line)
        names[found.group() if found else line] = None  # `echo 7/tcp`, `echo 7/udp`: one name
    listing = ", ".join(names)
    return listing if len(listing) <= _MAX_NAMED_CHARS else ""


def _render(text: str, doc_items: list[_Item], gap: str | None, ref: str) -> str:
    """The text with every dropped run replaced by `gap`, or by an in-place marker if gap is None."""
    out: list[str] = []
    pos = 0
    run: list[_Item] = []

    def close_run() -> None:
        nonlocal pos
        if run:
            out.append(text[pos : run[0].unit.start])
            out.append(gap if gap is not None else marker(_summary(run, text), ref))
            pos = run[-1].unit.end
            run.clear()

    for item in doc_items:
        if item.keep:
            close_run()
        else:
            run.append(item)
    close_run()
    out.append(text[pos:])
    return "".join(out)


def compress_prose_fields(
    texts: Sequence[str],
    context: SegmentContext,
    ref: str,
    *,
    keep_ratio: float | None = None,
    field_markers: bool = True,
    options: ProseOptions | None = None,
) -> list[str | None]:
    """Shorten long prose values of one document (issue bodies, RAG passages) together.

    All values share one budget, so passages unrelated to the task shrink most, and a value
    repeating an earlier one is dropped. Each shortened value shows ` … ` where sentences were
    cut and, with `field_markers`, ends with one marker (`ref` should be the unit's ref, under
    which the pipeline stores the original). Without `field_markers` the caller must add one
    marker for the document saying that `…` marks omitted sentences. Returns None for a value to
    keep as it is (short, nothing worth dropping, or the time ceiling was hit).
    """
    options = options or ProseOptions()
    if keep_ratio is not None:
        options = replace(options, keep_ratio=keep_ratio)
    try:
        outcome = _select(texts, context, options, min_drop_tokens=4)
    except Exception:  # never let a prose heuristic break a JSON document
        log.warning("prose: field selection failed; keeping the values", exc_info=True)
        return [None] * len(texts)
    results: list[str | None] = []
    gap_tokens = count_fragment_tokens(f" {ELLIPSIS} ")
    for text, items in zip(texts, outcome.groups, strict=True):
        if items is None or all(item.keep for item in items):
            results.append(None)
            continue
        shortened = _render(text, items, ELLIPSIS, ref)
        # Does it pay? Weighed from the units' own counts (dropped tokens against what the gaps
        # and the marker add) instead of tokenizing every field and its shortened form again:
        # re-counting cost as much as the whole selection on a 50k-token document.
        dropped = [item for item in items if not item.keep]
        gaps = sum(1 for i, item in enumerate(items) if not item.keep and (i == 0 or items[i - 1].keep))
        cost = gaps * gap_tokens
        if field_markers:
            note = " " + marker(_summary(dropped).replace(" omitted", f" of {len(items)} omitted"), ref)
            shortened += note
            cost += count_fragment_tokens(note)
        results.append(shortened if sum(item.tokens for item in dropped) > cost else None)
    return results


def compress_prose_field(
    text: str,
    context: SegmentContext,
    ref: str,
    *,
    keep_ratio: float | None = None,
    field_markers: bool = True,
    options: ProseOptions | None = None,
) -> str | None:
    """One long string value; see `compress_prose_fields` (prefer it: one budget per document)."""
    return compress_prose_fields(
        [text], context, ref, keep_ratio=keep_ratio, field_markers=field_markers, options=options
    )[0]


@register
class ProseCompressor:
    name: ClassVar[str] = "prose"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.PROSE})
    priority: ClassVar[int] = 10

    def __init__(self, options: ProseOptions | None = None) -> None:
        self.options = options or ProseOptions()

    def compress(self, segment: Segment) -> Compressed:
        return self.compress_parts([segment])[0]

    def compress_parts(self, segments: Sequence[Segment]) -> list[Compressed]:
        """Several stretches of prose of one unit (the text between a markdown document's fenced
        blocks) at once: one budget and one pass of the model over all of them, each shortened in
        place with its own markers. Part by part, a 50k-token README with 46 code blocks paid for
        46 passes of the model (1.1 s on first sight) and gave each stretch a budget of its own."""
        if not segments:
            return []
        texts = [segment.text for segment in segments]
        # The parts of one document share one budget: a short stretch between two code blocks
        # is weighed with the rest (each dropped run must still pay for its marker), so the
        # size bar is the document's, not each part's.
        total = sum(len(text) for text in texts)
        min_chars = self.options.min_chars if total < self.options.min_chars or len(texts) == 1 else 0
        whole_lines = any(segment.numbered for segment in segments)
        outcome = _select(
            texts, segments[0].context, self.options, min_drop_tokens=40, min_chars=min_chars, whole_lines=whole_lines
        )
        notes = {
            "learned": int(outcome.learned),
            "units": outcome.units,
            "units_dropped": outcome.dropped,
            "repeats_dropped": outcome.repeats,
            "timeout": int(outcome.timeout),
        }
        results = []
        for segment, items in zip(segments, outcome.groups, strict=True):
            text = segment.text
            if not items or all(item.keep for item in items):
                results.append(Compressed(normalize_whitespace(text, numbered=segment.numbered), notes=notes))
                continue
            shortened = normalize_whitespace(_render(text, items, None, segment.ref), numbered=segment.numbered)
            # Only a small cut can fail to pay: then the lossless form is made and both are
            # tokenized (50k tokens ~ 40 ms); otherwise the lossless form waits until it is needed.
            if len(shortened) * 10 > len(text) * 7:
                lossless = normalize_whitespace(text, numbered=segment.numbered)
                if len(shortened) * 10 > len(lossless) * 7 and count_tokens(shortened) >= count_tokens(lossless):
                    results.append(Compressed(lossless, notes=notes))
                    continue
            results.append(
                Compressed(
                    shortened,
                    lossy=True,
                    notes=notes,
                    lossless_text=partial(normalize_whitespace, text, numbered=segment.numbered),
                )
            )
        return results
