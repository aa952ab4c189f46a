"""HTML pages (`curl` of a docs page, a saved report): read as Markdown, then compressed as one.

A web page is mostly markup: a 55k-token rustdoc page holds ~20k tokens of text. An agent that
fetched it wants the text, so the page is converted to Markdown by `html-to-markdown` (a
maintained converter, MIT, with a compiled core: ~25 ms for a 50k-token page) — headings, lists,
tables and code blocks keep their shape, content hidden behind a tab or a <details> stays; tags,
scripts, styles, images, in-page anchors, link titles and long generated link targets go — and
the Markdown is compressed as a document (the `mixed` compressor): each code block by its kind
(a build log in a <pre> as a log), a big data table by the table compressor, the text by the
prose compressor for the task.

Two texts are stored for retrieval: the original HTML (the top marker's ref) and the Markdown
(the ref of the markers inside, whose line numbers are the Markdown's), so each ref returns
what it was issued for.

An HTML document read by path under a page or template name and small enough to be a project's
own (an `index.html`, a Jinja `base.html.j2`) is read to be edited: the router leaves it whole
(`detect`). Only generated pages and fetched or saved ones come here. `html-to-markdown` is the
`html` extra: without it a page passes whole, with a diagnostic.
"""

from __future__ import annotations

import re
from typing import ClassVar

from headroom.ccr.markers import marker
from headroom.compressors._fences import FENCE_CLOSE, FENCE_OPEN, PIPE_TABLE, fenced_blocks
from headroom.compressors.base import Compressed, Registry, default_registry, register
from headroom.errors import CompressorError
from headroom.segments import ContentKind, Segment, content_ref

__all__ = ["HtmlCompressor", "html_to_markdown", "looks_like_html"]

# A document: an XML declaration and comments may come first, then the doctype or the root
# element (or a bare <head> / <body>, as some servers send). `curl -i` puts the status line and
# headers of each response before it (`-iL`: every redirect's; a `100 Continue` first).
_HTTP_HEADERS = re.compile(r"HTTP/[\d.]+ \d{3}[^\n]*\n(?:[!-9;-~]+:[^\n]*\n)*\r?\n")
_DOCUMENT_START = re.compile(
    r"(?:<\?xml[^>]{0,200}\?>\s*)?(?:<!--(?:(?!-->).){0,2000}-->\s*)*"
    r"(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_MAX_HEADER_BLOCKS = 8
_SHOWN_AS_MARKDOWN = (
    "HTML page shown as Markdown: tags, scripts, styles, images, in-page links and long link targets left out"
)
# A link target longer than this carries data (a playground URL holding the example's code, a
# tracking query): the link keeps its text. A release asset's URL (~110 characters) stays.
_MAX_LINK_CHARS = 200
# Inline links as the converter writes them: [text](target "title"), the target in <> when it
# holds spaces, and balanced parentheses left in it (`?code=fn+main()+{...}`).
_LINK = re.compile(r'\[((?:\\.|[^\[\]\\\n])*)\]\((<[^>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?: "(?:\\.|[^"\\\n])*")?\)')
_CODE_SPAN = re.compile(r"(`+[^`\n]+`+)")  # an inline code span (split keeps it as an odd piece)
_LAYOUT_CELL_CHARS = 400  # a cell this long beside spacer cells holds paragraphs: layout (`_unlayout`)


def looks_like_html(head: str) -> bool:
    """An HTML document: its doctype or root element opens the text."""
    text = head.lstrip("\ufeff \t\r\n")
    for _ in range(_MAX_HEADER_BLOCKS):
        if not text.startswith("HTTP/"):
            break
        headers = _HTTP_HEADERS.match(text)
        if headers is None:
            return False
        text = text[headers.end() :].lstrip()
    return _DOCUMENT_START.match(text) is not None


def _trim_link(link: re.Match[str]) -> str:
    text, target = link.group(1), link.group(2)
    bare = target[1:-1] if target.startswith("<") else target
    if not text.strip():
        return ""  # an icon's link: nothing to read
    if bare.startswith("#") or bare.lower().startswith("javascript:") or len(bare) > _MAX_LINK_CHARS:
        return text
    return f"[{text}]({target})"  # the title goes


_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _unlayout(table: re.Match[str]) -> str:
    """A pipe table whose cells hold paragraphs beside empty spacer cells (a third of its cells
    or more) is page layout, not data: pydoc and old javadoc put whole class references in one
    cell. It becomes its cells as paragraphs, so their sentences are weighed one by one instead
    of each row as one unit. A filled table stays a table (a changelog with a long notes cell)."""
    lines = table.group(0).rstrip("\n").split("\n")
    rows = [lines[0], *lines[2:]]  # without the `| --- |` separator
    cells = [cell.strip() for row in rows for cell in _CELL_SPLIT.split(row.strip()[1:-1])]
    paragraphs = [cell for cell in cells if cell]
    if (len(cells) - len(paragraphs)) * 3 < len(cells) or all(len(c) <= _LAYOUT_CELL_CHARS for c in paragraphs):
        return table.group(0)
    return "\n\n".join(paragraphs) + "\n"


def _outside_code(markdown: str) -> str:
    """Links and layout tables outside code blocks: in-page anchors and long targets keep their
    text only, a layout table becomes paragraphs (`_unlayout`)."""

    def tidy(text: str) -> str:
        # Inline code (`[text](#anchor)` on a page about Markdown) is shown as it is.
        pieces = _CODE_SPAN.split(text)
        linked = "".join(piece if k % 2 else _LINK.sub(_trim_link, piece) for k, piece in enumerate(pieces))
        return PIPE_TABLE.sub(_unlayout, linked)

    out: list[str] = []
    position = 0
    for opener, closer in fenced_blocks(markdown, FENCE_OPEN, FENCE_CLOSE):
        out.append(tidy(markdown[position : opener.start()]))
        out.append(markdown[opener.start() : closer.end()])
        position = closer.end()
    out.append(tidy(markdown[position:]))
    return "".join(out)


def html_to_markdown(html: str) -> str:
    """The page as Markdown. Raises CompressorError when the `html` extra is not installed, or
    when the converter left part of the page out (nesting past its depth limit)."""
    try:
        import html_to_markdown as converter
    except ImportError as exc:
        raise CompressorError("HTML page left whole: pip install 'headroom-context[html]'") from exc
    # <tt> is HTML 4's typewriter font, not code: pydoc before 3.11 sets every docstring in it,
    # and as inline code each one read as a single unit the prose compressor could not split.
    options = converter.ConversionOptions(
        skip_images=True, extract_metadata=False, hidden_content="reachable", compact_tables=True, strip_tags=["tt"]
    )
    result = converter.convert(html, options)
    if any("depth" in f"{getattr(w, 'kind', '')} {getattr(w, 'message', '')}".lower() for w in result.warnings):
        raise CompressorError("HTML nested past the converter's depth limit: page left whole")
    return _outside_code(str(result.content))


@register(sniffer=looks_like_html, sniff_rank=5)
class HtmlCompressor:
    name: ClassVar[str] = "html"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.HTML})
    priority: ClassVar[int] = 10

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry  # whose document compressor takes the page's Markdown

    def compress(self, segment: Segment) -> Compressed:
        markdown = html_to_markdown(segment.text).strip("\n") + "\n"
        if not markdown.strip():  # a page of scripts only
            raise CompressorError("no text found in the HTML page: left whole")
        markdown_ref = content_ref(markdown)
        derived = {markdown_ref: markdown}  # what the markers inside cite, stored beside the HTML
        notes: dict[str, int] = {"markdown_chars": len(markdown)}
        registry = self._registry or default_registry()
        shown = markdown
        for kind in (ContentKind.MIXED, ContentKind.PROSE):  # a document compressor, else prose
            document = registry.for_kind(kind)
            if document is None:
                continue
            # Its markers cite the Markdown (lines and all), stored beside the original.
            try:
                shortened = document.compress(Segment(markdown, segment.context, kind, parent_ref=markdown_ref))
            except Exception:  # the page's text goes whole: still far smaller than its HTML
                notes["document_failed"] = 1
            else:
                shown = shortened.text
                notes.update(shortened.notes)
                derived.update(shortened.derived)
            break
        header = marker(_SHOWN_AS_MARKDOWN, segment.ref)
        return Compressed(f"{header}\n{shown}", lossy=True, notes=notes, derived=derived)
