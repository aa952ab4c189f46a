"""Property-based fuzzing of the library's entry points: nothing raises, nothing is lost.

Bounded: a fixed number of examples per property and no deadline (a busy machine is slow, not
wrong). What must hold for *any* input:
- `compress` / `compress_request` never raise and return a request of the same shape;
- output is deterministic (same input, same bytes) and never longer in tokens than the input;
- every ref in the output retrieves exactly the unit it was issued for;
- `retrieve` never raises, whatever ref, query or lines it is given;
- an envelope opened and closed around an unchanged body gives back the exact input.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom import CompressConfig, Pipeline, compress, compress_request
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.envelopes import open_envelope
from headroom.segments import content_ref
from tests.factories import customer_rows

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

_LOG_LINE = st.builds(
    "{:02d}:{:02d}:{:02d} {} {} {}".format,
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["INFO", "WARN", "ERROR", "DEBUG"]),
    st.sampled_from(["worker", "api", "db"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
)


@st.composite
def tool_texts(draw: st.DrawFn) -> str:
    """Tool outputs of every shape: logs, JSON, CSV, XML, YAML, numbered reads, Codex headers, junk."""
    kind = draw(st.sampled_from(["log", "json", "csv", "xml", "yaml", "junk", "text"]))
    if kind == "log":
        body = "\n".join(draw(st.lists(_LOG_LINE, min_size=20, max_size=120)))
    elif kind == "json":
        rows = customer_rows(draw(st.integers(1, 120)))
        body = json.dumps(rows, indent=draw(st.sampled_from([None, 2])))
    elif kind == "csv":
        n = draw(st.integers(5, 150))
        body = "id,name,state,amount\n" + "\n".join(f"{i},user{i},{'ok' if i % 9 else 'bad'},{i * 3}" for i in range(n))
    elif kind == "xml":  # records with odd text, sometimes cut short
        words = draw(
            st.lists(
                st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
                min_size=12,
                max_size=80,
            )
        )
        items = "".join(
            f'  <item id="{i}" name={quoteattr(w)}><v>{escape(w)}</v></item>\n' for i, w in enumerate(words)
        )
        body = f'<?xml version="1.0"?>\n<list>\n{items}</list>\n' * draw(st.integers(1, 4))
        body = body[: draw(st.integers(len(body) // 2, len(body)))]
    elif kind == "yaml":  # a listing with odd scalars, sometimes cut short
        words = draw(
            st.lists(
                st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
                min_size=12,
                max_size=80,
            )
        )
        body = (
            "items:\n"
            + "".join(
                f"- name: {json.dumps(w, ensure_ascii=False)}\n  n: {i}\n  tags: [a, b]\n" for i, w in enumerate(words)
            )
            * 3
        )
        body = body[: draw(st.integers(len(body) // 2, len(body)))]
    elif kind == "junk":
        body = draw(st.text(max_size=3000))
    else:
        body = " ".join(draw(st.lists(st.text(min_size=1, max_size=12), min_size=50, max_size=600)))
    wrap = draw(st.sampled_from(["bare", "numbered", "codex", "reminder"]))
    if wrap == "numbered":
        start = draw(st.integers(1, 5000))
        body = "\n".join(f"{n}\t{line}" for n, line in enumerate(body.split("\n"), start))
    elif wrap == "codex":
        body = "Chunk ID: ab12\nWall time: 0.01 seconds\nProcess exited with code 0\nOutput:\n" + body
    elif wrap == "reminder":
        body += "\n\n<system-reminder>\nBe careful.\n</system-reminder>\n"
    return body


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Requests in the three wire formats, sometimes with odd shapes mixed in."""
    fmt = draw(st.sampled_from(["openai", "anthropic", "responses"]))
    outputs = draw(st.lists(tool_texts(), min_size=1, max_size=3))
    odd = draw(st.sampled_from([None, 5, {"x": 1}, ["a"], "", "name"]))
    if fmt == "openai":
        messages: list[Any] = [{"role": "user", "content": "what failed?"}]
        for i, out in enumerate(outputs):
            call = {"id": f"c{i}", "type": "function", "function": {"name": odd or "read", "arguments": "{}"}}
            messages += [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": f"c{i}", "content": out},
            ]
        return fmt, {"model": "gpt-4o", "messages": [*messages, {"role": "user", "content": "go on"}]}
    if fmt == "anthropic":
        messages = [{"role": "user", "content": "what failed?"}]
        for i, out in enumerate(outputs):
            use = {"type": "tool_use", "id": f"t{i}", "name": odd or "Read", "input": {"file_path": "/x"}}
            messages += [
                {"role": "assistant", "content": [use]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": out}]},
            ]
        return fmt, {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": messages}
    items: list[Any] = [{"role": "user", "content": "what failed?"}]
    for i, out in enumerate(outputs):
        items += [
            {"type": "function_call", "call_id": f"c{i}", "name": odd or "exec_command", "arguments": "{}"},
            {"type": "function_call_output", "call_id": f"c{i}", "output": out},
        ]
    return fmt, {"model": "gpt-5", "input": items}


@FUZZ
@given(requests())
def test_compress_request_never_raises_and_loses_nothing(case: tuple[str, dict[str, Any]]) -> None:
    fmt, request = case
    store = MemoryStore()
    pipeline = Pipeline(CompressConfig(), store)
    result = compress_request(request, fmt, pipeline=pipeline)
    again = compress_request(request, fmt, pipeline=Pipeline(CompressConfig(), MemoryStore()))
    assert json.dumps(result.request, sort_keys=True) == json.dumps(again.request, sort_keys=True)
    assert result.stats.tokens_after <= result.stats.tokens_before
    key = "messages" if "messages" in request else "input"
    assert len(result.request[key]) == len(request[key])
    originals = json.dumps(request)
    for ref in find_refs(json.dumps(result.request)):
        found = retrieve(store, ref)
        assert found.found and json.dumps(found.text)[1:-1] in originals


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=50),
            st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        ),
        max_size=6,
    )
)
def test_compress_of_odd_message_lists_never_raises(messages: list[Any]) -> None:
    out = compress(messages, pipeline=Pipeline(CompressConfig(), MemoryStore()))
    assert len(out) == len(messages)


@FUZZ
@given(
    st.one_of(st.text(max_size=40), st.integers(), st.none()),
    st.one_of(st.none(), st.text(max_size=30), st.integers(), st.lists(st.integers(), max_size=3)),
    st.one_of(
        st.none(), st.text(max_size=30), st.integers(), st.floats(allow_nan=True), st.lists(st.integers(), max_size=3)
    ),
)
def test_retrieve_never_raises(ref: Any, query: Any, lines: Any) -> None:
    store = MemoryStore()
    text = "\n".join(f"line {i}" for i in range(40))
    stored = content_ref(text)
    store.put(stored, text)
    for candidate in (ref, stored):
        result = retrieve(store, candidate, query=query, lines=lines)
        assert isinstance(result.message, str)


@FUZZ
@given(tool_texts())
def test_an_envelope_closed_around_its_own_body_is_the_input(text: str) -> None:
    """... but for the terminal codes it took out of the body, which leave every line in place."""
    envelope = open_envelope(text)
    closed = envelope.close(envelope.body)
    if envelope.terminal_codes:
        assert closed.count("\n") == text.count("\n") and len(closed) < len(text)
        return
    assert closed == text
    assert envelope.head + envelope.numbered_body() + envelope.tail == text
