"""Bad input never raises and never changes content: it passes through with a diagnostic."""

from __future__ import annotations

import base64
import hashlib
import json
import textwrap
from typing import ClassVar

import pytest

from headroom import CompressConfig, Pipeline, compress
from headroom.ccr.base import MemoryStore
from headroom.compressors.base import Compressed, register
from headroom.errors import StoreError
from headroom.routing.detect import detect
from headroom.segments import ContentKind, Segment
from tests.factories import anthropic_request, customer_rows, openai_request


def _pipeline(**config: object) -> Pipeline:
    return Pipeline(CompressConfig(**config), MemoryStore())  # type: ignore[arg-type]


def _tool_content_after(content: str, **config: object) -> tuple[str, tuple[str, ...]]:
    out = compress(openai_request(content)["messages"], pipeline=_pipeline(**config))
    return out[3]["content"], out.stats.diagnostics


def test_invalid_json_that_looks_like_json() -> None:
    broken = json.dumps(customer_rows(100))[:-40] + ', "oops": }'
    content, diagnostics = _tool_content_after(broken)
    assert content == broken
    assert any("does not parse" in d for d in diagnostics)


def test_ten_megabyte_single_line() -> None:
    line = "x7" * 5_000_000
    content, diagnostics = _tool_content_after(line, max_unit_chars=4_000_000)
    assert content is line or content == line
    assert any("exceeds max_unit_chars" in d for d in diagnostics)


def test_binary_content() -> None:
    blob = "".join(chr(i % 32) for i in range(5000)) + "\x00PNG"
    content, diagnostics = _tool_content_after(blob)
    assert content == blob
    assert any("binary" in d for d in diagnostics)


def test_deeply_nested_json() -> None:
    deep = "[" * 5000 + "]" * 5000
    content, diagnostics = _tool_content_after(deep)
    assert content == deep
    assert diagnostics  # too deep for the parser: reported, not raised


def test_unknown_roles_and_shapes() -> None:
    messages = [
        {"role": "narrator", "content": "x" * 3000},
        "not a message",
        {"role": "user", "content": "hi"},
    ]
    out = compress(messages, pipeline=_pipeline())
    assert list(out) == messages
    assert any("unknown role 'narrator'" in d for d in out.stats.diagnostics)
    assert any("not an object" in d for d in out.stats.diagnostics)


@pytest.mark.parametrize("content", ["", None, [], [{"type": "text", "text": ""}]])
def test_empty_content(content: object) -> None:
    messages = [{"role": "tool", "tool_call_id": "c", "content": content}, {"role": "user", "content": "?"}]
    out = compress(messages, pipeline=_pipeline())
    assert list(out) == messages


def test_empty_anthropic_tool_result() -> None:
    request = anthropic_request("")
    out = compress(request["messages"], pipeline=_pipeline())
    assert list(out) == request["messages"]


@register
class _ExplodingCompressor:
    """Registered for the TEXT kind with top priority, only while a test enables it."""

    name: ClassVar[str] = "exploding-test-double"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset()
    priority: ClassVar[int] = 1000

    def compress(self, segment: Segment) -> Compressed:
        raise RuntimeError("boom")


def test_compressor_exception_keeps_original(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_ExplodingCompressor, "kinds", frozenset({ContentKind.JSON}))
    rows = json.dumps(customer_rows(100))
    content, diagnostics = _tool_content_after(rows)
    assert content == rows
    assert any("exploding-test-double failed: RuntimeError: boom" in d for d in diagnostics)


class _BrokenStore(MemoryStore):
    def put(self, ref: str, text: str, meta: dict[str, str] | None = None) -> None:
        raise StoreError("disk full")


def test_unavailable_store_falls_back_to_lossless() -> None:
    rows = customer_rows(800)
    out = compress(openai_request(json.dumps(rows))["messages"], pipeline=Pipeline(CompressConfig(), _BrokenStore()))
    content = json.loads(out[3]["content"])
    assert len(content["rows"]) == 800  # nothing dropped, since nothing could be stored
    assert any("store unavailable" in d for d in out.stats.diagnostics)
    assert out.stats.tokens_after < out.stats.tokens_before  # lossless factoring still applies


@pytest.mark.parametrize("name", [{"a": 1}, ["read"], 5, 3.5, True, None])
@pytest.mark.parametrize("fmt", ["openai", "anthropic", "responses"])
def test_a_tool_name_that_is_not_a_string_still_compresses(name: object, fmt: str) -> None:
    table = json.dumps(customer_rows(200))
    if fmt == "openai":
        call = {"id": "c1", "type": "function", "function": {"name": name, "arguments": "{}"}}
        messages = [
            {"role": "user", "content": "Who is suspended?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": table, "name": name},
        ]
    elif fmt == "anthropic":
        messages = [
            {"role": "user", "content": "Who is suspended?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": name, "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": table}]},
        ]
    else:
        messages = [
            {"type": "function_call", "call_id": "c", "name": name, "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": table},
        ]
    out = compress(messages, pipeline=_pipeline())
    assert out.stats.tokens_after < out.stats.tokens_before / 2


@pytest.mark.parametrize("odd", [{"x": 1}, ["text"], 5])
def test_an_item_or_part_type_that_is_not_a_string_fails_open_for_that_unit_only(odd: object) -> None:
    table = json.dumps(customer_rows(200))
    messages = [
        {"type": odd, "call_id": "x", "output": "odd item"},
        {"type": "function_call", "call_id": "c", "name": "read", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": [{"type": odd, "text": "odd part"}]},
        {"type": "function_call", "call_id": "d", "name": "read", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "d", "output": table},
    ]
    out = compress(messages, pipeline=_pipeline())
    assert out[0] == messages[0] and out[2] == messages[2]  # left as they were
    assert len(out[4]["output"]) < len(table) / 2  # the readable unit still compressed
    chat = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": odd}]},
        {"role": "tool", "tool_call_id": "c", "content": table},
    ]
    assert len(compress(chat, pipeline=_pipeline())[2]["content"]) < len(table) / 2


def test_base64_is_left_alone_but_short_values_made_of_its_letters_are_not_base64() -> None:
    """Base64 (one long line, or lines of 60-76 characters) is left as it is; a TSV of numbers
    and short labels, or a column of numbers, uses the same characters in short lines."""
    blob = base64.b64encode(bytes(range(256)) * 40).decode()
    for text in (blob, "\n".join(textwrap.wrap(blob, 76))):
        assert detect(text).kind == ContentKind.BINARY
    tsv = "id\tvalue\tlabel\n" + "\n".join(f"{i}\t{(i * 37) % 1000}\tab{i % 7}" for i in range(3000))
    assert detect(tsv).kind == ContentKind.TABLE
    assert detect("\n".join(str(i) for i in range(3000))).kind != ContentKind.BINARY
    shas = "\n".join(hashlib.sha1(str(i).encode()).hexdigest() for i in range(300))  # git rev-list
    assert detect(shas).kind != ContentKind.BINARY
