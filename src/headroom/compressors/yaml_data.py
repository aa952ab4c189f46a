"""YAML documents (`kubectl get -o yaml`, an OpenAPI spec, a generated registry such as torch's
`native_functions.yaml`): long lists of alike items cut to their edges, with an index of what
was cut.

YAML data is records: a list's items (`- name: nginx-7c5d…`, `- func: add.Tensor(…)`), a
mapping's entries whose values are collections (an OpenAPI spec's `paths:` by path), a stream's
documents. They are read as the XML compressor reads elements (`_record_runs`): a run of 12 or
more keeps its first members, its last, those unlike most (an item with keys the others lack)
and those the task names; each stretch cut becomes one marker line at the items' indentation
that names how many went, their lines, and the identity of each (a scalar of the item, or of a
mapping in it, whose values tell the items apart: `metadata.name: web-0, web-1, …`). Comment
lines between items go with the stretch they sit in. Only whole lines go.

The structure comes from PyYAML's composer (the libyaml one when built): node marks give every
item's lines; no tag is constructed, so nothing in the document runs. A stream cut short (a Read
with a `limit`, a `head`) is read up to its last top-level line; a page from the middle of a
file, a document with anchors and aliases (one node in two places) and text the composer
refuses pass whole; a flow-style collection (`[a, b]`) is a value like a scalar.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any, ClassVar

from headroom.compressors._record_runs import Record, RecordsCompressor
from headroom.compressors.base import register
from headroom.errors import CompressorError
from headroom.segments import ContentKind

__all__ = ["YamlCompressor", "looks_like_yaml"]

_SNIFF_MIN_LINES = 8
# A YAML line: a key (plain or quoted) and a colon, a list item, a comment, a document marker.
_YAML_LINE = re.compile(
    r"""[ \t]*(?:-(?:[ \t]|$)|#|---|\.\.\.|(?:"[^"\n]*"|'[^'\n]*'|[^\s#:'"{}\[\],][^:\n]*?):(?:[ \t]|$))"""
)
_KEY_LINE = re.compile(r"""[ \t]*(?:- )?(?:"[^"\n]*"|'[^'\n]*'|[^\s#:'"{}\[\],\-][^:\n]*?):(?:[ \t]|$)""")
_TOP_LEVEL = re.compile(rb"^(?:- |[^\s#-])", re.MULTILINE)  # a line at column 0 opening an item or a key


def looks_like_yaml(head: str) -> bool:
    """A YAML document: its lines are keys, list items and comments, some of them nested, and
    the composer reads the head (up to its last line at column 0)."""
    lines = [line for line in head.split("\n")[:-1] if line.strip()]  # the last may be cut
    if len(lines) < _SNIFF_MIN_LINES or lines[0][:1] in (" ", "\t", "{", "["):
        return False
    yaml_lines = sum(1 for line in lines if _YAML_LINE.match(line))
    nested = sum(1 for line in lines if line[:1] in (" ", "-"))
    # Keys, not only bullets and `#` lines: a Markdown changelog's headings and bullets are YAML too.
    keyed = sum(1 for line in lines if _KEY_LINE.match(line))
    if yaml_lines < 0.9 * len(lines) or nested < 0.2 * len(lines) or keyed < 0.3 * len(lines):
        return False
    try:
        yaml = _yaml()
    except CompressorError:
        return False
    try:
        _documents(head.encode("utf-8", "replace"), yaml)
    except (yaml.YAMLError, ValueError, RecursionError):
        return False
    return True


def _yaml() -> Any:
    try:
        import yaml  # a dependency; imported on first use, like the other compressors' parsers
    except ImportError as exc:  # pragma: no cover - installed with the package
        raise CompressorError("PyYAML is not installed") from exc
    return yaml


class _Builder:
    """Records from composed nodes, with byte offsets (marks count characters)."""

    def __init__(self, data: bytes, yaml: Any) -> None:
        self.data = data
        self.yaml = yaml
        # A mark's index counts characters (its line counts YAML's line breaks, NEL and U+2028
        # among them, which are no line breaks to a reader): a character's byte offset is
        # looked up, or is the index itself in an ASCII document.
        self.byte_at: list[int] | None = None
        if not data.isascii():
            self.byte_at = list(accumulate((len(ch.encode("utf-8")) for ch in data.decode("utf-8")), initial=0))
        self.seen: set[int] = set()

    def offset(self, mark: Any) -> int:
        index: int = mark.index
        if self.byte_at is None:
            return min(index, len(self.data))
        return self.byte_at[min(index, len(self.byte_at) - 1)]

    def content_end(self, node: Any) -> int:
        """Just past the node's last character (a block's end mark is the next line's start)."""
        end = self.offset(node.end_mark)
        start = self.offset(node.start_mark)
        while end > start and self.data[end - 1 : end] in (b" ", b"\t", b"\r", b"\n"):
            end -= 1
        return end

    def collection(self, node: Any) -> bool:
        # A flow-style collection (`[a, b]`, `{x: 1}`) is a value on its line, read as a scalar.
        return not isinstance(node, self.yaml.ScalarNode) and not node.flow_style

    def visit(self, node: Any) -> None:
        if id(node) in self.seen:
            raise ValueError("an alias: one node in two places")
        self.seen.add(id(node))

    def groups(self, node: Any) -> list[list[Record]]:
        """The sibling groups under a collection node (visited by the caller): a list's items;
        a mapping's entries whose values are collections."""
        if isinstance(node, self.yaml.SequenceNode):
            return [[self.item(child) for child in node.value]]
        entries: list[Record] = []
        for key, value in node.value:
            self.visit(key)
            if self.collection(value):
                entries.append(self.entry(key, value))
            else:
                self.visit(value)
        return [entries]

    def item(self, node: Any) -> Record:
        self.visit(node)
        start = self.offset(node.start_mark)
        dash = self.data.rfind(b"-", self.data.rfind(b"\n", 0, start) + 1, start)
        signature: tuple[object, ...] = ()
        groups: list[list[Record]] = []
        if self.collection(node):
            if isinstance(node, self.yaml.MappingNode):
                signature = self.signature(node)
                # An item's entries are its fields, not a run: what is under them is.
                for key, value in node.value:
                    self.visit(key)
                    if self.collection(value):
                        self.visit(value)
                        groups.extend(self.groups(value))
                    else:
                        self.visit(value)
            else:
                groups = self.groups(node)
        return Record(
            "item",
            "list items",
            dash if dash >= 0 else start,
            self.content_end(node),
            signature,
            list(self.identity(node)),
            groups,
            whole=dash >= 0,
        )

    def signature(self, mapping: Any) -> tuple[object, ...]:
        """A mapping's keys with the shape of each value: members unlike most of their run stay."""
        return tuple(sorted((str(key.value), self.shape(value)) for key, value in mapping.value))

    def shape(self, node: Any) -> tuple[str, ...]:
        """The keys of a mapping (a pod's `status` with a `reason` the others lack), one level."""
        if isinstance(node, self.yaml.MappingNode):
            return tuple(sorted(str(key.value) for key, _ in node.value))
        return ("[]",) if isinstance(node, self.yaml.SequenceNode) else ()

    def entry(self, key: Any, value: Any) -> Record:
        self.visit(value)
        mapping = isinstance(value, self.yaml.MappingNode)
        return Record(
            "entry",
            "entries",
            self.offset(key.start_mark),
            self.content_end(value),
            self.signature(value) if mapping else (),
            [("key", str(key.value))],
            self.groups(value),
        )

    def identity(self, node: Any) -> Iterator[tuple[str, str]]:
        """Scalars that could name an item: its own value, else its scalar entries, then those
        of the mappings in it (`metadata.name`), in document order."""
        if isinstance(node, self.yaml.ScalarNode):
            if (
                node.value and "\n" not in node.value
            ):  # a block of text names nothing (and would break the marker's line)
                yield "item", str(node.value)
            return
        if not isinstance(node, self.yaml.MappingNode):
            return
        nested: list[tuple[str, str]] = []
        for key, value in node.value:
            if isinstance(value, self.yaml.ScalarNode):
                if value.value and "\n" not in value.value:
                    yield str(key.value), str(value.value)
            elif isinstance(value, self.yaml.MappingNode):
                nested.extend(
                    (f"{key.value}.{k.value}", str(v.value))
                    for k, v in value.value
                    if isinstance(v, self.yaml.ScalarNode) and v.value and "\n" not in v.value
                )
        yield from nested


def _documents(data: bytes, yaml: Any) -> tuple[list[Any], int]:
    """The composed documents of `data` and how many bytes of it they cover. A stream cut short
    (a `head -c`, the head the sniffer reads) is read up to its last whole line, else up to its
    last line at column 0 (an item or a key: a cut inside a block of text or a flow collection);
    the rest is left as it is."""
    try:
        return list(yaml.compose_all(data.decode("utf-8"), Loader=_loader(yaml))), len(data)
    except yaml.YAMLError:
        pass
    tops = [m.start() for m in _TOP_LEVEL.finditer(data)]
    cuts = dict.fromkeys(c for c in (data.rfind(b"\n") + 1, tops[-1] if len(tops) > 1 else 0) if c > 0)
    for covered in cuts:
        try:
            return list(yaml.compose_all(data[:covered].decode("utf-8"), Loader=_loader(yaml))), covered
        except yaml.YAMLError:
            continue
    raise ValueError("not YAML the composer reads")


def _loader(yaml: Any) -> Any:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@register(sniffer=looks_like_yaml, sniff_rank=65)
class YamlCompressor(RecordsCompressor):
    name: ClassVar[str] = "yaml"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.YAML})

    def records(self, data: bytes, text: str) -> list[Record]:
        yaml = _yaml()
        documents, covered = _documents(data, yaml)
        builder = _Builder(data[:covered], yaml)
        top: list[Record] = []
        for root in documents:
            if root is None:
                continue
            builder.visit(root)
            groups = builder.groups(root) if builder.collection(root) else []
            start, end = builder.offset(root.start_mark), builder.content_end(root)
            top.append(
                Record("document", "documents", start, end, identity=list(builder.identity(root)), groups=groups)
            )
        return top

    @staticmethod
    def gap_ok(gap: bytes) -> bool:
        """Between two items: blank lines and comment lines only (a document marker between documents)."""
        return all(not line.strip() or line.lstrip().startswith((b"#", b"---")) for line in gap.split(b"\n"))
