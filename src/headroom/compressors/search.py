"""Code-search results (grep, ripgrep, JSON hit lists): keep the matches, drop the context.

A search result's signal is its match lines: `path:line:text`. The `-C` context around them
is most of the tokens and is what the model needs least, so it goes first. What stays:

- every match line in grep's own `path:line:text` form, so a `file:line` pair is visible
  verbatim, up to a budget of ~1.5k tokens of matches (more for very large outputs); past it
  the best-ranked matches stay and each file gets a marker with the count and line numbers of
  its dropped matches;
- up to two context lines next to the few best hits (ranked by definitions such as `def x`,
  `class X`, `NAME = value`, and by the task's terms that are rare among the matches), such
  as the enclosing `def` or the docstring below a matching signature;
- lines that are not hits (a "[showing first 100 of 162 matches]" trailer) verbatim.

Duplicated lines (overlapping -C windows, repeated hits) are dropped. One marker at the top
says what was omitted; the whole original is retrievable by its ref.

JSON hit arrays stay JSON (JSON in, valid JSON out, every value from the input): a columnar
`{"_headroom": marker, "columns": [...], "rows": [[path, line, text, ...]]}` of the kept hits in
their ranked order. Score fields and per-hit context strings are left out (retrievable by ref).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import orjson

from headroom.ccr.markers import SparseRefs, marker
from headroom.compressors._search_hits import CONTEXT, MATCH, OTHER, Hit, Parsed, parse_search
from headroom.compressors.base import Compressed, register
from headroom.compressors.passthrough import normalize_whitespace
from headroom.segments import ContentKind, Segment
from headroom.tokens import count_tokens

__all__ = ["SearchCompressor", "SearchOptions", "looks_like_search"]

# A definition line: `def f`, `class X`, `fn f`, `func f`, `export const X =`, `NAME = value`,
# `#define NAME`. Such lines say where something *is*, which is what searches are for.
SCOPE = re.compile(
    r"""\s*(?:export\s+)?(?:default\s+)?(?:pub(?:\([\w:]*\))?\s+)?(?:static\s+)?(?:async\s+)?
    (?:def|class|fn|func|function|interface|struct|enum|trait|impl|module)\s+[\w$]""",
    re.X,
)
DEFINITION = re.compile(
    r"""\s*(?:
      (?:export\s+)?(?:default\s+)?(?:pub(?:\([\w:]*\))?\s+)?(?:static\s+)?(?:async\s+)?
      (?:def|class|fn|func|function|interface|struct|enum|trait|impl|type|module)\s+[\w$]
    | (?:export\s+)?(?:const|final|static)\s+[\w$<>\[\]]+\s*(?:[\w$]+\s*)?(?::[^=]*)?=
    | _*[A-Z][A-Z0-9_]+\s*(?::[^=]+)?=(?!=)
    | \#\s*define\s+\w
    )""",
    re.X,
)

# The name a definition line defines: `def thishost(`, `class Timeout`, `_MAXLINE = 65536`.
_DEFINED_NAME = re.compile(
    r"""\s*(?:[\w()]+\s+)*?(?:def|class|fn|func|function|interface|struct|enum|trait|impl|type|module|const|define)
    \s+([\w$]+)|\s*(_*[A-Z][A-Z0-9_]+)\s*(?::[^=]+)?=""",
    re.X,
)
_SNIFF_CHARS = 8_000
_SNIFF_LINES = 60
_RG_EVENT = re.compile(r'\{"type":"(?:begin|match|context|end|summary)","data":')
_HIT_PATH_KEY = re.compile(r'"(?:path|file|filename|file_path|filepath|uri)"\s*:')
_HIT_LINE_KEY = re.compile(r'"(?:line|line_number|lineno|line_no|start_line)"\s*:\s*"?\d')
# A path as grep prints it: no whitespace, at least one letter, `:` only after a drive letter.
# This keeps log lines (`2015-07-29 17:41:44,747 ...`) from passing as `path-line-text`.
# No space, no colon (but a drive's), a letter somewhere: the letter is looked for ahead, once;
# `[^\s:]*[A-Za-z][^\s:]*\Z` tried each letter of a long line that then failed at its end.
_PLAUSIBLE_PATH = re.compile(r"(?:[A-Za-z]:[\\/])?(?=[^\s:]*[A-Za-z])[^\s:]*\Z")
_GREP_LINE = re.compile(r"(?P<path>[^\s:]+?)(?P<sep>[:-])(?P<line>\d+)(?P=sep)")
_BARE_LINE = re.compile(r"(?P<line>\d+)(?P<sep>[:-])")
_INDENT = re.compile(r"\A[ \t]+")
# An alternation in the search pattern (`shutdown|shield|cancel`, grep's `a\|b`): a line matching
# several of its words sits where the things searched for meet (a task cancelled at shutdown).
# (Starting only where a word starts keeps the search linear on a long word.) A shell pipe into
# a command (`src|head`) is no alternation.
_ALTERNATION = re.compile(r"(?<![\w-])\w[\w-]*(?:\\*\|\w[\w-]*)+")
_SHELL_COMMANDS = frozenset("head tail sort uniq grep egrep rg xargs less more cat awk sed cut tr tee".split())
_ALTERNATIVE_SPLIT = re.compile(r"\\*\|")
_DOC_LINE = re.compile(r"""\s*(?:[rRbBuU]?(?:\"\"\"|\'\'\')|\#|//|/\*|\*\s|--\s)""")  # docstring or comment


def looks_like_search(text: str) -> bool:
    """Cheap test on the head of `text`: grep/ripgrep text, rg --json events, or a JSON hit list.

    Grep text: at least 2 `path:N:` match lines, >= 70% of the first 60 non-blank lines are
    `path:N:`/`path-N-` lines (or `--`), paths are plausible, and line numbers increase within a
    file (log timestamps and `key: value` text fail that). `--heading` output (a path line,
    then `N:text`) needs a context line or a second file, so a numbered listing is not a search.
    """
    head = text[:_SNIFF_CHARS]
    stripped = head.lstrip()
    if stripped.startswith("{"):
        return _RG_EVENT.match(stripped) is not None
    if stripped.startswith("["):
        first = stripped[:1500]
        return re.match(r"\[\s*\{", first) is not None and bool(
            _HIT_PATH_KEY.search(first) and _HIT_LINE_KEY.search(first)
        )
    lines = head.split("\n")
    if len(text) > len(head):
        lines.pop()  # the cut-off last line proves nothing
    total = grep_like = matches = context = rising = pairs = with_path = separators = headings = 0
    prev: tuple[str, int] | None = None
    for line in lines:
        if not line.strip():
            continue
        if total >= _SNIFF_LINES:
            break
        total += 1
        if line == "--":
            grep_like += 1
            separators += 1
            prev = None
            continue
        m = _GREP_LINE.match(line)
        path = m["path"] if m and _PLAUSIBLE_PATH.match(m["path"]) else None
        bare = _BARE_LINE.match(line) if path is None else None
        if path is None and bare is None:
            if _PLAUSIBLE_PATH.match(line) and ("/" in line or "." in line):
                grep_like += 1  # a --heading file name
                headings += 1
                prev = None
            continue
        found = m if m and path else bare
        assert found is not None  # one of the two matched (checked just above)
        sep, number = found["sep"], int(found["line"])
        grep_like += 1
        with_path += path is not None
        matches += sep == ":"
        context += sep == "-"
        if prev is not None and prev[0] == (path or ""):
            pairs += 1
            rising += number > prev[1]
        prev = (path or "", number)
    if matches < 2 or grep_like < 0.7 * total or (pairs and rising < 0.8 * pairs):
        return False
    # Only `N:text` lines: a search of one file only if grep's context shapes show up; under
    # two file names or more (`rg -n --heading`), a search of those files.
    return with_path > 0 or context > 0 or separators > 0 or headings >= 2


def pattern_alternatives(arguments: str | None) -> list[str]:
    """The words of the alternations in a search call's arguments, lower-cased (`a|b|c` in a Grep
    tool's pattern, in `rg -n "a|b"` or `grep -E`, grep's `a\\|b`); empty unless there are two."""
    found: list[str] = []
    for alternation in _ALTERNATION.finditer(arguments or ""):
        words = _ALTERNATIVE_SPLIT.split(alternation.group(0).lower())
        if _SHELL_COMMANDS.intersection(words):
            continue
        for word in words:
            if len(word) >= 3 and word not in found:
                found.append(word)
    return found if len(found) >= 2 else []


FIRST_IN_FILE = 1.0


@dataclass(frozen=True, slots=True)
class SearchOptions:
    # Every match line stays while the matches fit in max(min chars, ratio x input), capped;
    # beyond it the best-ranked matches stay and each file's marker names the lines dropped.
    # 5k characters is ~1.5k tokens of match lines: a broad `grep -rn` an agent pages through
    # (20-30 KB of matches) keeps its definitions and task-term hits; 16k kept 90% of such a
    # grep and saved 15% of it, 8k ~50%, 5k ~65% with the answer-bearing matches still shown
    # (the real-agent search sessions and every code_search case keep all their needles).
    match_budget_chars: int = 5_000
    match_budget_ratio: float = 0.10
    match_budget_cap: int = 48_000
    best_hits: int = 6  # how many top-ranked hits get context lines
    context_per_hit: int = 2
    context_share: float = 0.10  # context budget, as a share of the kept match characters
    # Budget for the enclosing definitions of vague matches (a repeated `x=None,`), as a share of their
    # size. Off by default: on the code_search bench it costs 2.3 points of savings, and the
    # model can retrieve the context by ref when it needs to tell such matches apart.
    scope_share: float = 0.0
    enclosing_window: int = 8  # how far up to look for the definition around a hit


@register(sniffer=looks_like_search, sniff_rank=20)
class SearchCompressor:
    name: ClassVar[str] = "search"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.SEARCH})
    priority: ClassVar[int] = 10

    def __init__(self, options: SearchOptions | None = None) -> None:
        self.options = options or SearchOptions()

    def compress(self, segment: Segment) -> Compressed:
        text = segment.text
        parsed = parse_search(text)
        if parsed is None:
            return Compressed(normalize_whitespace(text, numbered=segment.numbered))
        result = _Run(self.options, parsed, segment).run()
        if result is None or count_tokens(result.text) >= count_tokens(text):
            return Compressed(normalize_whitespace(text, numbered=segment.numbered))
        return result


def _render_json(top: str, wrapper: list[Hit], shown: list[Hit], dropped: list[Hit]) -> str:
    """Kept JSON hits with their own values, in input order: columnar when every hit has the
    same fields, else one object per hit (a missing field is never written as null)."""
    table: dict[str, Any] = {"_headroom": top}
    for hit in wrapper:  # the wrapper object's own scalars ({"query": ..., "total": ...})
        for key, value in hit.fields:
            table.setdefault(key, value)
    columns = list(dict.fromkeys(key for hit in shown for key, _ in hit.fields))
    if all(len(hit.fields) == len(columns) for hit in shown):
        table["columns"] = columns
        table["hits"] = [[value for _, value in sorted(hit.fields, key=lambda f: columns.index(f[0]))] for hit in shown]
    else:
        table["hits"] = [dict(hit.fields) for hit in shown]
    if dropped:
        by_file: dict[str, list[int]] = defaultdict(list)
        for hit in dropped:
            by_file[hit.path].append(hit.line or 0)
        table["omitted_lines"] = {path: _line_ranges(lines) for path, lines in by_file.items()}
    return orjson.dumps(table).decode()


def _line_ranges(numbers: list[int], limit: int = 4) -> str:
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n <= spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    parts = [f"{a}-{b}" if b > a else str(a) for a, b in spans[:limit]]
    return ", ".join(parts) + (", …" if len(spans) > limit else "")


class _Run:
    """One compression of one search output."""

    def __init__(self, options: SearchOptions, parsed: Parsed, segment: Segment) -> None:
        self.opt = options
        self.parsed = parsed
        self.segment = segment
        self.matches: list[Hit] = []
        self.context: dict[tuple[str, int], Hit] = {}
        self.others: list[Hit] = []
        self.duplicates = 0
        self.unnumbered_context = 0
        self.match_keys: set[tuple[str, int]] = set()

    def run(self) -> Compressed | None:
        self._dedupe()
        if not self.matches:
            return None
        scores = self._rank()
        kept = self._select_matches(scores)
        extra = self._select_context(kept, scores)
        dropped_ctx = len(self.context) + self.unnumbered_context - len(extra)
        dropped_matches = [m for m in self.matches if id(m) not in kept]
        lossy = bool(dropped_ctx or dropped_matches or self.duplicates or self.parsed.style == "json")
        if not lossy:
            return None
        parts = []
        if dropped_ctx:
            parts.append(f"{dropped_ctx} context lines omitted")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate lines removed")
        if dropped_matches:
            files = len({m.path for m in dropped_matches})
            parts.append(f"{len(dropped_matches)} of {len(self.matches)} matches in {files} files omitted")
        if self.parsed.dropped_fields:
            parts.append(f"{self.parsed.dropped_fields} score/context fields omitted")
        if not parts:
            parts.append("JSON hits shown as path:line:text")
        top = marker("; ".join(parts), self.segment.ref)
        notes = {"matches_kept": len(kept), "matches_dropped": len(dropped_matches), "context_dropped": dropped_ctx}
        if self.parsed.style == "json":
            rows = [m for m in self.matches if id(m) in kept]
            return Compressed(_render_json(top, self.others, rows, dropped_matches), lossy=True, notes=notes)
        shown = [m for m in self.matches if id(m) in kept] + extra
        body = self._render(shown, dropped_matches)
        return Compressed(top + "\n" + body, lossy=True, notes=notes)

    def _dedupe(self) -> None:
        seen: set[tuple[str, int]] = set()
        for hit in self.parsed.hits:
            if hit.kind == MATCH:
                if hit.line is not None:
                    key = (hit.path, hit.line)
                    if key in seen:
                        self.duplicates += 1
                        continue
                    seen.add(key)
                self.matches.append(hit)
            elif hit.kind == OTHER:
                self.others.append(hit)
        self.match_keys = seen
        for hit in self.parsed.hits:
            if hit.kind != CONTEXT:
                continue
            if hit.line is None:
                self.unnumbered_context += 1
                continue
            key = (hit.path, hit.line)
            if key in seen or key in self.context:
                # A context line shown again by an overlapping window or as a match elsewhere.
                self.duplicates += key in self.context
                continue
            self.context[key] = hit

    def _rank(self) -> dict[int, float]:
        """Score per match: definitions (first those of a name the task writes), and task terms
        that single out a few of the matches. The words of the tool call's own pattern are not
        task terms here: every match has one of them (`def \\|class ` matches every class line)."""
        texts = [m.text.lower() for m in self.matches]
        paths = [m.path.lower() for m in self.matches]
        n = len(texts)
        context = self.segment.context
        pattern_terms = replace(context, user_query="").terms() if context.tool_arguments else frozenset()
        task_terms = sorted(context.terms() - pattern_terms)
        informative = []
        for term in task_terms:
            count = sum(term in t for t in texts)
            # A term in most matches (the grep pattern itself) says nothing about which is best.
            if count and (n < 4 or count <= 0.6 * n):
                informative.append(term)
        # The call's own path argument is in every match's path: only the user's words tell files apart.
        path_terms = [t for t in task_terms if any(t in p for p in paths)]
        alternatives = pattern_alternatives(context.tool_arguments)
        named = frozenset(task_terms)
        # Each word of the alternation was asked for: the lines of a rare one (`shield`, on 8 of
        # 200 lines) must not drown under those of a common one (`shutdown`, on 120).
        found = {word: sum(word in t for t in texts) for word in alternatives}
        rarity = {word: math.log(n / count) / math.log(n) if count and n > 1 else 0.0 for word, count in found.items()}
        scores: dict[int, float] = {}
        for hit, low, path in zip(self.matches, texts, paths, strict=True):
            score = 0.0
            if DEFINITION.match(hit.text):
                defined = _DEFINED_NAME.match(hit.text)
                score += 12.0 if defined and (defined.group(1) or defined.group(2)).lower() in named else 4.0
            score += 2.0 * sum(t in low for t in informative)
            score += 0.5 * sum(t in path for t in path_terms)
            met = [word for word in alternatives if word in low]
            score += 3.0 * max(0, len(met) - 1)
            score += max((rarity[word] for word in met), default=0.0)
            scores[id(hit)] = score
        return scores

    def _render_line(self, hit: Hit) -> str:
        if hit.kind == OTHER:
            return hit.text
        # Indentation is a token or two per line and means little once the surrounding lines
        # are gone; one space keeps "this line was nested" visible (" raise" is one token).
        text = _INDENT.sub(" ", hit.text, count=1)
        if hit.line is None:
            return f"{hit.path}:{text}{hit.extra}" if hit.path else text
        if self.parsed.style == "heading" or not hit.path:
            return f"{hit.line}{hit.sep}{text}{hit.extra}"
        return f"{hit.path}{hit.sep}{hit.line}{hit.sep}{text}{hit.extra}"

    def _select_matches(self, scores: dict[int, float]) -> set[int]:
        opt = self.opt
        budget = min(
            max(opt.match_budget_chars, int(opt.match_budget_ratio * len(self.segment.text))), opt.match_budget_cap
        )
        sizes = {id(m): len(self._render_line(m)) + 1 for m in self.matches}
        if sum(sizes.values()) <= budget:
            return set(sizes)
        # A file's first match says where in the file the hits begin; with one line per file the
        # index names every file the search found, not only the files of the best hits. (Only
        # here: a first match is no better hit to give context lines to.)
        firsts = {id(m) for m in {m.path: m for m in reversed(self.matches)}.values()}
        kept: set[int] = set()
        used = 0
        for hit in sorted(self.matches, key=lambda m: (-scores[id(m)] - FIRST_IN_FILE * (id(m) in firsts), m.order)):
            if used + sizes[id(hit)] <= budget:
                kept.add(id(hit))
                used += sizes[id(hit)]
        return kept

    def _select_context(self, kept: set[int], scores: dict[int, float]) -> list[Hit]:
        """The few context lines worth their tokens.

        Beside each of the best hits: its enclosing `def`/`class`, or, for a hit that is a
        definition, the docstring or comment line below it. And for matches whose text says nothing on its own
        (`return None` found 40 times, a lone `)`), the enclosing definition: it is what
        tells those hits apart.
        """
        opt = self.opt
        shown = [m for m in self.matches if id(m) in kept and m.line is not None]
        budget = opt.context_share * sum(len(m.text) + len(m.path) + 8 for m in shown)
        chosen: dict[tuple[str, int], Hit] = {}
        used = 0.0

        def take(pick: Hit | None, limit: float) -> None:
            nonlocal used
            if pick is None or pick.line is None or (pick.path, pick.line) in chosen:
                return
            cost = len(pick.text) + len(pick.path) + 8
            if used + cost <= limit:
                chosen[(pick.path, pick.line)] = pick
                used += cost

        best = sorted((m for m in shown if scores[id(m)] > 0), key=lambda m: (-scores[id(m)], m.order))
        for hit in best[: opt.best_hits]:
            assert hit.line is not None
            if DEFINITION.match(hit.text):
                # What a definition says of itself (its docstring or comment), or the definitions
                # right below it: constants come in blocks (the default timeout, then the default
                # limits and redirect count), and "what is set right after it" is a question.
                below = self._context_below(hit, opt.context_per_hit)
                if below and _DOC_LINE.match(below[0].text):
                    picks = below[:1]
                else:
                    picks = list(itertools.takewhile(lambda line: DEFINITION.match(line.text) is not None, below))
            else:
                enclosing = self._enclosing(hit)
                picks = [enclosing] if enclosing is not None else []
            for pick in [p for p in picks if p is not None][: opt.context_per_hit]:
                take(pick, budget)
        texts = Counter(m.text.strip() for m in shown)
        vague = [m for m in shown if texts[m.text.strip()] >= 3 or len(m.text.strip()) < 8]
        limit = used + opt.scope_share * sum(len(m.text) + len(m.path) + 8 for m in vague)
        for hit in vague:
            take(self._enclosing(hit), limit)
        return list(chosen.values())

    def _context_below(self, hit: Hit, count: int) -> list[Hit]:
        """Up to `count` non-blank context lines right below a hit, within its context window."""
        assert hit.line is not None
        found: list[Hit] = []
        for n in range(hit.line + 1, hit.line + 1 + self.opt.enclosing_window):
            below = self.context.get((hit.path, n))
            if below is None or len(found) == count:
                break
            if below.text.strip():
                found.append(below)
        return found

    def _enclosing(self, hit: Hit) -> Hit | None:
        """The nearest `def`/`class` line above a hit inside its context window, if shown there."""
        assert hit.line is not None
        for n in range(hit.line - 1, max(hit.line - self.opt.enclosing_window, 1) - 1, -1):
            above = self.context.get((hit.path, n))
            if above is None:
                if (hit.path, n) not in self.match_keys:
                    return None  # the window ends here
                continue
            if SCOPE.match(above.text):
                return above
        return None

    def _render(self, shown: list[Hit], dropped: list[Hit]) -> str:
        # Text results only: JSON hit lists are rendered by `_render_json`.
        ordered = sorted([*shown, *self.others], key=lambda h: (h.order, h.line or 0))
        dropped_by_file: dict[str, list[int]] = defaultdict(list)
        for hit in dropped:
            dropped_by_file[hit.path].append(hit.line or 0)
        last_at = {h.path: i for i, h in enumerate(ordered) if h.kind != OTHER}
        out: list[str] = []
        current: str | None = None
        # A file's marker has the ref only every few thousand characters (the top one has it):
        # a grep over a tree has a marker per file, and the ref is the same on all.
        refs = SparseRefs(self.segment.ref)
        for i, hit in enumerate(ordered):
            if self.parsed.style == "heading" and hit.kind != OTHER and hit.path != current:
                out.extend([""] if out else [])
                out.append(hit.path)
                current = hit.path
            out.append(self._render_line(hit))
            refs.wrote(out[-1])
            if hit.kind != OTHER and last_at.get(hit.path) == i and hit.path in dropped_by_file:
                numbers = dropped_by_file.pop(hit.path)
                many = "es" if len(numbers) > 1 else ""
                where = f"lines {_line_ranges(numbers)}" if len(numbers) > 1 else f"line {numbers[0]}"
                summary = f"{len(numbers)} more match{many} in {hit.path or 'this file'} ({where})"
                out.append(refs.marker(summary))
        if dropped_by_file:  # files none of whose matches made the cut
            listed = [f"{p} ({len(v)})" for p, v in list(dropped_by_file.items())[:8]]
            more = f", +{len(dropped_by_file) - 8} files" if len(dropped_by_file) > 8 else ""
            total = sum(len(v) for v in dropped_by_file.values())
            out.append(marker(f"{total} matches in other files omitted: {', '.join(listed)}{more}", self.segment.ref))
        return "\n".join(out)
