"""Mixed content: markdown-like text whose fenced blocks are code, JSON or logs.

Each fenced block big enough to matter is routed on its own (its fence's language tag is a
hint) and compressed by the compressor for its kind; a big pipe table between blocks goes to
the table compressor, and the rest of the text to the prose compressor when one is registered.
Markers inside parts point at the whole unit's original, which is what the pipeline stores.

It routes its parts, so it lives with the router (compressors, below routing, never import it);
the `headroom.routing` package registers it on import.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, cast

from headroom.compressors.base import Compressed, Compressor, PartsCompressor, Registry, register
from headroom.routing.detect import SNIFF_CHARS, detect, looks_like_prose, sniffed_as
from headroom.routing.fences import split_fenced, split_tables
from headroom.routing.router import route
from headroom.segments import ContentKind, Segment

__all__ = ["MixedCompressor"]

_MIN_PART_CHARS = 800
_TABLE = "\x00table"  # the info of a pipe table between blocks (no fence tag can hold a NUL)
_FENCE = "\x00fence"  # the info of a fence line
_LANGUAGE_ALIASES = {
    "py": "python",
    "python3": "python",
    "js": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "tsx": "typescript",
    "golang": "go",
    "rs": "rust",
    "c++": "cpp",
    "cc": "cpp",
    "hpp": "cpp",
}


@register
class MixedCompressor:
    name: ClassVar[str] = "mixed"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.MIXED})
    priority: ClassVar[int] = 10

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry  # whose compressors take the fenced blocks

    def compress(self, segment: Segment) -> Compressed:
        out: list[str] = []
        lossy = False
        parts_compressed = 0
        line = segment.first_line
        routed: list[tuple[int, Compressor, Segment]] = []  # (position in `out`, compressor, part)
        prose = route(ContentKind.PROSE, registry=self._registry)
        for part, info in _parts(segment.text):
            part_line, line = line, line + part.count("\n")
            out.append(part)
            if info == _FENCE:
                continue
            if len(part) < _MIN_PART_CHARS:
                if info is None and part.strip() and prose is not None:
                    # Short text between blocks joins the document's prose: one budget for all
                    # of it (a docs page with 200 small examples is mostly such stretches).
                    piece = Segment(
                        part,
                        segment.context,
                        ContentKind.PROSE,
                        parent_ref=segment.ref,
                        first_line=part_line,
                        numbered=segment.numbered,
                    )
                    routed.append((len(out) - 1, prose, piece))
                continue
            language = _LANGUAGE_ALIASES.get(info, info) if info and info != _TABLE else None
            if (
                info is None
                and looks_like_prose(part[:SNIFF_CHARS])
                and not sniffed_as(ContentKind.LOGS, part, self._registry)
            ):
                # The document's own sentences between two blocks: asking every sniffer about
                # each such stretch took a third of a 50k-token README's time, to say "prose".
                # Only log lines (an excerpt pasted unfenced) read as sentences too.
                kind = ContentKind.PROSE
            else:
                # A fenced block's tag names its language; the text between blocks is the
                # document's own (markdown): the language guess is for untagged blocks only.
                path = f"block.{language}" if language else "part.md" if info is None else None
                detection = detect(part, path, self._registry)
                kind, language = detection.kind, detection.language or language
            if info == _TABLE and kind != ContentKind.TABLE:
                continue  # a table the table compressor cannot read (escaped pipes): left whole
            if kind == ContentKind.HTML:
                continue  # an example page in a block is code to read as written, not a page to render
            if kind in (ContentKind.MIXED, ContentKind.PROSE, ContentKind.TEXT):
                # A fenced block tagged with a language is code whatever it looks like; untagged
                # text never recurses into this compressor.
                kind = ContentKind.CODE if info is not None and language else ContentKind.PROSE
            compressor = route(kind, registry=self._registry)
            if compressor is None or compressor.name == self.name:
                continue
            piece = Segment(
                part,
                segment.context,
                kind,
                language,
                parent_ref=segment.ref,
                first_line=part_line,
                numbered=segment.numbered,
            )
            routed.append((len(out) - 1, compressor, piece))
        derived: dict[str, str] = {}
        for position, result in self._compress_parts(routed):
            part = out[position]
            if result is not None and len(result.text) < len(part):
                # Keep the fence's closing line on its own line.
                text = result.text if result.text.endswith("\n") or not part.endswith("\n") else result.text + "\n"
                out[position] = text
                lossy = lossy or result.lossy
                derived.update(result.derived)  # what a part's markers cite besides the original
                parts_compressed += 1
        return Compressed("".join(out), lossy=lossy, notes={"parts_compressed": parts_compressed}, derived=derived)

    @staticmethod
    def _compress_parts(routed: list[tuple[int, Compressor, Segment]]) -> Iterator[tuple[int, Compressed | None]]:
        """Each routed part's result (None when its compressor failed on it: one bad block must
        not cost the others their compression). A compressor that takes parts together (prose:
        one budget, one pass of the model) gets all of its parts in one call."""
        batches: dict[int, tuple[PartsCompressor, list[tuple[int, Segment]]]] = {}
        takes_parts: dict[type, bool] = {}  # a runtime Protocol check costs ~100 us: once per class
        for position, compressor, piece in routed:
            kind = type(compressor)
            if kind not in takes_parts:
                takes_parts[kind] = isinstance(compressor, PartsCompressor)
            if takes_parts[kind]:
                many = cast(PartsCompressor, compressor)  # checked above, once for its class
                batches.setdefault(id(compressor), (many, []))[1].append((position, piece))
                continue
            try:
                yield position, compressor.compress(piece)
            except Exception:
                yield position, None
        for batcher, parts in batches.values():
            try:
                results: list[Compressed | None] = [*batcher.compress_parts([piece for _, piece in parts])]
            except Exception:
                results = [None] * len(parts)
            yield from zip((position for position, _ in parts), results, strict=True)


def _parts(text: str) -> Iterator[tuple[str, str | None]]:
    """The document as consecutive parts: fenced bodies with their fence info, big pipe tables
    between them (info `_TABLE`: the table compressor keeps their header and telling rows), the
    fence lines themselves (info `_FENCE`: never compressed), and the text around them (info
    None). A stretch of text between two blocks must not reach the prose compressor with the
    closing fence above it and the opening one below: read alone, those two lines pair up as a
    code block, and the whole stretch went as "1 code block omitted", taking the fences along."""
    parts = split_fenced(text)
    for k, (part, info) in enumerate(parts):
        if info is not None:
            yield part, info
            continue
        head = tail = ""
        if k > 0 and parts[k - 1][1] is not None:  # starts with the closing fence of the block above
            end = part.find("\n") + 1 or len(part)
            head, part = part[:end], part[end:]
        if k + 1 < len(parts) and parts[k + 1][1] is not None:  # ends with the next block's opening fence
            start = part.rfind("\n", 0, len(part) - 1) + 1
            part, tail = part[:start], part[start:]
        if head:
            yield head, _FENCE
        for piece, is_table in split_tables(part, _MIN_PART_CHARS):
            yield piece, _TABLE if is_table else None
        if tail:
            yield tail, _FENCE
