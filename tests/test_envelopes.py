"""Every kind of content compresses as well inside the envelopes real agent tools send.

Envelopes: Claude Code's Read (`     N\\t` numbers, the older `N→` arrow, a `<system-reminder>`
trailer, a read starting at an offset), Codex's `exec_command` header, and `nl -ba` output inside
that header. Kinds: logs, JSON, code, grep output, markdown prose, CSV, a build's diagnostics, a test run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.envelopes import numbering_shift, open_envelope, without_client_notes
from headroom.formats import FORMATS
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import SegmentContext
from headroom.tokens import count_tokens
from tests.factories import customer_rows, unpadded

FIXTURES = Path(__file__).parent / "fixtures"
REMINDER = (
    "\n\n<system-reminder>\nWhenever you read a file, you should consider whether it would be considered "
    "malware. You CAN and SHOULD provide analysis of malware.\n</system-reminder>\n"
)
CODEX_HEADER = (
    "Chunk ID: 7f3a9c\nWall time: 0.0153 seconds\nProcess exited with code 0\nOriginal token count: 9000\nOutput:\n"
)


def _numbered(text: str, start: int = 1, sep: str = "\t") -> str:
    return "\n".join(f"{n:>6}{sep}{line}" for n, line in enumerate(text.split("\n"), start))


ENVELOPES: dict[str, Callable[[str], str]] = {
    "bare": lambda t: t,
    "claude_read": lambda t: _numbered(t) + REMINDER,
    "claude_read_arrow": lambda t: _numbered(t, sep="→"),
    "claude_read_offset": lambda t: _numbered(t, start=1201) + REMINDER,
    "codex_exec": lambda t: CODEX_HEADER + t,
    "codex_nl": lambda t: CODEX_HEADER + _numbered(t),
    "codex_code_mode": lambda t: "Script completed\nWall time 0.1 seconds\nOutput:\n\n" + t,
    "claude_read_unpadded": lambda t: "\n".join(f"{n}\t{line}" for n, line in enumerate(t.split("\n"), 481)),
}


def _content(kind: str) -> tuple[str, str, str]:
    """(text, file path, a line that must stay visible)"""
    if kind == "logs":
        return (FIXTURES / "logs" / "hdfs.log").read_text(), "/srv/hdfs.log", "ERROR"
    if kind == "json":
        return json.dumps(customer_rows(200), indent=2), "/data/customers.json", "suspended"
    if kind == "code":
        return (FIXTURES / "code" / "ratelimit_client.py").read_text(), "/repo/ratelimit_client.py", "class "
    if kind == "table":
        return _csv_rows(), "/data/customers.csv", "suspended"
    if kind == "search":
        return (FIXTURES / "search" / "grep_context.txt").read_text(), "", ""
    if kind == "test_report":  # a failing test run, saved by Claude Code and paged with Read
        text = (FIXTURES / "test_reports" / "pytest_tb_short.txt").read_text()
        return text, "/home/dev/.claude/tool-results/t9q4.txt", "E   ValueError: text too long to count"
    if kind == "diagnostics":  # a build's output, saved by Claude Code and paged with Read
        text = (FIXTURES / "diagnostics" / "cargo_clippy.txt").read_text()
        return text, "/home/dev/.claude/tool-results/b7x2.txt", "error[E0308]: mismatched types"
    return (FIXTURES / "prose" / "deploy_guide.md").read_text(), "/repo/docs/deploy_guide.md", ""


def _csv_rows() -> str:
    rows = customer_rows(300)
    return "\n".join([",".join(rows[0]), *(",".join(str(v) for v in row.values()) for row in rows)]) + "\n"


def _compress(text: str, path: str, store: MemoryStore) -> tuple[str, int, str]:
    """(output, tokens saved, detected kind)"""
    pipeline = Pipeline(CompressConfig(), store)
    context = SegmentContext("Read", json.dumps({"file_path": path}), "Which customer is suspended? Any errors?", path)
    out, report = pipeline.compress_text(text, context)
    return out, report.tokens_before - report.tokens_after, report.kind


@pytest.mark.parametrize("kind", ["logs", "json", "code", "search", "prose", "table", "diagnostics", "test_report"])
@pytest.mark.parametrize("envelope", [e for e in ENVELOPES if e != "bare"])
def test_every_kind_saves_as_much_inside_every_envelope(kind: str, envelope: str) -> None:
    content, path, needle = _content(kind)
    bare_out, bare_saved, bare_kind = _compress(content, path, MemoryStore())
    wrapped = ENVELOPES[envelope](content)
    store = MemoryStore()
    out, saved, detected = _compress(wrapped, path, store)

    assert detected == bare_kind  # the envelope does not change what the content is taken for
    if bare_out != content:  # the kind compresses: it saves as much when wrapped
        assert saved >= 0.9 * bare_saved, (envelope, kind, saved, bare_saved)
    head, tail = open_envelope(wrapped).head, open_envelope(wrapped).tail
    assert out.startswith(head) and out.endswith(tail)  # the wrapping goes back verbatim
    assert needle in out
    # Nothing lost: every ref gives back the unit exactly as the tool returned it.
    for ref in find_refs(out):
        assert retrieve(store, ref).text == wrapped
    # Deterministic: a fresh pipeline gives the same bytes.
    assert _compress(wrapped, path, MemoryStore())[0] == out


@pytest.mark.parametrize("envelope", ["claude_read", "claude_read_offset", "codex_nl"])
def test_kept_lines_keep_the_numbers_the_agent_saw(envelope: str) -> None:
    content, path, _ = _content("logs")
    wrapped = ENVELOPES[envelope](content)
    out, _, _ = _compress(wrapped, path, MemoryStore())
    shown = set(unpadded(wrapped).split("\n"))
    numbered_out = [line for line in out.split("\n") if "\t" in line[:12]]
    assert len(numbered_out) > 10
    # Every numbered line in the output is a line of the original, number and all (the padding
    # that right-aligned the numbers off: a token a line).
    assert all(line in shown for line in numbered_out)
    error = next(line for line in unpadded(wrapped).split("\n") if "ERROR" in line)
    assert error in out.split("\n")


def test_retrieval_by_lines_uses_the_numbers_shown() -> None:
    content, path, _ = _content("logs")
    wrapped = ENVELOPES["claude_read_offset"](content)  # numbers start at 1201
    store = MemoryStore()
    out, _, _ = _compress(wrapped, path, store)
    (ref,) = find_refs(out)
    assert numbering_shift(wrapped) == 1200
    chunk = retrieve(store, ref, lines="1205-1206").text.split("\n")
    assert [line.split("\t")[0].strip() for line in chunk] == ["1205", "1206"]
    assert chunk[0] == wrapped.split("\n")[4]


def test_codex_header_without_output_line_is_not_an_envelope() -> None:
    text = "Status: ok\nWall time: 3s\nno output label here\n" + "x\n" * 50
    assert open_envelope(text).bare


def test_numbers_that_skip_are_not_line_numbers() -> None:
    text = "1\tone\n2\ttwo\n4\tfour\n"
    envelope = open_envelope(text)
    assert envelope.prefixes is None and envelope.body == text


def test_unnumbered_body_keeps_its_exact_bytes_when_nothing_compresses() -> None:
    text = CODEX_HEADER + "short output\n"
    out, _, _ = _compress(text * 1, "", MemoryStore())
    assert out == text


def test_lines_a_compressor_stripped_of_trailing_spaces_keep_their_numbers() -> None:
    text = "\n".join(f"{n}\tvalue {n}   " if n % 3 == 0 else f"{n}\tvalue {n}" for n in range(1, 40))
    envelope = open_envelope(text)
    out = envelope.close("\n".join(line.rstrip() for line in envelope.body.split("\n")))
    assert [line.split("\t")[0] for line in out.split("\n")] == [str(n) for n in range(1, 40)]


def test_after_a_gap_a_line_that_stands_in_many_places_takes_the_place_whose_next_lines_follow() -> None:
    # Paragraphs between blank lines; a compressor kept every third paragraph with the blank
    # line above it, a marker in place of each dropped run: each kept blank line stands in
    # hundreds of places, and the one above the kept paragraph is its place.
    paragraphs = [f"Paragraph {n} says something of its own." for n in range(600)]
    text = "\n".join(f"{n + 1}\t{line}" for n, line in enumerate("\n\n".join(paragraphs).split("\n")))
    envelope = open_envelope(text)
    body = envelope.body.split("\n")
    kept = [i for i in range(1, len(body)) if i % 6 in (5, 0)]
    output: list[str] = []
    for i in kept:
        if i % 6 == 5:
            output.append("[headroom: 2 paragraphs omitted]")
        output.append(body[i])
    out = envelope.close("\n".join(output))
    numbers = [int(line.split("\t")[0]) for line in out.split("\n") if "\t" in line]
    assert numbers == [i + 1 for i in kept]
    assert out.split("\n")[1] == "6\t"


@pytest.mark.parametrize("kind", ["logs", "search", "diagnostics", "test_report"])
@pytest.mark.parametrize("note", ["…4096 tokens truncated…", "\n\n... [9000 characters truncated] ...\n\n"])
def test_the_model_still_sees_that_the_client_cut_the_output(kind: str, note: str) -> None:
    """Codex cuts a long output in the middle of a line, Claude Code between lines: wherever the
    cut falls and whatever the compressor drops around it, the note (or a marker quoting it)
    stays."""
    content, path, _ = _content(kind)
    third = len(content) // 3
    cut = content[:third] + note + content[2 * third :]
    out, saved, _ = _compress(CODEX_HEADER + cut, path, MemoryStore())
    assert saved > 0
    assert note.strip() in out


def test_a_json_unit_quoting_a_truncation_note_stays_json() -> None:
    """The note is only a value here; a marker line before the output would not parse."""
    rows = [{"id": n, "title": f"issue {n}", "body": "long text " * 30, "state": "open"} for n in range(200)]
    rows[7]["body"] += "…12 tokens truncated…"
    out, saved, kind = _compress(json.dumps(rows), "/data/issues.json", MemoryStore())
    assert kind == "json" and saved > 0
    json.loads(out)


def test_search_hits_given_as_json_that_quote_a_note_stay_json() -> None:
    hits = [
        {"path": f"src/pkg/mod{n % 25}.py", "line": 10 + n, "text": f"    compute(item_{n})  # {n}"} for n in range(300)
    ]
    hits[150]["text"] += " …12 tokens truncated…"
    store = MemoryStore()
    context = SegmentContext("mcp__search__find", None, "Where is compute called?")
    out, report = Pipeline(CompressConfig(), store).compress_text(json.dumps(hits, indent=1), context)
    assert report.kind == "search" and report.tokens_after < report.tokens_before
    json.loads(out)


def test_prose_that_mentions_truncated_tokens_gets_no_note() -> None:
    """Only the clients' own notes count (both start with a literal dot or ellipsis)."""
    text = (FIXTURES / "prose" / "deploy_guide.md").read_text()
    text = text.replace("\n\n", "\n\nThe model saw 2048 tokens truncated at the limit.\n\n", 1)
    out, _, _ = _compress(text, "/repo/docs/deploy_guide.md", MemoryStore())
    assert "already cut" not in out


def test_claude_codes_lines_truncated_note_stays() -> None:
    content, path, _ = _content("test_report")
    lines = content.split("\n")
    note = "... [638 lines truncated] ..."
    cut = "\n".join([*lines[:60], "", note, "", *lines[120:]])
    out, saved, _ = _compress(cut, path, MemoryStore())
    assert saved > 0 and note in out


# -- terminal codes -----------------------------------------------------------------------------

_FAILING_SUITE = """
import pytest

@pytest.mark.parametrize("n", range(60))
def test_parses_row(n):
    assert int(str(n)) == n

@pytest.mark.parametrize("n", range(4))
def test_totals_match(n):
    totals = {"rows": n, "sum": n * 2}
    assert totals["sum"] == n * 3, f"sum off for batch {n}"

def test_connects():
    raise ConnectionRefusedError("database refused the connection at 10.0.0.7:5432")
"""


def _test_run(tmp_path: Path, colour: str) -> str:
    """A real pytest run over a suite with passes and failures, coloured or not."""
    import subprocess
    import sys

    suite = tmp_path / "test_batches.py"
    suite.write_text(_FAILING_SUITE)
    command = [sys.executable, "-m", "pytest", f"--color={colour}", "-v", "-p", "no:cacheprovider", suite.name]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    return run.stdout


@pytest.mark.parametrize("envelope", ["bare", "codex_exec", "claude_read"])
def test_a_coloured_test_run_compresses_as_well_as_a_plain_one(tmp_path: Path, envelope: str) -> None:
    """`pytest --color=yes` (or a pty, or FORCE_COLOR): every status and rule wrapped in codes
    whose ESC bytes looked binary, so the whole run went to the model, codes and all."""
    coloured, plain = _test_run(tmp_path, "yes"), _test_run(tmp_path, "no")
    assert "\x1b[" in coloured and "\x1b" not in plain
    wrapped = ENVELOPES[envelope](coloured)
    store = MemoryStore()
    out, saved, kind = _compress(wrapped, "", store)
    plain_out, _, _ = _compress(ENVELOPES[envelope](plain), "", MemoryStore())

    assert kind == "test_report" and "\x1b" not in out
    assert saved > 0.8 * (count_tokens(wrapped)) and len(out) < 1.2 * len(plain_out)
    for needle in ("ConnectionRefusedError: database refused the connection at 10.0.0.7:5432", "sum off for batch 1"):
        assert needle in out
    # The original, codes and all, is one ref away.
    (ref,) = set(find_refs(out))
    assert retrieve(store, ref).text == wrapped
    assert _compress(wrapped, "", MemoryStore())[0] == out


def test_coloured_grep_output_is_read_as_search_hits(tmp_path: Path) -> None:
    import shutil
    import subprocess

    for n in range(12):
        (tmp_path / f"mod{n}.py").write_text(
            "\n".join(f"def handler_{k}(timeout=30):\n    return wait(timeout)" for k in range(20)) + "\n"
        )
    grep = shutil.which("grep")
    assert grep is not None
    command = [grep, "--color=always", "-rn", "timeout", "."]
    coloured = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "\x1b[" in coloured
    store = MemoryStore()
    out, saved, kind = _compress(coloured, "", store)
    assert kind == "search" and "\x1b" not in out and saved > 0
    plain = subprocess.run([grep, "-rn", "timeout", "."], cwd=tmp_path, capture_output=True, text=True).stdout
    hits = [line for line in out.split("\n") if line and not line.startswith("[headroom:")]
    assert len(hits) > 20 and set(hits) <= set(plain.split("\n"))  # each kept hit as grep prints it plain
    assert {retrieve(store, ref).text for ref in find_refs(out)} == {coloured}


def test_codes_alone_are_taken_out_with_a_marker_that_gives_them_back() -> None:
    """Text no compressor shortens (notes, one per line) still loses its codes; the marker
    cites the original."""
    lines = [f"\x1b[1;34m{n:03d}\x1b[0m \x1b[33mnote\x1b[0m the {word} is ready" for n, word in enumerate(WORDS * 8)]
    coloured = "\n".join(lines) + "\n"
    store = MemoryStore()
    out, saved, _ = _compress(coloured, "", store)
    assert "\x1b" not in out and saved > 0
    first, rest = out.split("\n", 1)
    assert "what a terminal does not show" in first
    assert rest == _strip(coloured)
    (ref,) = find_refs(first)
    assert retrieve(store, ref).text == coloured


def test_coloured_json_keeps_its_codes_unless_a_marker_can_say_so() -> None:
    """`jq -C`: no marker line may go before JSON. A lossless rendering has no ref to give the
    codes back, so the unit goes as it came; a lossy one cites the original in its own notes."""
    rows = [{"id": n, "status": "ok" if n % 7 else "failed", "region": "eu-west-1"} for n in range(300)]
    coloured = "\x1b[1;39m" + json.dumps(rows, indent=2) + "\x1b[0m"
    out, _, kind = _compress(coloured, "", MemoryStore())
    assert kind == "json" and out == coloured
    issues = [
        {"id": n, "title": f"crash in module {n}", "body": " ".join(WORDS * 12) + f" seen {n} times."}
        for n in range(300)
    ]
    coloured = "\x1b[1;39m" + json.dumps(issues, indent=2) + "\x1b[0m"
    store = MemoryStore()
    out, saved, kind = _compress(coloured, "", store)
    assert kind == "json" and saved > 0 and "\x1b" not in out
    json.loads(out)
    assert {retrieve(store, ref).text for ref in find_refs(out)} == {coloured}


def test_terminal_codes_leave_lines_and_numbers_where_they_were() -> None:
    text = "\n".join(
        f"{n:>6}\t\x1b[31mERROR\x1b[0m \x1b]8;;http://x/{n}\x07job {n}\x1b]8;;\x07\x1b(B" for n in range(1, 9)
    )
    envelope = open_envelope(text)
    assert envelope.prefixes is not None and envelope.terminal_codes == 8 * 5
    assert envelope.body.split("\n") == [f"ERROR job {n}" for n in range(1, 9)]
    assert not envelope.bare
    assert open_envelope("plain\x1bx text").terminal_codes == 1  # a lone two-byte escape
    assert open_envelope("no codes here\n").bare


WORDS = ["build", "cache", "index", "report", "bundle", "mirror", "archive", "snapshot"]


def _strip(text: str) -> str:
    return open_envelope(text).body


def _progress_log() -> str:
    """A training run's output as captured: log lines, and tqdm bars redrawn with a carriage
    return before each update (tqdm does so whether or not it writes to a terminal)."""
    out = []
    for epoch in range(1, 5):
        out.append(f"2026-12-01 00:31:2{epoch},908 INFO trainer: epoch {epoch} starting, lr=0.00{epoch}\n")
        bar = [
            f"epoch {epoch}: {s * 100 // 300:3d}%| {s}/300 [00:0{s // 100}<00:00, {51000 + s * 7}.12it/s]"
            for s in range(301)
        ]
        out.append("\r" + "\r".join(bar) + "\n")
        if epoch == 3:
            out.append("WARNING: loss is nan at step 233, skipping batch 9233\n")
        out.append(f"2026-12-01 00:31:2{epoch},951 INFO trainer: epoch {epoch} done: loss=0.{epoch}000\n")
    out.append("2026-12-01 00:31:29,951 ERROR trainer: checkpoint upload failed: s3://models/run-17 (AccessDenied)\n")
    return "".join(out)


@pytest.mark.parametrize("envelope", ["bare", "codex_exec", "claude_read"])
def test_a_progress_bar_redrawn_in_place_shows_its_last_state(envelope: str) -> None:
    wrapped = ENVELOPES[envelope](_progress_log())
    store = MemoryStore()
    out, saved, kind = _compress(wrapped, "", store)
    assert kind == "logs" and "\r" not in out and saved > 0.9 * count_tokens(wrapped)
    for kept in ("epoch 1: 100%| 300/300", "loss is nan at step 233", "checkpoint upload failed"):
        assert kept in out
    assert {retrieve(store, ref).text for ref in find_refs(out)} == {wrapped}


def test_carriage_returns_that_end_lines_stay() -> None:
    crlf = "".join(f"2026-12-01 10:00:{n:02d} INFO worker: job {n} done\r\n" for n in range(40))
    assert open_envelope(crlf).bare and open_envelope(crlf).body == crlf
    old_mac = crlf.replace("\r\n", "\r")  # no newline at all: every carriage return ends a line
    assert open_envelope(old_mac).bare
    # A carriage return between records is no redraw: nothing is written over them.
    csv = "id,name,status\r" + "".join(f"{n},user{n},active\r" for n in range(300)) + "\n"
    hit = "legacy/config.txt:3:timeout=30\rretries=5\rmode=fast\nsrc/app.py:9:timeout = 5\n"
    for text in (csv, hit, "a\rb\r\r\nc\n"):
        assert open_envelope(text).bare
    # A shorter update hides only the start of the one before: both stay.
    assert open_envelope("x\r 50%|#####     |\r100%|##########|\r 9%\n").body == "x\r100%|##########|\r 9%\n"


def test_long_runs_of_carriage_returns_and_long_words_are_read_in_one_pass() -> None:
    """Both searches start only where a line or a word starts: a run of 200k carriage returns
    or a 200k-character word in a command (a hex blob) is read once, not once per character
    (minutes when it was quadratic)."""
    from headroom.compressors.search import pattern_alternatives

    assert open_envelope("\r" * 200_000 + "\n").bare
    assert open_envelope("log line\n" + "x" + "\r" * 200_000 + "\n").bare
    assert pattern_alternatives('{"command": "grep -rn ' + "f" * 200_000 + '"}') == []
    assert pattern_alternatives('{"command": "grep -rn timeout src|head -200"}') == []  # a pipe, not a pattern


@pytest.mark.parametrize("envelope", ["codex_exec", "claude_read"])
def test_a_short_output_passes_whole_in_any_envelope(envelope: str) -> None:
    # `grep -n -B12` of an install log: under the size bar as a bare output, and so inside a
    # Codex header or with Read's numbers (the wrapping must not lift it over the bar).
    body = "\n".join(
        [f"{n}-Setting up libxcb-shape{n}:amd64 (1.15-1) ..." for n in range(1105, 1111)]
        + [f"{n}-debconf: (TERM is not set, so the dialog frontend is not usable.)" for n in range(1111, 1116)]
        + ["1117:invoke-rc.d: policy-rc.d denied execution of restart.", ""]
    )
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    bare_tokens = count_tokens(body)
    assert bare_tokens < pipeline.config.min_tokens
    wrapped = ENVELOPES[envelope](body)
    assert count_tokens(wrapped) >= pipeline.config.min_tokens
    out, report = pipeline.compress_text(wrapped, SegmentContext(tool_name="exec_command"))
    assert out == wrapped and report.compressor == "passthrough"


def test_a_short_coloured_output_still_loses_its_codes() -> None:
    # Fifteen coloured test lines: under the size bar once the codes are out, yet the codes
    # alone are most of the tokens, and taking them out is what pays.
    lines = [
        f"\x1b[32mPASSED\x1b[0m tests/test_api.py::\x1b[1mtest_case_{n}\x1b[0m \x1b[2m[{n * 6}%]\x1b[0m"
        for n in range(15)
    ]
    coloured = "\n".join(lines) + "\n"
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    assert count_tokens(_strip(coloured)) < pipeline.config.min_tokens <= count_tokens(coloured)
    out, report = pipeline.compress_text(coloured, SegmentContext(tool_name="Bash"))
    assert "\x1b" not in out and report.tokens_after < report.tokens_before


def _wrapped_document() -> str:
    """A hard-wrapped document from the docstrings of stdlib modules (the way man pages, RST and
    text docs come), some lines with trailing spaces as editors leave them."""
    import inspect
    import textwrap

    modules = ("argparse", "subprocess", "logging", "json", "shutil", "tarfile", "zipfile", "threading")
    paragraphs: list[str] = []
    for name in modules:
        doc = inspect.getdoc(__import__(name)) or ""
        paragraphs += [" ".join(p.split()) for p in doc.split("\n\n") if len(p) > 200]
    lines = "\n\n".join(textwrap.fill(p, 76) for p in paragraphs).split("\n")
    return "\n".join(line + "  " if k % 7 == 3 and line else line for k, line in enumerate(lines))


@pytest.mark.parametrize("envelope", ["claude_read", "claude_read_offset", "codex_nl"])
def test_a_numbered_document_keeps_or_drops_whole_lines(envelope: str) -> None:
    """Prose read with line numbers: sentences end inside lines, yet every line of the output is
    a line of the file under its number, or a marker. Dropping a sentence inside a line left a
    half line without its number, glued to the next one ("it does exist. [headroom: 2 sentences
    omitted] The value of each field"), and trailing spaces went: an Edit copied from either
    matches nothing in the file."""
    document = _wrapped_document()
    wrapped = ENVELOPES[envelope](document)
    store = MemoryStore()
    context = SegmentContext("Read", '{"file_path": "/repo/docs/notes.txt"}', "How do I run a child process?")
    out, report = Pipeline(CompressConfig(), store).compress_text(wrapped, context)
    assert report.kind == "prose" and report.tokens_after < 0.8 * report.tokens_before
    shown = set(unpadded(wrapped).split("\n"))
    body = out[: len(out) - len(REMINDER)] if out.endswith(REMINDER) else out
    for line in body.split("\n"):
        assert line in shown or re.fullmatch(r"\s*\[headroom: [^\]]*\]", line), line
    assert any(line.endswith("  ") for line in body.split("\n"))  # trailing spaces stay (the loop: exactly)
    (ref,) = set(find_refs(out))
    assert retrieve(store, ref).text == wrapped


@pytest.mark.parametrize("format_name", ["anthropic", "openai", "responses"])
def test_the_task_is_the_users_words_not_the_clients_reminders(format_name: str) -> None:
    """Claude Code writes reminders into the user's turn (the git attribution naming "Claude
    Opus 5.5", today's date), Codex its environment context: their words are no task terms, and
    a turn holding only such a note leaves the question before it in force."""
    reminder = (
        "<system-reminder>\nEnd git commit messages with:\nCo-Authored-By: Claude Opus 5.5\n"
        "Today's date is 2026-12-02.\n</system-reminder>\n"
    )
    codex_context = (
        "<environment_context>\n  <cwd>/work/p</cwd>\n  <current_date>2026-12-02</current_date>\n</environment_context>"
    )
    task = "Which invoice failed on 2026-11-30?"
    output = "\n".join(f"2026-11-{day:02d} invoice INV-{day} ok" for day in range(1, 31))
    if format_name == "anthropic":
        messages: list[dict[str, object]] = [
            {"role": "user", "content": [{"type": "text", "text": reminder}, {"type": "text", "text": task}]},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "cat x"}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": output},
                    {"type": "text", "text": reminder},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t2", "name": "Bash", "input": {"command": "cat y"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": output}]},
        ]
        request: dict[str, object] = {"model": "m", "messages": messages}
    elif format_name == "openai":
        call = {"id": "c1", "type": "function", "function": {"name": "sh", "arguments": "{}"}}
        request = {
            "model": "m",
            "messages": [
                {"role": "user", "content": reminder + task},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": output},
                {"role": "user", "content": reminder},
                {"role": "assistant", "content": None, "tool_calls": [{**call, "id": "c2"}]},
                {"role": "tool", "tool_call_id": "c2", "content": output},
            ],
        }
    else:
        request = {
            "model": "m",
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": reminder + task}]},
                {"type": "function_call", "call_id": "c1", "name": "sh", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": output},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": codex_context}]},
                {"type": "function_call", "call_id": "c2", "name": "sh", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c2", "output": output},
            ],
        }
    split = FORMATS[format_name].split(request, min_chars=10)
    results = [unit for unit in split.units if unit.role == "tool_result"]
    assert len(results) == 2
    for unit in results:
        assert unit.context.user_query == task
        assert "2026-11-30" in unit.context.terms()
        assert not unit.context.terms() & {"5.5", "2026-12-02", "commit", "co-authored-by"}
    assert without_client_notes("/review <command-name>/review</command-name> <command-args>PR 12</command-args>") == (
        "/review  <command-args>PR 12</command-args>"
    )
