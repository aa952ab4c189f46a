"""Probe: how headroom handles real tool outputs it has never seen, wrapped the way agents send them.

Not part of `make bench`; a diagnostic to run by hand after changing routing, detection, the
pipeline or the envelopes. Every input is gathered at run time from this machine, without network
(nothing is copied into the repository), and a source that is absent is skipped:

- command outputs: `pip list --format json`, `pip show -f`, `npm ls --json`, `dpkg -l`, `ls -laR`,
  `find`, `ps aux`, `git log --stat` (commits), `git log -p`, `git diff`, `journalctl`, `xxd` and `strings` of
  a shared library, a Python traceback (chained, and a RecursionError), `pytest -q` of a generated
  test file with failures (and its `--junitxml` report), an `sqlite3 .dump`;
- files: /var/log logs, package.json / package-lock.json, METADATA, README/Markdown, HTML, YAML,
  XML, YAML, TOML, CSV, minified JS (huge single lines), C / C++ / Cython / Go sources, unicode-heavy text.

Each is wrapped as a real client sends it: `raw`; Claude Code's Read (`cat -n` style `     N\\t`
lines, at most 2000 lines of at most 2000 chars, `read`; with its `<system-reminder>` trailer,
`read+reminder`; and with an offset/limit, `read@101`);
Codex's exec_command (`Chunk ID:`, `Wall time:`, `Process exited with code N`, `Original token
count:`, `Output:` header, `codex`); and `| head -100` (`head`). Inputs are cut to about 50k tokens.

Each case is compressed with a fresh `Pipeline` + `MemoryStore` twice, and reported as: kind
detected, compressor, tokens before/after, time of the first run (ms, and ms scaled to 50k tokens;
after a warm-up that loads parsers and the prose model), deterministic
(both runs gave the same bytes), retrievable (every non-blank original line is either visible in
the output or inside the original that a ref in the output fetches back; with no ref, only a
lossless rewrite is allowed: every word of every line is still in the output), and any exception
the pipeline caught. Flags: MISROUTED (the kind is not one expected for the source), BIGGER,
NONDET, LOST<n> (lines not retrievable), ERROR, SLOW (over 250 ms, or over 250 ms per 50k
tokens on an input of at least 5k tokens that took over 100 ms: the prose model's fixed cost,
40-100 ms for the at most 160 tokens it reads, is no slowness per token).

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/probe_unseen.py [--only NAME] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import SegmentContext

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(sysconfig.get_paths()["purelib"])
NODE_PROJECT = ROOT.parent / "main" / "tests" / "e2e"
MAX_CHARS = 200_000  # ~50k tokens
READ_MAX_LINES = 2000  # Claude Code's Read defaults
READ_MAX_LINE_CHARS = 2000
SLOW_MS_PER_50K = 250.0
FIXED_COST_MS = 100.0

ANY = frozenset(
    {"json", "json_page", "code", "logs", "search", "diff", "prose", "table", "paths", "mixed", "text", "xml", "yaml"}
)


@dataclass(frozen=True)
class Source:
    name: str
    text: str
    expected: frozenset[str]  # kinds that are a right reading of the content
    file_path: str | None = None  # set for files (Read-wrapped); None for command outputs
    command: str | None = None


@dataclass(frozen=True)
class Case:
    source: Source
    wrap: str
    text: str
    context: SegmentContext


@dataclass
class Outcome:
    case: Case
    kind: str = ""
    compressor: str = ""
    before: int = 0
    after: int = 0
    ms: float = 0.0
    deterministic: bool = True
    lost_lines: int = 0
    error: str = ""

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.kind not in self.case.source.expected:
            flags.append("MISROUTED")
        if self.after > self.before:
            flags.append("BIGGER")
        if not self.deterministic:
            flags.append("NONDET")
        if self.lost_lines:
            flags.append(f"LOST{self.lost_lines}")
        if self.error:
            flags.append("ERROR")
        scaled = self.ms * 50_000 / max(self.before, 1)
        if self.ms > SLOW_MS_PER_50K * max(1.0, self.before / 50_000) or (
            self.before >= 5000 and scaled > SLOW_MS_PER_50K and self.ms > FIXED_COST_MS
        ):
            flags.append("SLOW")
        return flags


# -- gathering -------------------------------------------------------------------------------


def _run(args: list[str], cwd: Path | None = None, ok_codes: tuple[int, ...] = (0,)) -> str | None:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode not in ok_codes:
        return None
    # stderr when the command failed, or printed only there (gcc's warnings, exit code 0).
    out = done.stdout + done.stderr if done.returncode or not done.stdout else done.stdout
    return out or None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _cut(text: str) -> str:
    """At most MAX_CHARS, cut at a line end."""
    if len(text) <= MAX_CHARS:
        return text
    end = text.rfind("\n", 0, MAX_CHARS)
    return text[: end + 1 if end > 0 else MAX_CHARS]


def _largest(root: Path, pattern: str, limit: int = 400_000) -> Path | None:
    found = [p for p in root.rglob(pattern) if p.is_file() and p.stat().st_size < limit] if root.is_dir() else []
    return max(found, key=lambda p: (p.stat().st_size, str(p)), default=None)


_FAILING_TESTS = """
import json
import pytest

@pytest.mark.parametrize("n", range(60))
def test_square(n):
    assert n * n == n ** 2

@pytest.mark.parametrize("n", [3, 7, 11])
def test_parity(n):
    assert n % 2 == 0, f"{n} is odd"

def test_json_roundtrip():
    data = {"name": "probe", "items": list(range(20))}
    assert json.loads(json.dumps(data)) == {**data, "items": list(range(21))}

def test_raises_inside():
    def parse(value):
        return int(value)
    assert parse("12x") == 12
"""

_TRACEBACK_SCRIPT = """
import json, logging, sys
sys.setrecursionlimit(400)
def load(text):
    return json.loads(text)
def read_config(raw):
    try:
        return load(raw)
    except json.JSONDecodeError as exc:
        raise RuntimeError("config unreadable") from exc
def walk(depth):
    return walk(depth + 1) if depth < 10_000 else 0
logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
for attempt in range(5):
    try:
        read_config('{"a": [1, 2,, 3]}')
    except RuntimeError:
        logging.getLogger("probe.loader").exception("attempt %d failed", attempt)
walk(0)
"""


def _commands() -> Iterator[Source]:
    py = sys.executable
    logs, table = frozenset({"logs"}), frozenset({"table"})
    specs: list[tuple[str, list[str], Path | None, frozenset[str], tuple[int, ...]]] = [
        ("pip list --format json", [py, "-m", "pip", "list", "--format", "json"], None, frozenset({"json"}), (0,)),
        ("pip list", [py, "-m", "pip", "list"], None, table | {"text"}, (0,)),
        ("pip show -f numpy", [py, "-m", "pip", "show", "-f", "numpy"], None, frozenset({"paths", "text"}), (0,)),
        ("npm ls --json --all", ["npm", "ls", "--json", "--all"], NODE_PROJECT, frozenset({"json"}), (0, 1)),
        ("dpkg -l", ["dpkg", "-l"], None, table | {"text"}, (0,)),
        ("ls -laR numpy", ["ls", "-laR", str(SITE / "numpy")], None, frozenset({"paths", "text", "table"}), (0,)),
        ("find scipy -name *.py", ["find", str(SITE / "scipy"), "-name", "*.py"], None, frozenset({"paths"}), (0,)),
        ("ps aux", ["ps", "aux"], None, table | {"text"}, (0,)),
        ("git log --stat", ["git", "log", "--stat", "-n", "80"], ROOT, frozenset({"commits"}), (0,)),
        ("git log -p", ["git", "log", "-p", "-n", "12"], ROOT, frozenset({"diff"}), (0,)),
        ("git diff HEAD~15 -- src", ["git", "diff", "HEAD~15", "--", "src"], ROOT, frozenset({"diff"}), (0,)),
        ("journalctl", ["journalctl", "--no-pager", "-n", "3000"], None, logs, (0,)),
        ("python traceback", [py, "-c", _TRACEBACK_SCRIPT], None, logs | {"text"}, (1,)),
        (
            "ruff check --select ALL",
            [str(Path(py).parent / "ruff"), "check", "--select=ALL", "--no-cache", "--output-format=full", "httpx"],
            SITE,
            frozenset({"diagnostics"}),
            (1,),
        ),
        (
            "gcc -Wall -Wextra",
            [
                *("gcc", "-c", "-Wall", "-Wextra", "-Wconversion", "-Wsign-conversion", "-o", "/dev/null"),
                *(f"-I{sysconfig.get_paths()['include']}", f"-I{SITE / 'mypyc' / 'lib-rt'}"),
                str(SITE / "mypyc" / "lib-rt" / "function_wrapper.c"),
            ],
            None,
            frozenset({"diagnostics"}),
            (0, 1),
        ),
    ]
    for name, args, cwd, expected, ok in specs:
        text = _run(args, cwd, ok)
        if text and len(text) > 1000:
            yield Source(name, _cut(text), expected, command=" ".join(args[-4:]))
    library = next(iter(sorted((SITE / "numpy" / "_core").glob("_multiarray_umath*.so"))), None)
    if library is not None:
        dump = _run(["xxd", "-s", "4096", "-l", "40000", str(library)])
        if dump:
            yield Source("xxd libnumpy.so", dump, frozenset({"binary", "text"}), command="xxd")
        found = _run(["strings", "-n", "6", str(library)])
        if found:  # past its first lines, which are one run of padding bytes
            strings = "\n".join(found.split("\n")[5:])
            yield Source("strings libnumpy.so", _cut(strings), frozenset({"text", "paths", "prose"}), command="strings")
    with tempfile.TemporaryDirectory() as tmp:
        test_file = Path(tmp) / "test_probe.py"
        test_file.write_text(_FAILING_TESTS)
        for flags in ("-q", "-v"):
            out = _run([sys.executable, "-m", "pytest", flags, "-p", "no:cacheprovider", str(test_file)], None, (1,))
            if out:
                yield Source(f"pytest {flags} (failing)", out, frozenset({"test_report"}), command=f"pytest {flags}")
        report = Path(tmp) / "report.xml"  # a CI's JUnit XML: pytest writes it on one line
        _run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", str(test_file)],
            None,
            (1,),
        )
        if report.is_file():
            yield Source("pytest --junitxml", report.read_text(), frozenset({"xml"}), command="cat report.xml")
        database = Path(tmp) / "probe.db"
        with sqlite3.connect(database) as connection:
            connection.execute("create table package (name text primary key, version text, summary text)")
            packages = json.loads(_run([py, "-m", "pip", "list", "--format", "json"]) or "[]")
            connection.executemany(
                "insert into package values (?, ?, ?)",
                [(p["name"], p["version"], f"{p['name']} {p['version']} from site-packages") for p in packages],
            )
        dump = _run(["sqlite3", str(database), ".dump"])
        if dump:
            yield Source("sqlite3 .dump", dump, frozenset({"code", "text", "table"}), command="sqlite3 .dump")


def _files() -> Iterator[Source]:
    prose_like = frozenset({"prose", "mixed", "text"})
    html_or_page = frozenset({"html", "code"})
    candidates: list[tuple[str, Path | None, frozenset[str]]] = [
        ("dpkg.log", Path("/var/log/dpkg.log"), frozenset({"logs"})),
        ("apt history.log", Path("/var/log/apt/history.log"), frozenset({"logs", "text"})),
        ("postgresql.log", Path("/var/log/postgresql/postgresql-15-main.log"), frozenset({"logs"})),
        ("package-lock.json", NODE_PROJECT / "package-lock.json", frozenset({"json"})),
        ("package.json", NODE_PROJECT / "node_modules" / "@openai" / "codex" / "package.json", frozenset({"json"})),
        ("cyclonedx sbom.json", _largest(SITE, "*.cyclonedx.json"), frozenset({"json"})),
        ("METADATA pydantic", next(iter(SITE.glob("pydantic-*.dist-info/METADATA")), None), prose_like),
        ("README.md claude-code", NODE_PROJECT / "node_modules/@anthropic-ai/claude-code/README.md", prose_like),
        ("model_card.md", _largest(SITE / "sentence_transformers", "*.md"), prose_like),
        # A ranged Read of a page (under 100 KB) is a page read by path: left whole, like a template.
        (
            "rustdoc print.html",
            _largest(Path("/root/.rustup/toolchains"), "print.html", 2_000_000),
            html_or_page,
        ),
        ("native_functions.yaml", SITE / "torchgen/packaged/ATen/native/native_functions.yaml", ANY - {"logs"}),
        ("markdown_it port.yaml", SITE / "markdown_it" / "port.yaml", ANY - {"logs"}),
        ("pyproject.toml", ROOT / "pyproject.toml", ANY - {"logs"}),
        # XML data files: a MIME database, a keyboard database, an ISO code list. A ranged Read of
        # a small one (under 48 KB) is a project's own file read to be edited: left whole.
        ("freedesktop mime.xml", Path("/usr/share/mime/packages/freedesktop.org.xml"), frozenset({"xml", "code"})),
        ("xkb evdev.xml", Path("/usr/share/X11/xkb/rules/evdev.xml"), frozenset({"xml", "code"})),
        ("iso_3166-2.xml", Path("/usr/share/xml/iso-codes/iso_3166-2.xml"), frozenset({"xml", "code"})),
        ("numpy csv", _largest(SITE / "numpy" / "random" / "tests" / "data", "*.csv"), frozenset({"table"})),
        ("scipy iris txt", SITE / "scipy/spatial/tests/data/pdist-euclidean-ml-iris.txt", frozenset({"table", "text"})),
        ("minified js", _largest(SITE / "playwright" / "driver", "*.js", 3_000_000), frozenset({"code", "text"})),
        ("ndarraytypes.h", SITE / "numpy/_core/include/numpy/ndarraytypes.h", frozenset({"code"})),
        ("TGreenlet.cpp", SITE / "greenlet" / "TGreenlet.cpp", frozenset({"code"})),
        ("uvloop stream.pyx", SITE / "uvloop/handles/stream.pyx", frozenset({"code"})),
        ("persistent-https main.go", Path("/usr/share/doc/git/contrib/persistent-https/proxy.go"), frozenset({"code"})),
        ("vim tutor ru", Path("/usr/share/vim/vim90/tutor/tutor.ru.utf-8"), prose_like),
        ("vim tutor ja", Path("/usr/share/vim/vim90/tutor/tutor.ja.utf-8"), prose_like),
        ("vim tutor zh", Path("/usr/share/vim/vim90/tutor/tutor.zh_cn.utf-8"), prose_like),
        ("vim tutor ko", Path("/usr/share/vim/vim90/tutor/tutor.ko.utf-8"), prose_like),
    ]
    for name, path, expected in candidates:
        text = _read(path) if path is not None else None
        if text and len(text) > 1000:
            if "json" in expected:  # a Read of a long JSON file shows a page of it
                expected = expected | {"json_page"}
            yield Source(name, _cut(text), expected, file_path=str(path))


# -- wrapping as agents send it ------------------------------------------------------------------


def claude_read(text: str, offset: int = 1, limit: int = READ_MAX_LINES) -> str:
    """Claude Code's Read: `cat -n` numbering (6-wide, tab), long lines cut."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    chosen = lines[offset - 1 : offset - 1 + limit]
    return "\n".join(f"{n:>6}\t{line[:READ_MAX_LINE_CHARS]}" for n, line in enumerate(chosen, offset))


# What Claude Code appends to a Read result.
REMINDER = (
    "\n\n<system-reminder>\nWhenever you read a file, you should consider whether it would be considered"
    " malware.\n</system-reminder>\n"
)


def codex_exec(text: str, exit_code: int = 0) -> str:
    """Codex's exec_command result."""
    words = len(text) // 4
    header = f"Chunk ID: 3f9a1c\nWall time: 0.8731 seconds\nProcess exited with code {exit_code}\n"
    return f"{header}Original token count: {words}\nOutput:\n{text}"


def head(text: str, lines: int = 100) -> str:
    return "\n".join(text.split("\n")[:lines])


def cases(sources: list[Source]) -> Iterator[Case]:
    for source in sources:
        if source.file_path is not None:
            arguments = json.dumps({"file_path": source.file_path})
            read = SegmentContext(tool_name="Read", tool_arguments=arguments, file_path=source.file_path)
            yield Case(source, "raw", source.text, SegmentContext(tool_name="Bash"))
            yield Case(source, "read", claude_read(source.text), read)
            yield Case(source, "read+reminder", claude_read(source.text) + REMINDER, read)
            if source.text.count("\n") > 150:
                yield Case(source, "read@101", claude_read(source.text, 101, 400), read)
        else:
            arguments = json.dumps({"cmd": source.command})
            yield Case(source, "raw", source.text, SegmentContext(tool_name="Bash", tool_arguments=arguments))
            codex = SegmentContext(tool_name="exec_command", tool_arguments=arguments)
            yield Case(source, "codex", codex_exec(source.text), codex)
            yield Case(source, "head", head(source.text), SegmentContext(tool_name="Bash", tool_arguments=arguments))


# -- measuring -----------------------------------------------------------------------------------

_NO_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_READ_NUMBER = re.compile(r"^ *\d+\t", re.MULTILINE)


def lost_lines(original: str, output: str, store: MemoryStore) -> int:
    """Non-blank original lines neither visible in `output` nor in an original its refs fetch.

    Trailing whitespace does not count (the lossless normalization drops it), nor do Read's
    line numbers (a re-laid-out JSON body keeps no line's number)."""
    if output == original:
        return 0
    original = "\n".join(line.rstrip() for line in _READ_NUMBER.sub("", original).split("\n"))
    output = "\n".join(line.rstrip() for line in _READ_NUMBER.sub("", output).split("\n"))
    fetched = []
    for ref in find_refs(output):
        stored = store.get(ref)
        if stored is not None:
            fetched.append(stored.text)
    if not fetched:  # no ref: only a lossless rewrite (re-laid-out JSON, grouped paths) is allowed
        if _NO_SPACE.sub("", original) == _NO_SPACE.sub("", output):
            return 0
        words = set(_WORD.findall(output))  # a rewrite keeps every word, wherever it moved
        return sum(1 for line in original.split("\n") if not set(_WORD.findall(line)) <= words)
    visible = set(output.split("\n"))
    recoverable = "\n".join(fetched)
    return sum(1 for line in original.split("\n") if line.strip() and line not in visible and line not in recoverable)


def warm_up() -> None:
    """Load what a running process has loaded (parsers, the prose model), on text of no case,
    so the first case's time is not the imports'. Each case's own time is its first sight."""
    pipeline = Pipeline(CompressConfig(), store=MemoryStore())
    warm = Path(argparse.__file__).read_text()  # code, and (its docstrings' sentences) prose
    pipeline.compress_text(warm)
    pipeline.compress_text(" ".join(warm.split()[:3000]))
    pipeline.compress_text(json.dumps([{"line": i, "text": t} for i, t in enumerate(warm.split("\n"))]))


def probe(case: Case) -> Outcome:
    outcome = Outcome(case)
    outputs = []
    for run in range(2):
        store = MemoryStore()
        pipeline = Pipeline(CompressConfig(), store=store)
        started = time.perf_counter()
        try:
            output, report = pipeline.compress_text(case.text, case.context)
        except Exception as exc:  # the pipeline promises never to raise on content
            outcome.error = f"raised {type(exc).__name__}: {exc}"[:120]
            return outcome
        elapsed = (time.perf_counter() - started) * 1000
        outputs.append(output)
        if run == 0:
            outcome.kind, outcome.compressor = report.kind, report.compressor
            outcome.before, outcome.after, outcome.ms = report.tokens_before, report.tokens_after, elapsed
            outcome.lost_lines = lost_lines(case.text, output, store)
            if report.diagnostic and "failed" in report.diagnostic:
                outcome.error = report.diagnostic[:120]
    outcome.deterministic = outputs[0] == outputs[1]
    return outcome


def table(outcomes: list[Outcome]) -> str:
    rows = [
        "| source | wrap | kind | compressor | tokens before | after | saved | ms | ms/50k | det | flags |",
        "|---|---|---|---|--:|--:|--:|--:|--:|---|---|",
    ]
    for o in outcomes:
        saved = 1 - o.after / o.before if o.before else 0.0
        per_50k = o.ms * 50_000 / o.before if o.before else 0.0
        rows.append(
            f"| {o.case.source.name} | {o.case.wrap} | {o.kind} | {o.compressor} | {o.before:,} | {o.after:,} "
            f"| {saved:.0%} | {o.ms:.0f} | {per_50k:.0f} | {'yes' if o.deterministic else 'NO'} "
            f"| {' '.join(o.flags) or 'ok'}{' ' + o.error if o.error else ''} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--only", help="run the sources whose name contains this text")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    gather: list[Callable[[], Iterator[Source]]] = [_commands, _files]
    sources = [s for g in gather for s in g() if not args.only or args.only in s.name]
    print(f"{len(sources)} sources gathered", file=sys.stderr)
    warm_up()
    outcomes = []
    for case in cases(sources):
        outcomes.append(probe(case))
        print(f"  {case.source.name} [{case.wrap}]: {' '.join(outcomes[-1].flags) or 'ok'}", file=sys.stderr)
    report = table(outcomes)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    flagged = sum(1 for o in outcomes if o.flags)
    print(f"\n{len(outcomes)} cases, {flagged} flagged", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HEADROOM_SKIP_E2E", "1")
    raise SystemExit(main())
