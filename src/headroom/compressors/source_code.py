"""Source files -> an AST outline: signatures, constants and types stay; long bodies become stubs.

A file read by an agent is mostly function bodies; what it needs to navigate (and most facts
it asks about) sits in signatures, defaults, class attributes, module constants, docstring
first lines and error messages. This compressor parses the file with tree-sitter and replaces
each long body with a one-line stub that keeps the file syntactically valid, e.g.::

    def dumps(obj, *, skipkeys=False, ...):
        \"\"\"Serialize ``obj`` to a JSON formatted ``str``.
        \"\"\"
        ...  # [headroom: body elided, lines 184-238 · ref=h_0123456789ab]

Kept whole: bodies of symbols the user turn or tool arguments name (the agent may edit them),
and bodies too small for a stub to pay off. Raise/throw messages of an elided body are listed
in its marker. `cat -n` / `12→` line-number prefixes are detected, stripped for parsing and
kept on every output line. Without the `[code]` extra, or when the text does not parse, the
input comes back untouched.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from headroom.compressors._code_outline import Edit, plan_outline
from headroom.compressors._tree_sitter import (
    detect_language,
    get_parser,
    language_from_path,
    normalize_language,
    path_from_arguments,
    split_line_numbers,
)
from headroom.compressors.base import Compressed, register
from headroom.segments import ContentKind, Segment, SegmentContext
from headroom.tokens import count_fragment_tokens, count_tokens

__all__ = ["CodeCompressor", "detect_language", "resolve_language"]

MAX_CHARS = 1_000_000  # beyond this, parsing (worst case ~1 ms/KB on junk) costs too much
MAX_LINE = 5_000  # a line this long is minified/generated: nothing to outline
_MIN_GOOD_SHARE = 0.6  # share of rows that must parse cleanly before we trust the tree
_SPLIT_TERM = re.compile(r"[./:\\()\-]+")
_WORD = re.compile(r"[A-Za-z_]\w*")
_QUALIFIER = re.compile(r"\.[A-Za-z_]")


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


def _protected_names(ctx: SegmentContext) -> frozenset[str]:
    """Identifiers the task names (lower-cased): their bodies are never elided.

    From `Queue.get_nowait` only the last part counts (the method, not the whole class). Parts
    of the file's own path ("json", "__init__", "client") are not names the user chose.
    """
    path = ctx.file_path or path_from_arguments(ctx.tool_arguments) or ""
    path_parts = set(_SPLIT_TERM.split(path.lower()))
    names = _code_words(ctx.user_query)
    for term in ctx.terms():
        if "/" not in term and "\\" not in term:
            names.add(term.rsplit(".", 1)[-1].rsplit(":", 1)[-1])
    return frozenset(name for name in names if len(name) >= 2 and name not in path_parts)


def _clean_rows(node: Any, depth: int = 0) -> int:
    """Rows covered by error-free nodes, looking a few levels into nodes that hold an error
    (a file cut off mid-class still has dozens of clean methods before the cut)."""
    if not node.has_error:
        return node.end_point.row - node.start_point.row + 1
    if (node.type == "ERROR" and depth > 0) or depth >= 4:
        return 0
    return sum(_clean_rows(child, depth + 1) for child in node.named_children)


def _clean_share(root: Any, n_rows: int) -> float:
    """Share of rows that parsed without error: below `_MIN_GOOD_SHARE` the tree is not trusted."""
    return 1.0 if not root.has_error else _clean_rows(root) / max(n_rows, 1)


def _render(lines: list[str], prefixes: tuple[str, ...] | None, edits: list[Edit]) -> str:
    out: list[str] = []
    row = 0
    for edit in edits:
        out.extend(lines[row : edit.start])
        if edit.text is not None:
            eol = "\r" if lines[edit.start].endswith("\r") else ""  # keep CRLF files consistent
            out.append((prefixes[edit.start] if prefixes else "") + edit.text + eol)
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
        if root.has_error and language == "typescript":  # JSX in a file we could not name .tsx
            tsx_root = get_parser("tsx").parse(source).root_node
            if not tsx_root.has_error:
                language, root = "tsx", tsx_root
        if _clean_share(root, len(code_lines)) < _MIN_GOOD_SHARE:
            return Compressed(text, notes={"unparsed": 1})

        edits, counters = plan_outline(
            root,
            code_lines,
            language,
            _protected_names(segment.context),
            segment.ref,
            numbered.first_number if numbered else segment.first_line,
            count_fragment_tokens,
        )
        notes = dict(counters)
        notes["line_numbers"] = int(numbered is not None)
        if root.has_error:
            notes["parse_errors"] = 1
        if not edits:
            return Compressed(text, notes=notes)
        out = _render(lines, numbered.prefixes if numbered else None, edits)
        # Tokenizing both (50k tokens ~ 40 ms) only when the cut is small enough to be in doubt.
        if len(out) * 10 > len(text) * 7 and count_tokens(out) >= count_tokens(text):
            return Compressed(text, notes=notes)
        return Compressed(out, lossy=True, notes=notes)
