"""Which records of a report name the task: shared by the compressors of reports whose records
are alike (compiler diagnostics, test failures), where a record naming a word of the task keeps
more of itself than its kind would give it."""

from __future__ import annotations

import re
from collections.abc import Sequence

import orjson

from headroom.segments import SegmentContext

__all__ = ["task_matches"]


def task_matches(texts: Sequence[str], context: SegmentContext) -> list[bool]:
    """For each record's text, whether it holds a word of the task: whole words only ("over" is
    not in "overrides"), not the tool call's own argument names ("command"), and not a word in
    more than a third of the records (the package the command checked tells none apart)."""
    terms = context.terms() - _argument_keys(context.tool_arguments)
    patterns = [re.compile(rf"(?<![\w]){re.escape(term)}(?![\w])") for term in sorted(terms)]
    found = [[pattern.search(text) is not None for text in texts] for pattern in patterns]
    telling = [hits for hits in found if sum(hits) * 3 <= len(texts)]
    return [any(hits[k] for hits in telling) for k in range(len(texts))]


def _argument_keys(arguments: str | None) -> frozenset[str]:
    try:
        value = orjson.loads(arguments or "")
    except orjson.JSONDecodeError:
        return frozenset()
    return frozenset(str(key).lower() for key in value) if isinstance(value, dict) else frozenset()
