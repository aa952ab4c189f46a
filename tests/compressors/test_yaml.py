"""YAML documents: long lists of alike items cut to their edges, the task's items and those
unlike most, with an index of what was cut; a project's own YAML read by path, documents with
aliases and text the composer refuses stay whole."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from headroom import compress
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.compressors.yaml_data import looks_like_yaml
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext
from tests.factories import assert_lines_under_their_numbers, tool_call_messages


def _pod(n: int) -> str:
    name = "payments-api-7d9f-crash" if n == 41 else f"web-{n:03d}"
    text = (
        f"- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: {name}\n    namespace: shop\n"
        f"    labels:\n      app: web\n      pod-template-hash: 7c5ddbdf54\n"
        f"  spec:\n    containers:\n    - image: registry.example.org/web:1.{n % 4}\n      name: web\n"
        f"      ports:\n      - containerPort: 8080\n        protocol: TCP\n"
        f"  status:\n    phase: Running\n    podIP: 10.1.{n // 200}.{n % 200}\n"
    )
    if n == 77:  # the one pod unlike the others: it carries a reason the others lack
        text += "    reason: Evicted\n    message: 'The node was low on resource: memory.'\n"
    return text


def _listing(pods: int = 120) -> str:
    """`kubectl get pods -o yaml`: a List whose items are pods."""
    return (
        "apiVersion: v1\nitems:\n"
        + "".join(_pod(n) for n in range(pods))
        + "kind: List\nmetadata:\n  resourceVersion: ''\n"
    )


def _run(text: str, query: str = "What is in this listing?", tool: str = "Bash", arguments: str = "") -> Any:
    store = MemoryStore()
    context = SegmentContext(tool_name=tool, tool_arguments=arguments, user_query=query)
    out, report = Pipeline(CompressConfig(), store).compress_text(text, context)
    return out, report, store


def test_yaml_is_sniffed_and_other_key_value_text_is_not() -> None:
    assert detect(_listing()).kind == ContentKind.YAML
    assert looks_like_yaml(_listing()[:4000])
    # `kubectl describe` looks like keys and values but is no YAML the composer reads.
    describe = "Name:         web-000\nNamespace:    shop\nLabels:       app=web\n" + (
        "Containers:\n  web:\n    Image:  web:1.0\n    Ports:  8080/TCP\n    Args:\n      --port: 8080\n"
        "Events:\n  Type    Reason   Age   From     Message\n  ----    ------   ----  ----     -------\n"
        '  Normal  Pulled   2m    kubelet  Container image "web:1.0" already present: pulled\n'
    )
    assert not looks_like_yaml(describe)
    code = "def main():\n    x = {'a': 1}\n    return x\n" * 5
    assert not looks_like_yaml(code)


def test_a_listing_keeps_its_edges_the_odd_item_the_task_s_item_and_names_every_item_it_cut() -> None:
    text = _listing()
    out, report, store = _run(text, query="Why is payments-api-7d9f-crash failing?")
    assert (report.kind, report.compressor) == ("yaml", "yaml")
    assert report.tokens_after < report.tokens_before * 0.35
    for kept in ("web-000", "web-001", "web-002", "web-119", "payments-api-7d9f-crash"):
        assert f"    name: {kept}\n" in out
    assert "message: 'The node was low on resource: memory.'" in out  # the item unlike the others
    assert "    name: web-050\n" not in out
    # Each stretch cut names its pods, and its lines.
    cut = re.search(
        r"\[headroom: (\d+) list items \(metadata\.name: (web-003, web-004, [^)]*)\), lines (\d+)-(\d+)", out
    )
    assert cut is not None and cut.group(2).split(", ")[-1] == "web-040"
    assert int(cut.group(1)) == 38 and cut.group(3) == str(
        text.split("\n").index("    name: web-003") - 2
    )  # its `- apiVersion` line
    assert all(f"web-{n:03d}" in out for n in range(120) if n != 41)
    # The document's own lines stay as they were; what was cut is one ref away.
    assert all(line in text.split("\n") for line in out.split("\n") if "[headroom:" not in line)
    assert report.ref in find_refs(out) and retrieve(store, report.ref).text == text


def test_a_listing_cut_short_is_read_up_to_its_last_item() -> None:
    text = _listing()[:30_000]  # `head -c`: the last pod is cut mid-way
    out, report, _ = _run(text)
    assert report.kind == "yaml" and report.tokens_after < report.tokens_before * 0.35
    assert out.endswith(text[text.rindex("\n- apiVersion") + 1 :])  # the partial item stays as it came


def test_a_numbered_read_keeps_every_kept_line_under_its_number() -> None:
    text = _listing(200)
    lines = text.split("\n")
    numbered = "".join(f"{k + 1:>6}\t{line}\n" for k, line in enumerate(lines[:-1]))
    arguments = {"file_path": "/srv/dump/pods.yaml"}
    messages = tool_call_messages("Which pods are in the dump?", "Read", arguments, numbered)
    out = compress(messages)[-1]["content"]
    assert len(out) < len(numbered) * 0.35
    assert assert_lines_under_their_numbers(out, lines) > 50


def test_a_project_s_own_yaml_read_by_path_stays_whole() -> None:
    workflow = "name: ci\non: [push]\njobs:\n" + "".join(
        f"  job{n}:\n    runs-on: ubuntu-latest\n    steps:\n    - uses: actions/checkout@v4\n    - run: make test{n}\n"
        for n in range(30)
    )
    assert detect(workflow, ".github/workflows/ci.yml").kind == ContentKind.CODE
    out, _, _ = _run(workflow, tool="Read", arguments=json.dumps({"file_path": "/repo/.github/workflows/ci.yml"}))
    assert out == workflow


@pytest.mark.parametrize(
    "text",
    [
        # An alias puts one node in two places: its marks are the anchor's.
        "defaults: &defaults\n  retries: 3\n  timeout: 30\nitems:\n"
        + "".join(f"- name: job{n}\n  settings: *defaults\n  command: run {n} {'x' * 40}\n" for n in range(200)),
        # Short lists: a document's own structure.
        "items:\n" + "".join(f"- name: n{n}\n  value: {'v' * 400}\n" for n in range(11)),
    ],
)
def test_documents_with_nothing_safe_to_cut_pass_whole(text: str) -> None:
    out, report, _ = _run(text)
    assert report.kind == "yaml" and out == text


def test_deterministic() -> None:
    text = _listing()
    assert _run(text)[0] == _run(text)[0]


def test_characters_yaml_counts_as_line_breaks_do_not_shift_the_cuts() -> None:
    # NEL and U+2028 inside quoted names: YAML's marks count them as line breaks, a reader does not.
    names = [f"Zürich\u2028{n}\x85 – Straße" for n in range(60)]
    text = "items:\n" + "".join(f'- name: "{name}"\n  id: {n}\n  zone: eu-{n % 3}\n' for n, name in enumerate(names))
    text += "".join(f"- name: plain-{n}\n  id: {100 + n}\n  zone: us\n" for n in range(60))
    out, report, store = _run(text)
    assert report.compressor == "yaml" and report.tokens_after < report.tokens_before * 0.5
    # Only whole items went: every line left is the document's, each item's three lines together.
    kept = [line for line in out.split("\n") if "[headroom:" not in line]
    assert all(line in text.split("\n") for line in kept)
    assert sum(line.startswith("- name:") for line in kept) * 3 == sum(
        not line.startswith("items") for line in kept if line
    )
    assert "- name: plain-59" in out and "  id: 159" in out  # the last item stays whole
    assert retrieve(store, report.ref).text == text


def test_a_markdown_changelog_of_headings_and_bullets_is_not_yaml() -> None:
    changelog = "".join(
        f"## 1.{n}.0\n\n- Fixed a crash when the parser met an empty file\n- Faster start-up on big projects\n"
        f"- New option to skip hidden files\n\n"
        for n in range(30)
    )
    assert not looks_like_yaml(changelog[:4000]) and detect(changelog).kind != ContentKind.YAML


def test_items_that_are_blocks_of_text_are_cut_without_quoting_them_in_the_marker() -> None:
    settings = "".join(f"  option_{n}: value {n}\n" for n in range(400))  # the head the sniffer reads
    text = (
        "settings:\n"
        + settings
        + "notes:\n"
        + "".join(f"- |\n  Release {n} notes.\n  Fixed item {n}.\n" for n in range(80))
    )
    out, report, _ = _run(text)
    assert report.compressor == "yaml"
    markers = [line for line in out.split("\n") if "[headroom:" in line]
    assert markers and all(re.search(r"\d+ list items, lines \d+-\d+", m) for m in markers), markers
