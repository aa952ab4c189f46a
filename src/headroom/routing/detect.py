"""Cheap content sniffers: text -> (ContentKind, language).

Detection looks at a bounded prefix of the text (except JSON, which must parse whole to be
compressed as JSON), so it stays a small fraction of compression time. Format-specific
sniffers live beside their compressors (`looks_like_logs`, ...), registered with them
(`@register(sniffer=..., sniff_rank=...)`), and are asked in rank order.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass

import orjson
from cachetools import LRUCache

from headroom.ccr.markers import has_marker
from headroom.compressors._search_hits import LINE_KEYS, PATH_KEYS, WRAPPER_KEYS
from headroom.compressors._tree_sitter import detect_language, language_from_path, unoutlined_language
from headroom.compressors.base import Registry, default_registry
from headroom.routing.fences import looks_mixed
from headroom.segments import ContentKind

__all__ = ["SNIFF_CHARS", "Detection", "detect", "looks_like_prose", "sniffed_as"]


@dataclass(frozen=True, slots=True)
class Detection:
    kind: ContentKind
    language: str | None = None
    note: str | None = None  # why content that looked compressible is left alone


SNIFF_CHARS = 8_000
# A script or config file is read to be edited and stays whole; one this big (a 600 KB YAML of
# generated definitions, a SQL dump) is data, and takes the route its content shows.
_UNOUTLINED_MAX_CHARS = 100_000
_EDITED_DATA_MAX_CHARS = 48_000  # ~12k tokens: a project's own pom.xml or values.yaml, not a data file
_DATA_FORMATS = frozenset({ContentKind.XML, ContentKind.YAML})
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")  # control characters but \t \n \v \f \r
# An INI / TOML section header ("[build-system]", "[console_scripts]") opens the text: not JSON
# that failed to parse, so no such note. (`[true]`, `[null]` are JSON and parse first.)
_SECTION_HEADER = re.compile(r"\[[A-Za-z_][\w.\- \"]*\][ \t]*\r?\n")
_BASE64_RUN = re.compile(r"^[A-Za-z0-9+/=\s]{512,}$")
_BASE64_LINE_CHARS = 40
_HEX_ONLY = re.compile(r"[0-9a-fA-F\s]+")
# Letters of any script (Russian, Greek, Japanese prose is prose too); CJK sentences end in
# full-width stops with no space after.
_PROSE_WORD = re.compile(r"[^\W\d_]{2,}")
# A line of tags (not an autolink, `<https://...>`); a README's HTML banner comes with headings.
_MARKUP_LINE = re.compile(r"^[ \t]*<(?:[/!?]|[A-Za-z][\w.-]*(?::[\w.-]+)?[\s/>])[^\n]*>[ \t]*\r?$", re.MULTILINE)
# `KEY = "value"`, `key=value`, `net.ipv4.ip_forward = 0`: a key of one word and an equals sign.
_ASSIGNMENT_LINE = re.compile(r"^[ \t]*[A-Za-z_][\w.-]*[ \t]*=", re.MULTILINE)
_ATX_HEADING = re.compile(r"^#{1,6} \S", re.MULTILINE)  # not a setext rule: YAML opens with `---`
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+\S", re.MULTILINE)
_MARKDOWN_HEADING = re.compile(r"^#{1,6} \S|^[=-]{3,}[ \t]*\r?$", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?(?:\s|$)|[。！？]")
_PROSE_LETTERS = 0.55  # share of a prose head that is letters (the rest: spaces, punctuation)
_WIDE_SCRIPTS = re.compile(r"[\u1100-\u11ff\u2e80-\ua4cf\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
# A test runner's report (pytest, tox): each section opens with a title set in a rule of `=`,
# `_` or `-` ("===== FAILURES =====", "____ test_parity[3] ____"). The failures inside quote
# source lines, which the language guess would take for code; the report is events (logs).
_SECTION_RULE = re.compile(r"^([=_-])\1{4,} (?=[^\n]*[A-Za-z])\S.{0,150}\S \1{5,}$", re.MULTILINE)


# Extensions of pages and page templates (anywhere in the name: `base.html.j2`, `index.hbs`).
_PAGE_SUFFIXES = frozenset(
    "html htm xhtml shtml j2 jinja jinja2 erb ejs hbs handlebars mustache twig jsp cshtml razor astro vue svelte "
    "liquid njk tmpl tpl php".split()
)


# Where installed packages and the system's files live: an agent reads them (a library's
# source, its HTML docs, a vendored YAML schema) but its edits go to the project.
_INSTALLED = re.compile(
    r"/(?:site-packages|dist-packages|node_modules|\.cargo/registry|\.rustup/toolchains|go/pkg/mod|\.m2/repository)/"
    r"|^/usr/(?:share|lib|lib64|local/lib)/"
)


# A document by its name: a head of HTML tables (a Node.js CHANGELOG.md's index of releases) or of
# link lists reads as no prose, but what follows is its text.
_DOCUMENT_SUFFIXES = frozenset({"md", "markdown", "mdx", "rst", "adoc", "asciidoc"})


def _is_document_file(path: str | None) -> bool:
    if not path:
        return False
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return "." in name and name.rsplit(".", 1)[1].lower() in _DOCUMENT_SUFFIXES


def _is_page_file(path: str | None) -> bool:
    if not path:
        return False
    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return any(part in _PAGE_SUFFIXES for part in name.split(".")[1:])


def _is_binary(head: str) -> bool:
    if "\x00" in head:
        return True
    controls = len(_CONTROL_CHARS.findall(head))  # in the regex engine: no per-character loop
    if controls > len(head) // 20:
        return True
    if not _BASE64_RUN.match(head) or " " in head.strip()[:512] or "\t" in head or _HEX_ONLY.fullmatch(head):
        return False  # hex alone is digests (`git rev-list`, sha256sums), not base64
    # Base64 comes in one long line or lines of 60-76 characters; a column of numbers or a
    # TSV of short values (`1\t348\tab1`) is made of the same characters, in short lines.
    lines = head.count("\n") + 1
    return len(head) >= _BASE64_LINE_CHARS * lines


def _is_search_hits(value: object) -> bool:
    """A list of hit objects (path + line number), bare or in a {"results": [...]} wrapper."""
    if isinstance(value, dict):
        value = next((value[k] for k in WRAPPER_KEYS if isinstance(value.get(k), list)), None)
    if not isinstance(value, list) or len(value) < 3 or not all(isinstance(v, dict) for v in value[:20]):
        return False
    first = value[0]
    return any(k in first for k in PATH_KEYS) and any(k in first for k in LINE_KEYS)


def looks_like_prose(head: str) -> bool:
    """Whether `head` (the first `SNIFF_CHARS` of a text) reads as sentences: words, mostly
    letters, at least three sentence ends; not markup and not `key = value` settings."""
    words = _PROSE_WORD.findall(head)
    if len(words) < 30:
        return False
    lines = [line for line in head.split("\n") if line.strip()]
    if len(_MARKUP_LINE.findall(head)) * 3 >= len(lines) and not _MARKDOWN_HEADING.search(head):
        return False  # XML (an export, a registry): its comments read as sentences, its tags do not
    if len(_ASSIGNMENT_LINE.findall(head)) * 2 >= len(lines):
        return False  # settings (`sysctl -a`, `python -m sysconfig`, `git config -l`): each line a key
    if len(_SENTENCE_END.findall(head)) < 3 and not _markdown_lists(head, lines):
        return False
    letters = sum(len(w) for w in words)
    if letters > _PROSE_LETTERS * len(head):
        return True
    # Chinese, Japanese and Korean: a character is a syllable or a word, and takes two columns
    # (with its full-width punctuation); counted by width, their prose has the letter share of
    # any other (vim's tutor: 0.49-0.53 by characters, 0.56-0.67 by width; European ones 0.55-0.63).
    if _WIDE_SCRIPTS.search(head) is None:
        return False
    return sum(_width(c) for w in words for c in w) > _PROSE_LETTERS * sum(_width(c) for c in head)


def _markdown_lists(head: str, lines: list[str]) -> bool:
    """A document of lists under headings: a CHANGELOG.md's `## Release v2.6.30` over
    `* Add CPython 3.15.0b1 by @jsirois in https://...`, a Debian changelog's entries
    (`linux (6.1.187-1) bookworm-security; urgency=high` over `  * New upstream ...` and its
    `    - ...` items). Its items are its sentences, with no full stop to end them. Under a
    markdown heading a third of the lines are enough; with none, half."""
    if len(lines) < 5:
        return False
    share = 3 if _ATX_HEADING.search(head) else 2
    return len(_LIST_ITEM.findall(head)) * share >= len(lines)


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _read_to_edit(kind: ContentKind, file_path: str | None, unoutlined: str | None, size: int) -> str | None:
    """The language a file of `kind` read by path is left whole as, being a project's own, read
    to be edited: a page or template (`index.html`, a Jinja `base.html.j2`) up to 100 KB, an
    XML or YAML file (a pom.xml, a .csproj, a CI workflow, a Helm chart's values) up to 48 KB.
    A bigger one is generated data, and a page saved under another name (Claude Code's
    `tool-results/…txt` of a curl) is data too: both compressed. So is a file of an installed
    package or the system's docs (`site-packages/`, `node_modules/`, `/usr/share/doc/`): read
    to be understood, never edited. None for any other file."""
    if file_path and _INSTALLED.search(file_path.replace("\\", "/")):
        return None
    if kind == ContentKind.HTML:
        return "html" if _is_page_file(file_path) and size <= _UNOUTLINED_MAX_CHARS else None
    if kind in _DATA_FORMATS and size <= _EDITED_DATA_MAX_CHARS:
        return unoutlined
    return None


def sniffed_as(kind: ContentKind, text: str, registry: Registry | None = None) -> bool:
    """Whether a sniffer of `kind` takes `text`: `detect` gives a sniffed kind only then, so
    a caller that only wants to know "is it `kind`?" can stop here when it is not."""
    head = text[:SNIFF_CHARS]
    return any(sniffer(head) for found, sniffer in (registry or default_registry()).sniffers() if found == kind)


# The last few detections, by text digest: a request's walk asks for a unit's kind (does its
# kind keep a history?) just before the unit's compression asks again.
_RECENT: LRUCache[tuple[bytes, str | None, Registry], Detection] = LRUCache(maxsize=64)
_RECENT_LOCK = threading.Lock()  # cachetools caches are not thread-safe


def detect(text: str, file_path: str | None = None, registry: Registry | None = None) -> Detection:
    """The kind of `text` and, for code, its language. The sniffers are those of the compressors
    in `registry` (default: every registered one), in their rank order."""
    registry = registry or default_registry()  # rebuilt when a compressor registers: a new key
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    key = (digest, file_path, registry)
    with _RECENT_LOCK:
        found = _RECENT.get(key)
    if found is None:
        found = _detect(text, file_path, registry)
        with _RECENT_LOCK:
            _RECENT[key] = found
    return found


def _detect(text: str, file_path: str | None, registry: Registry) -> Detection:
    head = text[:SNIFF_CHARS]
    stripped = head.lstrip()
    if has_marker(head):
        return Detection(ContentKind.COMPRESSED, note="already carries headroom markers")
    if _is_binary(head):
        return Detection(ContentKind.BINARY, note="binary or base64 content left untouched")
    note = None
    if stripped[:1] in ("{", "["):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if not _SECTION_HEADER.match(stripped):
                note = f"looks like JSON but does not parse ({str(exc)[:80]})"
        else:
            if isinstance(value, (dict, list)):
                return Detection(ContentKind.SEARCH if _is_search_hits(value) else ContentKind.JSON)
    # A path naming a source file settles it (after the line formats a tool writes: grep's
    # `path:line:`, a diff, a log); otherwise fenced blocks mean a document with code in it
    # (markdown), and only then do content heuristics guess a language. A path without a
    # source extension (METADATA, notes.txt) settles nothing before the fences.
    language = language_from_path(file_path)
    unoutlined = unoutlined_language(file_path) if len(text) <= _UNOUTLINED_MAX_CHARS else None
    sniffers = registry.sniffers()
    for index, (kind, sniffer) in enumerate(sniffers):
        if kind == ContentKind.TABLE and (language or unoutlined):
            # Columns lined up in a source or config file (`KEY    = value`) are still that file,
            # so the table sniffer (costly on code: its every block is tried as columns) only has
            # a say when a later sniffer would take the text.
            if not any(later(head) for _, later in sniffers[index + 1 :]) or sniffer(head):
                break
            continue
        if kind == ContentKind.REPEATS and (language or unoutlined):
            continue  # a source or config file read by path is that file, however it repeats itself
        edited = _read_to_edit(kind, file_path, unoutlined, len(text))
        if edited and sniffer(head):
            name = kind.value.upper()
            return Detection(ContentKind.CODE, edited, f"{name} file read by path: left whole to be edited")
        if sniffer(head):
            # A build's warnings, then the tests it built ran (`cargo test`): a test run, whose
            # compressor takes the build's part as diagnostics. A run ends with its totals.
            tail = text[-SNIFF_CHARS:] if kind == ContentKind.DIAGNOSTICS and len(text) > SNIFF_CHARS else ""
            if tail and sniffed_as(ContentKind.TEST_REPORT, tail, registry):
                return Detection(ContentKind.TEST_REPORT)
            return Detection(kind)  # NDJSON logs, ripgrep --json: not broken JSON after all
    if language:
        return Detection(ContentKind.CODE, language, note)
    if unoutlined:
        return Detection(ContentKind.CODE, unoutlined, f"{unoutlined} file: no outline for it, left whole")
    if looks_mixed(text):  # fences may close far beyond the sniffed head
        return Detection(ContentKind.MIXED, note=note)
    if len(_SECTION_RULE.findall(head)) >= 2:
        return Detection(ContentKind.LOGS, note=note)
    language = detect_language(head, file_path)  # None for a path naming a non-code file (.md, .yaml)
    if language:
        return Detection(ContentKind.CODE, language, note)
    if looks_like_prose(head) or (_is_document_file(file_path) and _PROSE_WORD.search(head)):
        return Detection(ContentKind.PROSE, note=note)
    return Detection(ContentKind.TEXT, note=note)
