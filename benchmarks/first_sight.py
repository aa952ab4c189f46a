"""First-sight latency: a new ~50k-token tool result of each kind, compressed with every cache cold.

Inputs are built at run time from real data, never copied into the repository: the shared
benchmark cases in `../shared/bench/cases/` (GitHub issue JSON with long bodies, loghub logs,
retrieved doc passages, API rows; see `../shared/bench/README.md`) and the Python standard
library on disk (a source file, and the reference docs in `pydoc_data/topics.py`). Each kind is
also sent in the envelope Claude Code's Read uses: every line prefixed by its number and a tab,
padded (`     1\\t...`) and bare (`1\\t...`).

Each repeat uses a fresh `Pipeline` and store, and empties every content-keyed cache first (the
embedding cache, `count_tokens`' lru_cache, any other functools cache in headroom except the
ones that only hold loaded resources such as parsers), so the time is what a never-seen tool
result costs in a warm process. `--busy` repeats the measurement while a separate process keeps
one of the cores busy (it stops itself after `--busy-seconds` or when this process is gone).
Savings, needle visibility (needles of the source cases that are in the input) and determinism
(same bytes on every repeat) are reported beside the times, so a speed-up cannot silently trade
away quality. Prints a markdown section on stdout; progress goes to stderr.

    .venv/bin/python benchmarks/first_sight.py --busy >> docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import pydoc
import re
import statistics
import subprocess
import sys
import sysconfig
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import SegmentContext
from headroom.tokens import count_tokens

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = ROOT.parent / "shared" / "bench" / "cases"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
TARGET_P99_MS = 250.0

# functools caches that hold loaded resources (parsers, modules, the default store), not
# anything derived from content: keeping them warm is what a running process has.
_RESOURCE_CACHES = frozenset({"get_parser", "_loaders", "_load_once", "default_store", "default_pipeline"})


@dataclass
class Input:
    name: str
    text: str
    context: SegmentContext
    needles: list[str]


@dataclass
class Measure:
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # CPU time of this process (all its threads)
    outputs: set[str] = field(default_factory=set)
    tokens_before: int = 0
    tokens_after: int = 0
    kind: str = ""
    compressor: str = ""
    visible: int = 0
    recoverable: int = 0


# -- real data --------------------------------------------------------------------------------


def _load_cases(directory: Path, prefix: str) -> list[dict[str, Any]]:
    return [orjson.loads(p.read_bytes()) for p in sorted(directory.glob(f"{prefix}*.json"))]


def _tool_outputs(case: dict[str, Any]) -> list[str]:
    return [m["content"] for m in case["openai"]["messages"] if m["role"] == "tool"]


def _first_call(case: dict[str, Any]) -> tuple[str, str, str]:
    """(task, tool name, tool arguments) of the case's first tool call."""
    messages = case["openai"]["messages"]
    task = next(m["content"] for m in messages if m["role"] == "user")
    call = next(c for m in messages for c in m.get("tool_calls") or [])
    return task, call["function"]["name"], call["function"]["arguments"]


def _fit(render: Callable[[int], str], count: int, tokens: int) -> str:
    """The longest render(n), n <= count, within `tokens` tokens (binary search on n)."""
    lo, hi = 1, count
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(render(mid)) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return render(lo)


def _numbered(text: str, padded: bool) -> str:
    lines = text.split("\n")
    if padded:
        return "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(lines, 1))
    return "\n".join(f"{i}\t{line}" for i, line in enumerate(lines, 1))


_LINE_NUMBER = re.compile(r"^ *\d+\t", re.MULTILINE)


def _present(needles: Sequence[str], text: str) -> list[str]:
    """The needles the input holds, not counting a read's line numbers (an issue number "62"
    is not in a text because it has a line 62)."""
    body = _LINE_NUMBER.sub("", text)
    return list(dict.fromkeys(n for n in needles if n in body))


def _topic_passages() -> list[dict[str, Any]]:
    """Paragraphs of the Python reference shipped with the stdlib, merged to >= 400 chars, in
    the doc_qa cases' passage shape."""
    path = STDLIB / "pydoc_data" / "topics.py"
    namespace: dict[str, Any] = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # a plain dict literal
    passages: list[dict[str, Any]] = []
    for topic, body in sorted(namespace["topics"].items()):
        title = body.strip().split("\n", 1)[0].strip()
        buffer = ""
        for paragraph in body.split("\n\n"):
            buffer = f"{buffer}\n\n{paragraph}" if buffer else paragraph
            if len(buffer) >= 400:
                passages.append({"doc": f"python-3.11-reference/{topic}", "section": title, "passage": buffer.strip()})
                buffer = ""
    return passages


def _topics_markdown() -> list[str]:
    """The Python reference shipped with the stdlib as one markdown document: a `##` heading per
    topic, its paragraphs, and each indented example as a fenced block (a README or docs page
    read whole: prose between code blocks)."""
    path = STDLIB / "pydoc_data" / "topics.py"
    namespace: dict[str, Any] = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    lines: list[str] = []
    for _topic, body in sorted(namespace["topics"].items()):
        paragraphs = body.strip().split("\n\n")
        lines += [f"## {paragraphs[0].strip()}", ""]
        for paragraph in paragraphs[1:]:
            rows = paragraph.split("\n")
            if all(row.startswith("   ") or not row.strip() for row in rows):
                lines += ["```python", *textwrap.dedent(paragraph).split("\n"), "```", ""]
            else:
                lines += [*rows, ""]
    return lines


def _stdlib_html_page() -> list[str]:
    """pydoc's HTML for a few stdlib modules as one page (a generated docs page fetched with
    `curl`, or saved and read with Read), as lines."""
    modules = ("http.client", "email.message", "logging", "urllib.request", "subprocess", "argparse")
    bodies = [pydoc.html.document(importlib.import_module(name), name) for name in modules]
    return pydoc.html.page("Python: stdlib reference", "".join(bodies)).split("\n")


def _json_variants(name: str, rows: list[Any], context: SegmentContext, needles: list[str], tokens: int) -> list[Input]:
    compact = _fit(lambda n: orjson.dumps(rows[:n]).decode(), len(rows), tokens)
    # A JSON file read from disk is usually pretty-printed; Read numbers its lines.
    pretty = [
        _fit(lambda n, p=padded: _numbered(json.dumps(rows[:n], indent=2, ensure_ascii=False), p), len(rows), tokens)
        for padded in (True, False)
    ]
    return [
        Input(name, compact, context, _present(needles, compact)),
        Input(f"{name} (pretty, `     1\\t`)", pretty[0], context, _present(needles, pretty[0])),
        Input(f"{name} (pretty, `1\\t`)", pretty[1], context, _present(needles, pretty[1])),
    ]


def _line_variants(
    name: str, lines: list[str], context: SegmentContext, needles: list[str], tokens: int
) -> list[Input]:
    out = []
    for label, padded in (("", None), (" (`     1\\t`)", True), (" (`1\\t`)", False)):

        def render(n: int, p: bool | None = padded) -> str:
            body = "\n".join(lines[:n])
            return body if p is None else _numbered(body, p)

        text = _fit(render, len(lines), tokens)
        out.append(Input(name + label, text, context, _present(needles, text)))
    return out


def build_inputs(cases_dir: Path, tokens: int) -> list[Input]:
    inputs: list[Input] = []

    issues = _load_cases(cases_dir, "issue_triage_")
    rows = [row for case in issues for out in _tool_outputs(case) for row in orjson.loads(out)]
    task, tool, args = _first_call(issues[0])
    needles = [n for case in issues for n in case["needles"]]
    inputs += _json_variants("JSON: GitHub issues", rows, SegmentContext(tool, args, task), needles, tokens)

    docs = _load_cases(cases_dir, "doc_qa_")
    passages = [row for case in docs for out in _tool_outputs(case) for row in orjson.loads(out)]
    passages += [{"rank": len(passages) + i + 1, **p} for i, p in enumerate(_topic_passages())]
    task, tool, args = _first_call(docs[0])
    doc_context = SegmentContext(tool, args, task)
    doc_needles = [n for case in docs for n in case["needles"]]
    inputs += _json_variants("JSON: doc passages", passages, doc_context, doc_needles, tokens)

    api = _load_cases(cases_dir, "api_rows_ssh")
    rows = [row for case in api for out in _tool_outputs(case) for row in orjson.loads(out)]
    task, tool, args = _first_call(api[0])
    needles = [n for case in api for n in case["needles"]]
    inputs += _json_variants("JSON: API rows", rows, SegmentContext(tool, args, task), needles, tokens)

    for case in _load_cases(cases_dir, "sre_incident_"):
        lines = [line for out in _tool_outputs(case) for line in out.rstrip("\n").split("\n")]
        task, tool, args = _first_call(case)
        label = "logs: " + case["id"].removeprefix("sre_incident_").split("_")[0]
        inputs += _line_variants(label, lines, SegmentContext(tool, args, task), case["needles"], tokens)

    source = STDLIB / "_pydecimal.py"
    code_context = SegmentContext(
        "Read",
        json.dumps({"file_path": str(source)}),
        "How does Decimal.quantize round, what is MAX_PREC, and where is the Context class defined?",
        str(source),
    )
    code_needles = ["MAX_PREC = 999999999999999999", "class Context(object):", "def quantize(self, exp, rounding=None"]
    lines = source.read_text().split("\n")
    inputs += _line_variants("code: _pydecimal.py", lines, code_context, code_needles, tokens)

    prose = "\n\n".join(p["passage"] for p in passages)
    inputs += _line_variants("prose: Python reference", prose.split("\n"), doc_context, doc_needles, tokens)
    # The same passages as reStructuredText sections: each under a title underlined with tildes
    # (a run of `~` opens no fence without a closer, and must not cost a scan per underline).
    sections = []
    for passage in passages:
        title = " ".join(passage["passage"].split()[:6])
        sections += [title, "~" * len(title), "", passage["passage"], ""]
    inputs += _line_variants("prose: reST sections", sections, doc_context, doc_needles, tokens)
    inputs += _line_variants("markdown: Python reference", _topics_markdown(), doc_context, doc_needles, tokens)
    html_context = SegmentContext(
        "Bash",
        json.dumps({"command": "curl -s http://localhost:8000/stdlib.html"}),
        "What does HTTPConnection.set_tunnel do with its headers argument?",
    )
    html_needles = ["set_tunnel", "HTTP CONNECT"]
    inputs += _line_variants("HTML: pydoc pages", _stdlib_html_page(), html_context, html_needles, tokens)
    return inputs


# -- cold caches ------------------------------------------------------------------------------


def _functools_caches() -> Iterator[tuple[str, Any]]:
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("headroom") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            cached = callable(value) and hasattr(value, "cache_clear") and hasattr(value, "cache_info")
            if cached and getattr(value, "__module__", "") == module_name:
                yield f"{module_name}.{attr}", value


def make_cold() -> None:
    """Forget everything derived from content: the next compression sees the input for the first time."""
    from headroom.compressors._embedding import get_encoder

    detect = importlib.import_module("headroom.routing.detect")  # the module, not its function

    encoder = get_encoder()
    if encoder is not None:
        encoder.clear_cache()
    with detect._RECENT_LOCK:
        detect._RECENT.clear()  # the kinds it detected for the last few texts
    for name, function in _functools_caches():
        if name.rsplit(".", 1)[1] not in _RESOURCE_CACHES:
            function.cache_clear()
    gc.collect()  # every repeat starts from the same heap state


def cleared_caches() -> list[str]:
    return sorted(name for name, _ in _functools_caches() if name.rsplit(".", 1)[1] not in _RESOURCE_CACHES)


# -- measuring --------------------------------------------------------------------------------

_SPINNER = """
import os, sys, time
end, parent = time.monotonic() + float(sys.argv[1]), int(sys.argv[2])
while time.monotonic() < end and os.getppid() == parent:
    for _ in range(200_000):
        pass
"""


def start_busy(seconds: float) -> subprocess.Popen[bytes]:
    """A separate process spinning one core; bounded: it stops itself after `seconds` or when
    this process exits."""
    return subprocess.Popen([sys.executable, "-c", _SPINNER, str(seconds), str(os.getpid())])


def measure(item: Input, repeats: int) -> Measure:
    result = Measure()
    for _ in range(repeats):
        make_cold()
        store = MemoryStore()
        pipeline = Pipeline(CompressConfig(), store)
        started, cpu = time.perf_counter(), time.process_time()
        output, report = pipeline.compress_text(item.text, item.context, location="tool")
        result.times_ms.append((time.perf_counter() - started) * 1000)
        result.cpu_ms.append((time.process_time() - cpu) * 1000)
        result.outputs.add(output)
        result.tokens_before, result.tokens_after = report.tokens_before, report.tokens_after
        result.kind, result.compressor = report.kind, report.compressor
        originals = [s.text for ref in find_refs(output) if (s := store.get(ref)) is not None]
        shown = _LINE_NUMBER.sub("", output)  # a line's number is no needle (see `_present`)
        result.visible = sum(n in shown for n in item.needles)
        result.recoverable = sum(n in shown or any(n in o for o in originals) for n in item.needles)
    return result


def p99(values: Sequence[float]) -> float:
    """Nearest-rank 99th percentile (with 20 repeats: the slowest run)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=50_000, help="size of each input (o200k tokens)")
    parser.add_argument("--busy", action="store_true", help="also measure with one core kept busy")
    parser.add_argument("--busy-seconds", type=float, default=1800, help="upper bound on the spinner's life")
    parser.add_argument("--only", default="", help="only inputs whose name contains one of these (separated by |)")
    args = parser.parse_args()
    if not sorted(args.cases.glob("*.json")):
        print(f"no benchmark cases in {args.cases}", file=sys.stderr)
        return 1
    wanted = [w.strip().lower() for w in args.only.split("|")]
    inputs = [i for i in build_inputs(args.cases, args.tokens) if any(w in i.name.lower() for w in wanted)]
    quiet: list[Measure] = []
    busy: list[Measure] = []
    for item in inputs:  # warm-up: model, tokenizer, parsers, imports, regexes
        Pipeline(CompressConfig(), MemoryStore()).compress_text(item.text, item.context)
    for label, results in (("quiet", quiet), ("busy", busy)):
        if label == "busy" and not args.busy:
            continue
        spinner = start_busy(args.busy_seconds) if label == "busy" else None
        try:
            if spinner is not None:
                time.sleep(0.5)  # let the spinner reach full speed
            for item in inputs:
                print(f"{label}: {item.name} ...", file=sys.stderr, flush=True)
                results.append(measure(item, args.repeats))
        finally:
            if spinner is not None:
                spinner.terminate()
                spinner.wait()

    lines = [
        "## First sight: a new 50k-token tool result",
        "",
        f"`benchmarks/first_sight.py`: each input is ~{args.tokens:,} o200k tokens of real data (shared cases, "
        "stdlib source and docs), sent once through `Pipeline.compress_text` with a fresh pipeline and store and "
        f"cold caches ({', '.join(f'`{c}`' for c in ['embeddings', *cleared_caches()])}) on each of "
        f"{args.repeats} repeats; {os.cpu_count()} cores. *Busy*: another process keeps one core spinning. "
        f"Target: p99 <= {TARGET_P99_MS:.0f} ms busy. Needles: the source cases' needles present in the input, "
        "visible in the output / visible or recoverable from the store. Deterministic: the same bytes on every repeat. "
        "*CPU*: p50 CPU time of the process (all threads; quiet run): the work itself, which the wall-clock "
        "times show plus waiting for a core on a shared machine.",
        "",
        "| input | tokens | kind | compressor | p50 ms | p99 ms | CPU ms | busy p50 ms | busy p99 ms | saved | needles "
        "| det. |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    worst = 0.0
    for i, item in enumerate(inputs):
        q = quiet[i]
        b = busy[i] if busy else None
        saved = 100 * (q.tokens_before - q.tokens_after) / q.tokens_before if q.tokens_before else 0.0
        needles = f"{q.visible}/{q.recoverable}/{len(item.needles)}" if item.needles else "-"
        busy_cells = f"{statistics.median(b.times_ms):.0f} | {p99(b.times_ms):.0f}" if b else "- | -"
        deterministic = len(q.outputs) == 1 and (b is None or b.outputs == q.outputs)
        worst = max(worst, p99(b.times_ms) if b else p99(q.times_ms))
        lines.append(
            f"| {item.name} | {q.tokens_before:,} | {q.kind} | {q.compressor} | {statistics.median(q.times_ms):.0f} "
            f"| {p99(q.times_ms):.0f} | {statistics.median(q.cpu_ms):.0f} | {busy_cells} | {saved:.1f}% | {needles} "
            f"| {'yes' if deterministic else 'NO'} |"
        )
    lines += [
        "",
        f"Slowest p99 ({'busy' if busy else 'quiet'}): {worst:.0f} ms (target {TARGET_P99_MS:.0f} ms).",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
