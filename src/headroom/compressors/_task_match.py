"""Which records of a report name the task: shared by the compressors of reports whose records
are alike (compiler diagnostics, test failures), where a record naming a word of the task keeps
more of itself than its kind would give it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import orjson

from headroom.compressors.source_code import word_pieces
from headroom.segments import SegmentContext

__all__ = ["named_by_pieces", "task_matches"]

_WORD = re.compile(r"[A-Za-z_]\w*")
_GENERIC_PIECES = frozenset({"test", "tests", "spec", "it", "should", "case"})


def task_matches(texts: Sequence[str], context: SegmentContext, *, with_arguments: bool = True) -> list[bool]:
    """For each record's text, whether it holds a word of the task: whole words only ("over" is
    not in "overrides"), not the tool call's own argument names ("command"), and not a word in
    more than a third of the records, even inside longer words (the package the command
    checked tells none apart: `json` in `test.test_json.test_dump`).
    Without `with_arguments`, only the user's words count: the words of a test command
    (`python -m pytest tests/routing`) name what ran, not which of its tests matter."""
    if not with_arguments:
        context = replace(context, tool_arguments=None)
    terms = context.terms() - _argument_keys(context.tool_arguments)
    lowered = [text.lower() for text in texts]
    telling: list[list[bool]] = []
    for term in sorted(terms):
        # Everywhere as a piece of longer names too (`json` in every `test.test_json...` line, a
        # piece between `_` or `.`): the subject of the whole report, not the name of some of its
        # records. Inside a word is no piece ("int" in "printing").
        holding = [k for k, text in enumerate(lowered) if term in text]  # a literal scan first
        if not holding:
            continue
        piece = re.compile(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])")
        if sum(piece.search(lowered[k]) is not None for k in holding) * 3 > len(texts):
            continue
        pattern = re.compile(rf"(?<![\w]){re.escape(term)}(?![\w])")
        hits = [False] * len(texts)
        for k in holding:
            hits[k] = pattern.search(texts[k]) is not None
        telling.append(hits)
    return [any(hits[k] for hits in telling) for k in range(len(texts))]


def _argument_keys(arguments: str | None) -> frozenset[str]:
    try:
        value = orjson.loads(arguments or "")
    except orjson.JSONDecodeError:
        return frozenset()
    return frozenset(str(key).lower() for key in value) if isinstance(value, dict) else frozenset()


def named_by_pieces(names: Sequence[str], context: SegmentContext) -> list[bool]:
    """For each identifier (a test's name), whether the user's words name it by its word pieces:
    "does the receipt header test pass?" names `test_receipt_header` and `testReceiptHeader`.
    Every piece but the generic ones (test, spec) must be among the task's (all but one of three
    or more); a name of one piece (`test_json`) is left to the whole-word match of
    `task_matches` (a task about json names every json test by pieces); and a name whose pieces
    a third of the names share tells none apart."""
    task = {piece for word in _WORD.findall(context.user_query) for piece in word_pieces(word)}
    if not task:
        return [False] * len(names)
    hits = []
    for name in names:
        own = set(word_pieces(name)) - _GENERIC_PIECES
        matched = len(own & task)
        hits.append(len(own) >= 2 and matched >= len(own) - (1 if len(own) >= 3 else 0))
    if sum(hits) * 3 > len(names):
        return [False] * len(names)
    return hits
