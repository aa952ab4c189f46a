"""The wrapping real agent tools put around content, taken off before compression and put back after.

Agents do not send clean tool outputs. Claude Code's Read numbers every line (`     1\\t...`) and
appends a `<system-reminder>` block; Codex's `exec_command` puts a header (`Chunk ID: ...`,
`Wall time: ...`, `Process exited with code 0`, `Output:`) before the command's output; a command
run with colours forced wraps its words in terminal codes. A
compressor that sees the wrapping mistakes a numbered log or JSON file for plain text and saves
nothing, so the pipeline opens the envelope, compresses the body as its own kind, and closes it.

`open_envelope(text)` is a pure function of the text: the same unit opens the same way on every
turn (cache safety). The head and tail go back verbatim; kept body lines get back the number the
agent saw, so markers, retrieval (`lines=`) and the model all address lines by those numbers.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property

__all__ = ["TRUNCATION_NOTE", "Envelope", "numbering_shift", "open_envelope", "without_client_notes"]

# The note a client puts where it cut a long output: Claude Code's "... [12345 characters
# truncated] ..." (or "[638 lines truncated]") on a line of its own, Codex's "…2000 tokens
# truncated…" or "…800 chars truncated…" (mid-line, where the cut fell). A model must still see
# that the output was cut. Both forms start with a literal dot or ellipsis: the search anchors
# there, and prose that mentions "2048 tokens truncated" is no note.
TRUNCATION_NOTE = re.compile(r"\.\.\. \[\d+ (?:characters|lines) truncated\] \.\.\.|…\d+ (?:tokens|chars) truncated…")

# `cat -n` / `nl -ba` / Claude Code's Read ("     1\t"), and the older Read arrow ("     1→").
# Only these two separators: `N:` is grep's format, which the search compressor reads itself.
_NUMBERED = re.compile(r"^ *(\d{1,9})(\t|→)")
_TAB_PREFIXES = re.compile(r"^( *(\d{1,9})\t)", re.MULTILINE)
_ARROW_PREFIXES = re.compile(r"^( *(\d{1,9})→)", re.MULTILINE)
# A line number a numbered read (`cat -n`, Claude Code's Read) put before a kept line.
_LINE_NUMBER = re.compile(r"^ *\d{1,9}(?:\t|→)", re.MULTILINE)
# Codex's exec_command / shell output header: a few short status lines ("Chunk ID: 5eab00",
# "Wall time: 0.0 seconds", "Process exited with code 0"; in code mode "Script completed",
# "Wall time 0.1 seconds"), then a line "Output:".
_HEADER_LABEL = re.compile(r"^[A-Z][A-Za-z]*(?: [\w.:-]+){0,8}$")
_MAX_HEADER_LINES = 8
# Terminal control sequences: colours and styles (`\x1b[31m`), cursor and erase commands
# (`\x1b[2K`), window titles and hyperlinks (`\x1b]8;;url\x07`), charset switches (`\x1b(B`).
# A command run with colours forced (`--color=always`, FORCE_COLOR, a pty) sends them to the
# model verbatim: they show nothing, cost tokens (a tenth of a coloured test run), and their ESC
# bytes make the text look binary, so nothing compressed it. None of these forms spans a line.
_TERMINAL_CODE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)|[()*+][0-~]|[0-~])")
# A progress bar redrawn in place (tqdm, pip, curl): each update ends in a carriage return and the
# next one is written over it, so a terminal shows only the last; a captured output keeps them all
# on one line (68k tokens for 2,000 updates of five tqdm bars). An update is dropped only where a
# terminal would hide it whole: the text written over it is at least as long, and both are
# progress (a percentage, a bar, a rate) or the later one is blank (tqdm clearing its bar for a
# message). A carriage return that ends a record (an old Mac file, a CR-separated CSV) drops
# nothing. The line search is anchored at line starts: linear on any run of carriage returns.
_LONE_CR_LINE = re.compile(r"^[^\n]*\r[^\n\r][^\n]*", re.MULTILINE)
_PROGRESS = re.compile(r"\d%|[█▉▊▋▌▍▎▏]|\d(?:it|B)/s|\beta\b", re.IGNORECASE)
_REMINDER_OPEN = "<system-reminder>"
_REMINDER_CLOSE = "</system-reminder>"
# What a client writes into the user's turn for the model rather than the user's words: Claude
# Code's `<system-reminder>` blocks (the git attribution naming "Claude Opus 5.5", today's date,
# the file open in the IDE) and the tags around a slash command (its arguments are the user's);
# Codex's `<environment_context>` (cwd, shell, date) and `<user_instructions>` (the AGENTS.md).
_CLIENT_NOTE = re.compile(
    r"<(system-reminder|command-name|command-message|local-command-stdout|environment_context|user_instructions)>"
    r".*?</\1>",
    re.DOTALL,
)
_MAX_TRAILER_CHARS = 20_000
# Renumbering after a gap: how many places of a repeated line are weighed, over how many lines.
_MAX_ALIGN_CANDIDATES = 512
_ALIGN_LOOKAHEAD = 64


@dataclass(frozen=True)  # no slots: `_line_positions` is cached on the instance
class Envelope:
    """A unit split into verbatim `head` and `tail` around a `body` to compress.

    When the body's lines were numbered, `prefixes[i]` is the number prefix line i carried and
    `body` holds the lines without it. `first_line` is the line number the body's first line has
    as the agent sees it: the shown number when numbered, else its position in the whole unit.
    """

    head: str
    body: str
    tail: str
    prefixes: tuple[str, ...] | None
    first_line: int
    terminal_codes: int = 0  # terminal control sequences and overwritten updates taken out of the body

    @property
    def bare(self) -> bool:
        """Nothing was taken off: the unit is its body."""
        return not self.head and not self.tail and self.prefixes is None and not self.terminal_codes

    def numbered_body(self) -> str:
        """The body with its number prefixes, as the tool sent it (for compressors that keep
        numbers themselves, like the code compressor)."""
        if self.prefixes is None:
            return self.body
        return "\n".join(p + line for p, line in zip(self.prefixes, self.body.split("\n"), strict=True))

    def close(self, body: str, *, renumber: bool = True, compact: bool = False) -> str:
        """Put a compressed body back: head + body + tail, kept lines numbered as they were.
        `compact`: the numbers without the padding that right-aligns them (`   363\t` ->
        `363\t`), for a body a compressor shortened: the padding is a token on every kept line
        and tells the model nothing the number does not. A body left as it was keeps its bytes."""
        if self.prefixes is not None and renumber:
            body = self._renumber(body, compact)
        return self.head + body + self.tail

    def sent_body(self, sent: str, *, renumbered: bool = True) -> str:
        """The body of this unit as `sent` (what `close` gave): the head and tail off, and the
        line numbers its kept lines carry when they were `renumbered` (markers carry none)."""
        if self.head and sent.startswith(self.head):
            sent = sent[len(self.head) :]
        if self.tail and sent.endswith(self.tail):
            sent = sent[: len(sent) - len(self.tail)]
        return _LINE_NUMBER.sub("", sent) if self.prefixes is not None and renumbered else sent

    @cached_property
    def _body_lines(self) -> list[str]:
        return self.body.split("\n")

    @cached_property
    def _line_positions(self) -> dict[str, list[int]]:
        """Body line -> where it stands; also by its text without trailing whitespace, which
        the whitespace normalization of some compressors strips."""
        positions: dict[str, list[int]] = {}
        for i, line in enumerate(self._body_lines):
            positions.setdefault(line, []).append(i)
            stripped = line.rstrip()
            if stripped != line:
                positions.setdefault(stripped, []).append(i)
        return positions

    def _renumber(self, body: str, compact: bool) -> str:
        """Each output line that is a body line (in order) gets that line's prefix back (its
        padding off when `compact`); markers and summaries a compressor wrote stay unnumbered."""
        assert self.prefixes is not None
        positions = self._line_positions
        out: list[str] = []
        next_line = 0
        gap = False  # a line of the compressor's own came since the last body line
        output = body.split("\n")
        for j, line in enumerate(output):
            candidates = positions.get(line) or positions.get(line.rstrip())
            if candidates:
                k = bisect.bisect_left(candidates, next_line)
                if k < len(candidates):
                    follows = candidates[k] == next_line and not gap
                    i = candidates[k] if follows else self._aligned(candidates[k:], output, j)
                    # Every prefix here is a number's (`line_numbers.compact_prefix` does the
                    # same for the code compressor, whose prefixes may also be a header line).
                    prefix = self.prefixes[i].lstrip(" ") if compact else self.prefixes[i]
                    out.append(prefix + line)
                    next_line, gap = i + 1, False
                    continue
            out.append(line)
            gap = True
        return "\n".join(out)

    @cached_property
    def _stripped_body_lines(self) -> list[str]:
        return [line.rstrip() for line in self._body_lines]

    def _aligned(self, candidates: list[int], output: list[str], j: int) -> int:
        """After a gap (lines a compressor dropped or rewrote), the body line output line j is:
        of the places its text stands, the one where the most lines after it follow as in the
        body (a line like `},` after a compacted JSON run stands in many places; the earliest
        is rarely it). The earliest wins ties. Only the places followed by output line j+1 can
        beat the first (a blank line after a dropped run of prose stands in thousands of
        places: trying each cost a third of a numbered document's time)."""
        tried = candidates[:_MAX_ALIGN_CANDIDATES]
        most = min(_ALIGN_LOOKAHEAD, len(output) - j - 1)
        if len(tried) < 2 or most <= 0:
            return tried[0]
        body = self._stripped_body_lines
        ahead = [line.rstrip() for line in output[j + 1 : j + 1 + most]]
        places = self._line_positions.get(ahead[0], ())  # by text without trailing whitespace too
        if len(places) < len(tried):
            followed = {i - 1 for i in places}
            tried = [i for i in tried if i in followed]
        else:
            tried = [i for i in tried if i + 1 < len(body) and body[i + 1] == ahead[0]]
        best, best_run = candidates[0], 0
        for i in tried:
            run = 1
            limit = min(most, len(body) - i - 1)
            while run < limit and ahead[run] == body[i + run + 1]:
                run += 1
            if run > best_run:
                best, best_run = i, run
                if run == most:
                    break
        return best


def _split_head(text: str) -> tuple[str, str]:
    """Codex's header (through the `Output:` line) and the rest."""
    if not text[:1].isupper():
        return "", text
    start = 0
    for _ in range(_MAX_HEADER_LINES + 1):
        end = text.find("\n", start)
        if end < 0:
            return "", text
        line = text[start:end].rstrip("\r")
        if line == "Output:":
            return (text[: end + 1], text[end + 1 :]) if start > 0 else ("", text)
        if len(line) > 160 or not _HEADER_LABEL.match(line):
            return "", text
        start = end + 1
    return "", text


def _split_tail(text: str) -> tuple[str, str]:
    """Trailing `<system-reminder>` blocks (and the blank lines before them) and the rest."""
    body = text
    while True:
        stripped = body.rstrip()
        if not stripped.endswith(_REMINDER_CLOSE):
            break
        start = stripped.rfind(_REMINDER_OPEN, max(0, len(stripped) - _MAX_TRAILER_CHARS))
        if start < 0:
            break
        cut = len(body[:start].rstrip("\n"))
        body = body[:cut]
    return body, text[len(body) :]


def _split_numbers(body: str) -> tuple[tuple[str, ...], str, int] | None:
    """(prefixes, unnumbered body, first number) when every line carries a consecutive number
    with one separator (a final empty line aside); else None. The scans run in the regex
    engine (a 50k-token read has thousands of lines), only the numbers are checked in Python."""
    final_empty = body.endswith("\n")
    numbered = body[:-1] if final_empty else body
    first = _NUMBERED.match(numbered)
    if first is None:
        return None
    line_count = numbered.count("\n") + 1
    if line_count < 2:
        return None
    pattern = _TAB_PREFIXES if first.group(2) == "\t" else _ARROW_PREFIXES
    found = pattern.findall(numbered)
    if len(found) != line_count:  # some line has no number (each line can match only once)
        return None
    start = int(first.group(1))
    if [int(number) for _, number in found] != list(range(start, start + line_count)):
        return None
    prefixes = [prefix for prefix, _ in found]
    plain = pattern.sub("", numbered)
    if final_empty:
        prefixes.append("")
        plain += "\n"
    return tuple(prefixes), plain, start


def open_envelope(text: str) -> Envelope:
    """Take the agent tool's wrapping off `text` (a bare envelope when there is none)."""
    head, rest = _split_head(text)
    body, tail = _split_tail(rest)
    numbers = _split_numbers(body)
    if numbers is not None:
        prefixes, plain, first = numbers
        plain, codes = _strip_terminal_codes(plain)
        return Envelope(head, plain, tail, prefixes, first, codes)
    body, codes = _strip_terminal_codes(body)
    return Envelope(head, body, tail, None, head.count("\n") + 1, codes)


def _strip_terminal_codes(body: str) -> tuple[str, int]:
    """`body` as a terminal shows it, and how many control sequences and overwritten updates
    that took out. The lines stay the lines they were (neither holds a newline), so line
    numbers still address them. A text with no newline at all is left as it is: its carriage
    returns end lines (an old Mac file), they overwrite nothing."""
    removed = 0
    if "\x1b" in body:
        body, removed = _TERMINAL_CODE.subn("", body)
    if "\r" in body and "\n" in body:
        overwritten = 0

        def shown(line: re.Match[str]) -> str:
            nonlocal overwritten
            text, hidden = _terminal_line(line.group(0))
            overwritten += hidden
            return text

        body = _LONE_CR_LINE.sub(shown, body)
        removed += overwritten
    return body, removed


def _terminal_line(line: str) -> tuple[str, int]:
    """A line of carriage-return-separated updates as a terminal leaves it, and how many updates
    it hid (0: the line as it was)."""
    kept: list[str] = []
    hidden = 0
    for piece in line.split("\r"):
        if kept and not piece:
            continue  # another carriage return: nothing written
        last = kept[-1] if kept else None
        if last is not None and (
            not last.strip()
            or (len(piece) >= len(last) and (not piece.strip() or (_PROGRESS.search(piece) and _PROGRESS.search(last))))
        ):
            kept[-1] = piece
            hidden += 1
        else:
            kept.append(piece)
    return ("\r".join(kept), hidden) if hidden else (line, 0)


def numbering_shift(text: str) -> int:
    """How far the line numbers a tool showed are from counting the lines of `text` itself
    (0 when its lines are not numbered): retrieval addresses lines by the numbers shown."""
    envelope = open_envelope(text)
    if envelope.prefixes is None:
        return 0
    return envelope.first_line - 1 - envelope.head.count("\n")


def without_client_notes(text: str) -> str:
    """A user turn's own words, without the notes the client wrote into it (`_CLIENT_NOTE`):
    the task's terms and names come from these, not from a reminder's date or model name."""
    if "</" not in text:
        return text
    return _CLIENT_NOTE.sub("", text).strip()
