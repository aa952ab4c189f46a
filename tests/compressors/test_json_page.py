"""A page of a pretty-printed JSON file: its complete records crushed as JSON, the rest verbatim."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import orjson
import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.compressors._embedding import get_encoder
from headroom.envelopes import open_envelope
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext
from tests.factories import customer_rows, numbered_lines
from tests.spies import record_calls


def _page(first: int, count: int) -> str:
    """Lines first..first+count-1 of customers.json as Claude Code's Read shows them."""
    lines = json.dumps(customer_rows(300), indent=2).split("\n")
    return "\n".join(f"{n}\t{lines[n - 1]}" for n in range(first, first + count))


def _compress(text: str) -> tuple[str, MemoryStore, float]:
    store = MemoryStore()
    context = SegmentContext("Read", '{"file_path": "/data/customers.json", "offset": 1000, "limit": 1500}')
    out, report = Pipeline(CompressConfig(), store).compress_text(text, context)
    return out, store, report.tokens_after / report.tokens_before


def test_a_page_starting_and_ending_mid_record_compresses_its_whole_records() -> None:
    page = _page(1005, 1500)
    assert detect(open_envelope(page).body).kind == ContentKind.JSON_PAGE
    out, store, ratio = _compress(page)
    assert ratio < 0.5
    shown = page.split("\n")
    out_lines = out.split("\n")
    # The partial records around the whole ones stay as they were, numbers and all.
    assert out_lines[0] == shown[0] and out_lines[-1] == shown[-1]
    compact = next(line for line in out_lines if line.startswith("{"))
    crushed = orjson.loads(compact)  # valid JSON with only original values
    assert "suspended" in compact and isinstance(crushed, dict)
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == page
    assert retrieve(store, ref, lines="1100-1101").text.split("\n")[0].startswith("1100\t")


def test_a_page_with_no_whole_record_goes_to_the_prose_compressor() -> None:
    fields = [f'    "field_{i}": "value number {i} of a long record, which goes on and on.",' for i in range(60)]
    text = "\n".join([*fields, "  },"])
    out, _, _ = _compress(text)
    assert detect(text).kind == ContentKind.JSON_PAGE
    assert all(line in text.split("\n") or "[headroom:" in line or "…" in line for line in out.split("\n"))


def _bom(n: int) -> dict[str, Any]:
    """A software bill of materials: a root object whose records sit in `"components": [...]`."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"timestamp": "2026-01-02T03:04:05Z", "tools": [{"vendor": "CycloneDX", "name": "cargo"}]},
        "components": [
            {
                "type": "library",
                "bom-ref": f"registry+https://example.org/index#crate-{i}@0.{i}.1",
                "name": f"crate-{i}",
                "version": f"0.{i}.1",
                "scope": "required",
                "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(str(i).encode()).hexdigest()}],
                "licenses": [{"expression": "MIT OR Apache-2.0"}],
                "purl": f"pkg:cargo/crate-{i}@0.{i}.1",
            }
            for i in range(n)
        ],
    }


def _lockfile(n: int) -> dict[str, Any]:
    """npm's lockfile: `"packages"` maps install paths to similar records."""
    return {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {
            f"node_modules/pkg-{i:03d}": {
                "version": f"2.{i % 5}.{i}",
                "resolved": f"https://registry.example.org/pkg-{i:03d}/-/pkg-{i:03d}-2.{i % 5}.{i}.tgz",
                "integrity": "sha512-" + base64.b64encode(hashlib.sha512(str(i).encode()).digest()).decode(),
                "dev": True,
                "license": "MIT",
                **({"dependencies": {f"pkg-{i + 1:03d}": "^2.0.0"}} if i % 4 == 0 else {}),
            }
            for i in range(n)
        },
    }


def _read(document: Any, first: int, count: int) -> tuple[str, list[str]]:
    """Lines first..first+count-1 of the pretty-printed document as Claude Code's Read shows them,
    and the file's lines."""
    lines = json.dumps(document, indent=2).split("\n")
    shown = "\n".join(f"{n:>6}\t{lines[n - 1]}" for n in range(first, min(first + count, len(lines) + 1)))
    return shown, lines


def _compacted_lines(out: str) -> set[int]:
    """The line numbers the compacted runs' markers name."""
    spans = re.findall(r"lines (\d+)-(\d+): \d+ records", out)
    return {n for first, last in spans for n in range(int(first), int(last) + 1)}


def test_records_nested_in_a_document_are_compacted_and_its_frame_kept_with_numbers() -> None:
    page, lines = _read(_bom(60), 1, 700)  # from the top, cut inside a component
    assert detect(open_envelope(page).body).kind == ContentKind.JSON_PAGE
    out, store, ratio = _compress(page)
    assert ratio < 0.6
    numbered = numbered_lines(out)
    assert numbered[1] == "{" and numbered[2] == '  "bomFormat": "CycloneDX",'
    assert all(lines[n - 1] == text for n, text in numbered.items())  # every kept line keeps its own number
    assert numbered[700] == lines[699]  # the partial record at the end stays, numbered
    assert set(numbered) == set(range(1, 701)) - _compacted_lines(out)
    (compact,) = [line for line in out.split("\n") if line.startswith("{") and "table of" in line]
    table = orjson.loads(compact)
    assert table["constant"]["type"] == "library"
    (ref,) = set(find_refs(out))
    assert retrieve(store, ref).text == page


def test_a_page_of_an_object_of_records_keyed_by_name_becomes_a_keyed_table() -> None:
    page, lines = _read(_lockfile(150), 40, 900)
    out, store, ratio = _compress(page)
    assert ratio < 0.5
    marker_line = next(line for line in out.split("\n") if "members of an object" in line)
    span = re.search(r"lines (\d+)-(\d+)", marker_line)
    assert span is not None
    first, last = int(span[1]), int(span[2])
    assert lines[first - 1].strip().startswith('"node_modules/') and lines[last - 1].strip() in ("}", "},")
    compact = next(line for line in out.split("\n") if line.startswith('{"_headroom"'))
    table = orjson.loads(compact)
    assert table["keyed"] == "key"
    shown = {row[table["columns"].index("key")] for row in table["rows"]}
    listed = {row[table["other_rows"]["columns"].index("key")] for row in table["other_rows"]["rows"]}
    in_range = {line.strip().split('"')[1] for line in lines[first - 1 : last] if line.startswith('    "node_modules/')}
    assert shown | listed == in_range  # every member of the run is named
    numbered = numbered_lines(out)
    assert all(lines[n - 1] == text for n, text in numbered.items())
    assert set(numbered) == set(range(40, 940)) - _compacted_lines(out)
    (ref,) = set(find_refs(out))
    assert retrieve(store, ref).text == page


def test_a_codex_exec_command_page_is_compacted_behind_its_header() -> None:
    body = "\n".join(json.dumps(_lockfile(80), indent=2).split("\n")[25:500])
    header = (
        "Chunk ID: 3f9a1c\nWall time: 0.8731 seconds\nProcess exited with code 0\nOriginal token count: 9000\nOutput:\n"
    )
    out, store, ratio = _compress(header + body)
    assert out.startswith(header) and ratio < 0.6
    assert "members of an object" in out
    (ref,) = set(find_refs(out))
    assert retrieve(store, ref).text == header + body


def test_a_partial_record_at_the_edge_stays_verbatim_even_with_similar_nested_objects() -> None:
    record = [
        '    "node_modules/tail": {',
        '      "version": "1.0.0",',
        '      "dependencies": {',
        '        "a": "^1.0.0",',
        '        "b": "^2.0.0"',
        "      },",
        '      "peerDependencies": {',
        '        "a": "^1.0.0",',
        '        "b": "^2.0.0"',
        "      },",
    ]
    head = json.dumps(_lockfile(3), indent=2).split("\n")[:-3]  # up to the last record's end
    head[-1] += ","
    text = "\n".join([*head, *record])
    out, _, _ = _compress(text)
    assert out.split("\n")[-len(record) :] == record


def test_a_page_of_many_small_runs_pays_for_two_passes_of_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issues grouped by label, each group a run of its own with long bodies: the first runs'
    bodies are weighed by the prose model, the rest by their keywords (a pass each was ~30 ms:
    3.4 s for a 50k-token page). Every run is still compacted and every body shortened."""
    encoder = get_encoder()
    if encoder is None:
        pytest.skip("the prose model is not installed")
    passes = record_calls(monkeypatch, encoder, "embed")
    body = " ".join(
        f"Step {k}: the {what} fails when the cache is cold and the worker restarts during the upload."
        for k, what in enumerate(["build", "deploy", "backup", "sync", "import", "export"] * 2)
    )
    groups = {
        f"label-{g}": [{"id": g * 10 + k, "title": f"issue {g}-{k} on windows", "body": body} for k in range(3)]
        for g in range(20)
    }
    lines = json.dumps(groups, indent=2).split("\n")
    page = "\n".join(f"{n}\t{line}" for n, line in enumerate(lines[2:-2], 3))  # mid-document
    out, store, ratio = _compress(page)
    assert ratio < 0.5
    assert len(passes) <= 2
    assert out.count("records (elements of an array), compacted below") >= 18
    (ref,) = set(find_refs(out))
    assert retrieve(store, ref).text == page


def test_json_after_a_score_of_stderr_lines_is_still_json() -> None:
    """`npm ls --all --json 2>&1`: npm writes its `npm error ...` lines before the document.
    However many there are, the JSON after them is crushed; they stay verbatim."""
    stderr = [f"npm error missing: pkg{k}@^1.{k}.0, required by app@1.0.0" for k in range(30)]
    document = json.dumps({"dependencies": {f"pkg{k}": {"version": f"1.{k}.0"} for k in range(300)}}, indent=2)
    text = "\n".join([*stderr, document, "npm error A complete log of this run can be found in: /root/.npm/x.log", ""])
    assert detect(text).kind == ContentKind.JSON_PAGE
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(
        text, SegmentContext("Bash", None, "what is missing?")
    )
    assert report.tokens_after < 0.7 * report.tokens_before  # 300 records as one table
    assert out.startswith("\n".join(stderr) + "\n")
    for ref in find_refs(out):
        assert retrieve(store, ref).text == text
