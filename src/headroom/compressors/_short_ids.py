"""Repeated long identifiers, shortened the way git shortens commit hashes.

Machine logs spend most of their tokens on identifiers: an OpenStack line carries a request
UUID, a user and a project hash and an instance UUID, 20-odd tokens each, and the same few
values come back on line after line. Once a log has been cut to one line per template, those
repeats are half of what is left.

`shorten_repeated_ids` keeps the first occurrence of each identifier whole and writes every
later one as its shortest unique prefix (at least 8 characters) followed by `…`: `fecdd5a9…`.
That is a form models and people already read as "the same hash as above", and unlike an alias
it is still a real prefix: `grep fecdd5a9` finds it in the file. The prefix is unique among all
identifiers of the unit's original, so it never names two of them. Lines holding headroom
markers are left as they are and do not count as a first occurrence.

Only hexadecimal identifiers qualify (UUIDs, and runs of 16+ hex digits with both a digit and
a letter): those are opaque, so their first characters identify them. Decimal ids
(`blk_-1608999687919862906`, `container_1445144423722_0020_01_000002`) differ at the end and
are left alone.
"""

from __future__ import annotations

import re
from collections import Counter

from headroom.compressors._log_templates import extract_timestamp

__all__ = ["ELLIPSIS", "line_sources", "shorten_line_sources", "shorten_repeated_ids"]

ELLIPSIS = "…"
MIN_PREFIX = 8
# A UUID, or 16+ hex digits of one case; not part of a longer word.
_HEX_ID = re.compile(
    r"(?<![0-9A-Za-z_])"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"
    r"|[0-9a-f]{16,}|[0-9A-F]{16,})"
    r"(?![0-9A-Za-z_])"
)
_MARKER = "[headroom:"
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Fa-f]")
# Shortening pays only when it removes at least this many characters.
_MIN_GAIN = 6


def _identifiers(text: str) -> list[str]:
    return [m for m in _HEX_ID.findall(text) if _DIGIT.search(m) and _LETTER.search(m)]


def _unique_prefixes(ids: set[str]) -> dict[str, str]:
    """Each id's shortest prefix (>= MIN_PREFIX) that no other id in `ids` starts with; ids
    that cannot be shortened profitably are left out."""
    ordered = sorted(ids)
    prefixes: dict[str, str] = {}
    for i, ident in enumerate(ordered):
        # In sorted order an id shares its longest common prefix with a neighbour.
        longest_shared = 0
        for j in (i - 1, i + 1):
            if 0 <= j < len(ordered):
                other = ordered[j]
                n = 0
                while n < min(len(ident), len(other)) and ident[n] == other[n]:
                    n += 1
                longest_shared = max(longest_shared, n)
        length = max(MIN_PREFIX, longest_shared + 1)
        if len(ident) - length >= _MIN_GAIN:
            prefixes[ident] = ident[:length]
    return prefixes


def shorten_repeated_ids(shown: str, original: str) -> tuple[str, int]:
    """`shown` with every identifier after its first occurrence written as a unique prefix
    and `…`; also the number of occurrences shortened. `original` is the text `shown` was
    compressed from: prefixes are unique among its identifiers."""
    lines = shown.split("\n")
    counts = Counter(ident for line in lines if _MARKER not in line for ident in _identifiers(line))
    repeated = {ident for ident, n in counts.items() if n > 1}
    if not repeated:
        return shown, 0
    prefixes = {
        ident: prefix
        for ident, prefix in _unique_prefixes(set(_identifiers(original)) | repeated).items()
        if ident in repeated
    }
    if not prefixes:
        return shown, 0
    seen: set[str] = set()
    shortened = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal shortened
        ident = match.group(0)
        prefix = prefixes.get(ident)
        if prefix is None:
            return ident
        if ident not in seen:
            seen.add(ident)
            return ident
        shortened += 1
        return prefix + ELLIPSIS

    out = [line if _MARKER in line else _HEX_ID.sub(replace, line) for line in lines]
    return "\n".join(out), shortened


# A line's first word, after the line number an agent's Read put before it.
_LINE_SOURCE = re.compile(r"^( *\d{1,9}(?:\t|→))?(\S+)(?=\s)")
_MAX_SOURCES = 8
_SOURCE_SHARE = 0.8
_MIN_SOURCE_CHARS = 16


def line_sources(original: str) -> set[str]:
    """The words naming where each line of a gathered log came from (loghub's
    `nova-compute.log.1.2017-05-16_13:55:31`, `kubectl logs --prefix`'s `[pod/api-7d9/app]`):
    a few long first words that start most of its lines. A first word holding the line's time
    stamp, or its start, is not a source (a date every line of a page shares)."""
    lines = [line for line in original.split("\n") if line.strip()]
    if len(lines) < 4:
        return set()
    firsts = Counter(line.split(None, 1)[0] for line in lines)
    sources = {word for word, _ in firsts.most_common(_MAX_SOURCES) if len(word) >= _MIN_SOURCE_CHARS}
    if sum(firsts[word] for word in sources) < _SOURCE_SHARE * len(lines):
        return set()
    for line in lines:
        word = line.split(None, 1)[0]
        if word in sources:
            stamp = extract_timestamp(line)
            if stamp is not None and 0 <= line.find(stamp) < len(word):
                sources.discard(word)
    return sources


def shorten_line_sources(shown: str, original: str) -> tuple[str, int]:
    """`shown` (a compressed log, lines possibly numbered) with each line source of `original`
    written whole on its first line and as its shortest unique prefix and `…` after, as
    repeated ids are; also the number of lines shortened."""
    prefixes = _unique_prefixes(line_sources(original))
    if not prefixes:
        return shown, 0
    seen: set[str] = set()
    shortened = 0
    out: list[str] = []
    for line in shown.split("\n"):
        found = _LINE_SOURCE.match(line) if _MARKER not in line else None
        word = found.group(2) if found else ""
        if found and word in prefixes:
            if word in seen:
                line = line[: found.start(2)] + prefixes[word] + ELLIPSIS + line[found.end(2) :]
                shortened += 1
            seen.add(word)
        out.append(line)
    return "\n".join(out), shortened
