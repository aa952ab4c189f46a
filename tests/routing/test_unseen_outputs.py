"""Routing of real tool outputs of this machine, as agents send them (found by benchmarks/probe_unseen.py)."""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.formats.base import read_path
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect, looks_like_prose
from headroom.segments import ContentKind, SegmentContext


def _claude_read(text: str) -> str:
    """Claude Code's Read envelope: every line numbered `cat -n` style."""
    return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.split("\n"), 1))


def _fenced_metadata() -> tuple[str, str]:
    """An installed package's METADATA (a README with fenced code blocks) and its path."""
    for name in ("pydantic", "typer", "rich", "anthropic", "openai", "httpx"):
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        text = distribution.read_text("METADATA") or ""
        if text.count("```") >= 4 and len(text) > 4000:
            return text, str(Path(str(distribution.locate_file(""))) / f"{name}.dist-info" / "METADATA")
    pytest.skip("no installed package ships a METADATA with fenced code blocks")


def test_a_read_of_a_document_with_no_source_extension_is_a_document_not_code() -> None:
    """The path `.../METADATA` names no language: it must not let the line heuristics call a
    markdown README with python examples code before its fences are seen."""
    text, path = _fenced_metadata()
    assert detect(text, None).kind == ContentKind.MIXED
    assert detect(text, path).kind == ContentKind.MIXED
    read = _claude_read(text)
    store = MemoryStore()
    out, report = Pipeline(store=store).compress_text(read, SegmentContext(tool_name="Read", file_path=path))
    assert report.kind == "mixed"
    for ref in find_refs(out):
        stored = store.get(ref)
        assert stored is not None and stored.text == read


def test_a_path_naming_a_source_file_still_settles_code() -> None:
    source = Path(argparse.__file__).read_text()
    assert detect(source, argparse.__file__).kind == ContentKind.CODE
    assert detect(source, argparse.__file__).language == "python"


_TESTS_WITH_FAILURES = """
import pytest

@pytest.mark.parametrize("n", range(40))
def test_square(n):
    assert n * n == n ** 2

@pytest.mark.parametrize("n", [3, 7, 11])
def test_parity(n):
    assert n % 2 == 0, f"{n} is odd"

def test_parse():
    def parse(value):
        return int(value)
    assert parse("12x") == 12
"""


@pytest.mark.parametrize("verbosity", ["-q", "-v"])
def test_a_pytest_report_with_failures_is_a_test_report_not_code(tmp_path: Path, verbosity: str) -> None:
    """pytest's failure sections quote the test's source: the report is not a python file."""
    test_file = tmp_path / "test_report.py"
    test_file.write_text(_TESTS_WITH_FAILURES)
    command = [sys.executable, "-m", "pytest", verbosity, "-p", "no:cacheprovider", "-p", "no:randomly", str(test_file)]
    report_text = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120).stdout
    assert "FAILURES" in report_text
    assert detect(report_text).kind == ContentKind.TEST_REPORT
    store = MemoryStore()
    out, report = Pipeline(store=store).compress_text(report_text, SegmentContext(tool_name="Bash"))
    assert report.kind == "test_report"
    for failed in ("test_parity[3]", "test_parity[11]", "test_parse", "ValueError"):
        assert failed in out
    for ref in find_refs(out):
        stored = store.get(ref)
        assert stored is not None and stored.text == report_text


def test_a_kind_hint_that_saves_nothing_gives_way_to_the_detected_kind() -> None:
    """The logs compressor can do nothing with a python module: the unit is then compressed,
    and reported, as the code it was detected to be (before, the hinted kind ran again)."""
    source = Path(argparse.__file__).read_text()
    detected, detected_report = Pipeline(store=MemoryStore()).compress_text(source)
    assert detected_report.kind == "code" and detected_report.compressor == "code"
    hinted, report = Pipeline(store=MemoryStore()).compress_text(source, kind=ContentKind.LOGS)
    assert (report.kind, report.compressor) == ("code", "code")
    assert hinted == detected
    assert "kind hint logs changed nothing" in (report.diagnostic or "")
    # Plain text is always honoured: the caller asked for the unit to be left as it is.
    as_text, report = Pipeline(store=MemoryStore()).compress_text(source, kind=ContentKind.TEXT)
    assert report.kind == "text" and len(as_text) >= len(source) - source.count(" \n")


def test_an_ini_or_toml_file_is_not_reported_as_broken_json() -> None:
    """`[build-system]` / `[console_scripts]` open many config files: a section header, not a
    JSON array that failed to parse (the diagnostic users see in their stats)."""
    site = Path(importlib.metadata.distribution("pytest").locate_file(""))
    configs = sorted(site.glob("*.dist-info/entry_points.txt"))
    configs = [c for c in configs if c.read_text().startswith("[")]
    if not configs:
        pytest.skip("no installed package ships an entry_points.txt")
    for config in configs:
        assert detect(config.read_text(), str(config)).note is None, config
    broken = "[" + ", ".join(f'{{"n": {i}}}' for i in range(200)) + ",, {}]"  # a JSON array that does not parse
    assert "does not parse" in (detect(broken).note or "")


# Article 1 of the Universal Declaration of Human Rights, in the UN's official languages (public domain).
_DECLARATION = {
    "fr": "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison "
    "et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité. ",
    "ru": "Все люди рождаются свободными и равными в своем достоинстве и правах. Они наделены разумом и "
    "совестью и должны поступать в отношении друг друга в духе братства. ",
    "es": "Todos los seres humanos nacen libres e iguales en dignidad y derechos y, dotados como están de "
    "razón y conciencia, deben comportarse fraternalmente los unos con los otros. ",
}
_VIM_TUTORS = Path("/usr/share/vim/vim90/tutor")


@pytest.mark.parametrize("language", sorted(_DECLARATION))
def test_prose_in_other_scripts_and_accented_languages_is_prose(language: str) -> None:
    """Words were counted in ASCII letters only: French lost its accented words, Russian all of them."""
    text = "".join([_DECLARATION[language]] * 3 + [_DECLARATION[language].upper()] * 2)
    assert detect(text).kind == ContentKind.PROSE


# The same article in Chinese (an official UN language), Japanese and Korean: words without
# spaces between them (Korean: particles joined to them), characters two columns wide.
_DECLARATION_WIDE = {
    "zh": "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。",
    "ja": "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。"
    "人間は、理性と良心とを授けられており、互いに同胞の精神をもって行動しなければならない。",
    "ko": "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다. "
    "인간은 천부적으로 이성과 양심을 부여받았으며 서로 형제애의 정신으로 행동하여야 한다. ",
}


@pytest.mark.parametrize("language", sorted(_DECLARATION_WIDE))
def test_chinese_japanese_and_korean_prose_is_prose(language: str) -> None:
    """Counted by characters, letters were under half of such a text (a character two columns
    wide, full-width punctuation): it passed as plain text, never compressed."""
    article = _DECLARATION_WIDE[language]
    # Laid out as a tutorial is (vim's): indented lines of twenty characters, a rule under each
    # paragraph. By characters that is 0.42-0.53 letters, by width 0.57-0.67.
    lines = [f"     {article[k : k + 20]}" for k in range(0, len(article), 20)]
    paragraph = "\n".join([*lines, "~" * 28])
    text = "\n\n".join([paragraph] * 8)  # the sniffer's question: sentences? (repeated: 'repeats')
    assert looks_like_prose(text)
    # Set in a table of numbers instead, it is not prose.
    table = "\n".join(f"{n:>6} {n * 7:>8} {n * 13:>8} {_DECLARATION_WIDE[language][:6]}" for n in range(80))
    assert not looks_like_prose(table)


@pytest.mark.parametrize(
    "tutor",
    ["tutor.fr.utf-8", "tutor.ru.utf-8", "tutor.el.utf-8", "tutor.uk.utf-8", "tutor.ja.utf-8", "tutor.zh.utf-8"],
)
def test_vims_translated_tutors_are_prose(tutor: str) -> None:
    path = _VIM_TUTORS / tutor
    if not path.is_file():
        pytest.skip(f"{path} is not installed")
    text = path.read_text(encoding="utf-8")
    assert detect(text).kind == ContentKind.PROSE
    store = MemoryStore()
    out, report = Pipeline(store=store).compress_text(text)
    assert report.kind == "prose" and report.tokens_after < report.tokens_before
    for ref in find_refs(out):
        stored = store.get(ref)
        assert stored is not None and stored.text == text


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "language"),
    [("Makefile", "makefile"), ("pyproject.toml", "toml"), ("deploy.sh", "shell"), (".github/ci.yml", "yaml")],
)
def test_a_source_or_config_file_without_an_outline_is_read_whole(name: str, language: str) -> None:
    """A script, a Makefile, a config: read to be edited, and no outline exists for them here. As
    prose, lines were dropped for their words (Sphinx's Makefiles lost 40% of their tokens); they
    stay whole."""
    sources = {
        "Makefile": (REPO / "Makefile").read_text(encoding="utf-8"),
        "pyproject.toml": (REPO / "pyproject.toml").read_text(encoding="utf-8"),
        "deploy.sh": (REPO / "scripts" / "ensure-redis.sh").read_text(encoding="utf-8"),
        # The project's config lines as CI steps: real lines in a YAML shape.
        ".github/ci.yml": "\n".join(
            f"  - run: {line}" for line in (REPO / "pyproject.toml").read_text(encoding="utf-8").split("\n") if line
        ),
    }
    text = _claude_read(sources[name] * 3)  # long enough to be worth compressing
    path = f"/work/project/{name}"
    context = SegmentContext("Read", f'{{"file_path": "{path}"}}', "why does the release build fail?", path)
    out, report = Pipeline().compress_text(text, context)
    assert out == text
    assert report.kind == "code" and report.diagnostic == f"{language} file: no outline for it, left whole"


def _codex_request(command: str, output: str) -> dict[str, object]:
    header = (
        "Chunk ID: 5e1f2a\nWall time: 0.0000 seconds\nProcess exited with code 0\nOriginal token count: 900\nOutput:\n"
    )
    return {
        "model": "gpt-5",
        "input": [
            {"role": "user", "content": "why does the release build fail?"},
            {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": f'{{"cmd": "{command}"}}'},
            {"type": "function_call_output", "call_id": "c1", "output": header + output},
        ],
    }


def test_a_script_printed_by_a_shell_read_is_read_whole_too() -> None:
    """Codex reads with `cat`, `sed -n`, `nl`: the file the command prints is named by the command.
    A compound command prints more than the file (`cat Makefile && make`): nothing is named."""
    script = (REPO / "scripts" / "ensure-redis.sh").read_text(encoding="utf-8") * 3
    result = Pipeline().compress_request(_codex_request("cat scripts/ensure-redis.sh", script), "responses")
    assert result.request["input"][2]["output"].endswith(script)
    (unit,) = result.stats.units
    assert unit.diagnostic == "shell file: no outline for it, left whole"
    for command in (
        "cat scripts/ensure-redis.sh && make",  # prints more than the file
        "cat scripts/ensure-redis.sh | bash",  # prints what the script does
        "echo $(cat scripts/ensure-redis.sh)",
        "cat scripts/*.sh",
    ):
        other = Pipeline().compress_request(_codex_request(command, script), "responses")
        assert other.stats.units[0].diagnostic != "shell file: no outline for it, left whole", command
    assert read_path("exec_command", '{"cmd": "nl -ba src/app.rb | sed -n 10,40p"}') == "src/app.rb"
    assert read_path("exec_command", '{"cmd": "sed -i s/a/b/ src/app.rb"}') is None
    # A `;` inside quotes is the sed script's, not the shell's: two ranges of one file.
    assert read_path("exec_command", json.dumps({"cmd": "sed -n '1,80p;200,260p' src/app.rb"})) == "src/app.rb"
    assert read_path("exec_command", json.dumps({"cmd": "sed -n '1,8p' src/app.rb; rm -rf tmp"})) is None
    assert read_path("exec_command", json.dumps({"cmd": 'cat "$(ls src)"'})) is None  # runs even when quoted
    # Quotes are read left to right as the shell does: a quote inside the other kind, an escaped
    # one, or ANSI-C quoting cannot hide an operator; a sed script that runs or writes is no read.
    for command in (
        """cat "it's.txt"; rm -rf build; echo "'" """,
        """cat "'"`id`"'" """,
        "cat \\'a.py; make; echo \\'",
        'cat \\"a.py; make; echo "\\""',
        "cat $'a\\'' ; rm -rf y ; echo 'b'",
        "sed -n '1,5p;e touch x' src/app.rb",
        "sed -n '1p;w /tmp/out' src/app.rb",
        "cat 'src/app.rb",
    ):
        assert read_path("exec_command", json.dumps({"cmd": command})) is None, command
    assert read_path("exec_command", json.dumps({"cmd": 'cat "my notes.md" | head -40'})) == "my notes.md"


def test_a_file_too_big_to_be_edited_by_hand_takes_the_route_its_content_shows() -> None:
    """A 300 KB YAML of generated definitions is data, not a config one edits by hand."""
    text = "\n".join(
        f"- name: op_{i}\n  doc: computes the {i}th value of the series for the caller" for i in range(4000)
    )
    path = "/work/project/gen/native_functions.yaml"
    context = SegmentContext("Read", f'{{"file_path": "{path}"}}', "which op computes the series?", path)
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, context)
    assert len(text) > 100_000 and report.kind == "yaml" and report.diagnostic is None
    # Its items are listed by name where they were cut: the file still reads as an index.
    assert report.tokens_after < report.tokens_before * 0.3 and "op_2000, op_2001" in out


def test_columns_lined_up_in_a_config_file_are_that_file_not_a_table() -> None:
    """An fstab-style `.conf`: a table to the sniffers, a file to edit by its path."""
    rows = [
        f"/dev/sd{chr(97 + i % 20)}{i // 20 + 1:<10}/mnt/disk{i:<5}{'ext4' if i % 3 else 'xfs':<8}"
        f"{'defaults,noatime' if i % 2 else 'defaults':<20}0   2"
        for i in range(40)
    ]
    text = "# <device>    <mount>       <type>  <options>           <dump> <pass>\n" + "\n".join(rows) + "\n"
    assert detect(text).kind == ContentKind.TABLE
    assert detect(text, "/etc/fstab.conf").kind == ContentKind.CODE


_MIME_DATABASE = Path("/usr/share/mime/packages/freedesktop.org.xml")  # shared-mime-info, on Debian


@pytest.mark.skipif(not _MIME_DATABASE.is_file(), reason="shared-mime-info is not installed")
def test_xml_is_read_whole_as_a_config_and_never_taken_for_prose() -> None:
    """An XML file (a pom.xml, a .csproj, a registry) is markup: read by path at a size one edits,
    it stays whole; bigger, it is XML (its comments read like sentences, but as prose a sentence
    marker glued the tag lines around the ones it hid)."""
    database = _MIME_DATABASE.read_text(encoding="utf-8")
    small = "\n".join(database.split("\n")[:600])
    path = "/work/project/config/mime-types.xml"
    context = SegmentContext("Read", f'{{"file_path": "{path}"}}', "which glob maps to text/x-python?", path)
    out, report = Pipeline().compress_text(_claude_read(small), context)
    assert out == _claude_read(small) and report.diagnostic == "XML file read by path: left whole to be edited"
    assert len(database) > 100_000
    assert detect(database).kind == ContentKind.XML
    for text in (database, _claude_read(database)):  # the pipeline reads past Read's line numbers
        _, report = Pipeline().compress_text(text, context)
        assert report.kind == "xml"


def test_a_readme_under_an_html_banner_is_still_prose() -> None:
    """A GitHub README opens with centred HTML (logo, badges) before its markdown: many tag
    lines, but headings and paragraphs after them. (An XML file has tags and no headings.)"""
    banner = (
        '<p align="center">\n  <img src="docs/logo.png" alt="Widget" width="200">\n</p>\n'
        '<h1 align="center">Widget</h1>\n<p align="center">\n'
        + "".join(
            f'  <a href="https://example.org/{k}"><img src="https://img.shields.io/badge/{k}.svg"></a>\n'
            for k in ("pypi", "ci", "codecov", "docs", "license", "downloads")
        )
        + "</p>\n<https://widget.example.org>\n\n"
    )
    sections = "".join(
        f"## {title}\n\n{title} is covered here. Widget keeps the {title.lower()} short and plain. "
        "The core does the heavy lifting, and the Python layer adds no copies at all.\n\n"
        for title in ("Installation", "Usage", "Configuration")
    )
    assert detect(banner + sections).kind == ContentKind.PROSE


def test_settings_one_per_line_are_not_prose() -> None:
    """`python -m sysconfig`: a few hundred `KEY = "value"` lines. Their values hold sentences
    (a configure command, compiler flags), but each line is a setting; as prose, 324 of them
    went behind a marker naming none of their keys."""
    done = subprocess.run([sys.executable, "-m", "sysconfig"], capture_output=True, text=True, timeout=60, check=True)
    text = done.stdout
    assert text.count(" = ") > 200
    assert detect(text).kind != ContentKind.PROSE


def _changelog(releases: int = 120) -> str:
    """A CHANGELOG.md the way GitHub's release notes write it: a heading per release over one
    bullet per pull request, no full stop at the end of any."""
    out = ["# Version History", ""]
    for r in range(releases, 0, -1):
        out.append(f"## Release v2.{r // 10}.{r % 10}")
        for k in range(1 + r % 5):
            what = f"Add CPython 3.{8 + r % 6}.{r}" if k == 0 else f"rehash: speed up shim {k} discovery for plugin {r}"
            out.append(f"* {what} by @dev{(r * 7 + k) % 13} in https://github.com/acme/tool/pull/{3000 + r * 5 + k}")
        out.append("")
    return "\n".join(out)


def test_a_changelog_of_headings_over_bullets_is_prose() -> None:
    """Bullets with no full stop are a changelog's sentences: it was plain text, passed whole
    (pyenv's CHANGELOG.md: 35.7k tokens as Claude Code reads it)."""
    text = _changelog()
    assert detect(text).kind == ContentKind.PROSE
    read = _claude_read(text)
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(
        read, SegmentContext("Read", None, "Which release added CPython 3.12.70?")
    )
    assert report.compressor == "prose" and report.tokens_after < 0.8 * report.tokens_before
    lines = read.split("\n")
    named = next(i for i, line in enumerate(lines) if "CPython 3.12.70 " in line)
    heading = max(i for i in range(named) if "## Release" in lines[i])
    shown = out.split("\n")  # each kept line under the number the agent saw (unpadded)
    assert lines[named].lstrip() in shown and lines[heading].lstrip() in shown
    (ref,) = set(find_refs(out))
    assert retrieve(store, ref).text == read
    # A YAML document's `---` and `- item` lines are no markdown headings over lists.
    yaml_lists = "---\n" + "".join(f"- name: step {n}\n  run: make target{n}\n" for n in range(40))
    assert not looks_like_prose(yaml_lists)


def _debian_changelog() -> str:
    """The first 2000 lines of this machine's biggest Debian changelog (`zcat changelog.Debian.gz`)."""
    found = sorted(Path("/usr/share/doc").glob("*/changelog.Debian.gz"), key=lambda p: p.stat().st_size)
    if not found or found[-1].stat().st_size < 20_000:
        pytest.skip("no big Debian changelog on this machine")
    with gzip.open(found[-1], "rt", encoding="utf-8", errors="replace") as changelog:
        return "".join(itertools.islice(changelog, 2000))


def test_a_debian_changelog_is_prose_and_keeps_its_entry_lines() -> None:
    """`zcat changelog.Debian.gz`: entries of items with no full stop under a line naming the
    version (linux's: 34.8k tokens passed whole as text). The version lines and sign-offs are no
    items: they stay, so the item the task names still sits under its version."""
    text = _debian_changelog()
    lines = text.split("\n")
    entries = [i for i, line in enumerate(lines) if re.match(r"\S+ \([^)]+\) [\w-]+; urgency=", line)]
    items = [i for i, line in enumerate(lines) if re.match(r"\s+[-*] ", line)]
    if len(entries) < 2 or len(items) * 2 < len(lines) // 2:
        pytest.skip("this machine's biggest Debian changelog is not a list of items")
    assert detect(text).kind == ContentKind.PROSE
    named = items[len(items) * 2 // 3]
    words = re.findall(r"[A-Za-z_]{5,}", lines[named])
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        text, SegmentContext("Bash", None, f"Which version has the change about {' '.join(words[:3])}?")
    )
    assert report.compressor == "prose" and report.tokens_after < 0.8 * report.tokens_before
    shown = out.split("\n")
    assert all(lines[i] in shown for i in entries)
    assert lines[named] in shown


def test_a_markdown_file_opening_with_html_tables_is_a_document() -> None:
    """Node.js's CHANGELOG_V010.md opens with an HTML table of release links (no sentence in
    the sniffed head); read by its path it is a document, compressed as prose, not text passed
    whole. The same head with no path stays text."""
    links = "".join(f'<a href="#0.10.{n}">0.10.{n}</a><br/>\n' for n in range(48, 0, -1))
    table = f'# Node.js 0.10 ChangeLog\n\n<table>\n<tr>\n<td valign="top">\n{links}</td>\n</tr>\n</table>\n\n'
    fixes = [
        "timers: fix a leak when a timer is unref'd and then cleared from its own callback",
        "http: do not emit the close event twice when the socket is destroyed early",
        "stream: make the readable side stop flowing when the consumer pauses it",
        "child_process: close the pipes of a child that exits before it is spawned",
        "fs: report the right path when a watcher fails on a removed directory",
    ]
    notes = "".join(
        f'<a id="0.10.{n}"></a>\n## 2016.10.{n:02d}, Version 0.10.{n} (Maintenance)\n\n'
        + "".join(f"* {fixes[(n + k) % len(fixes)]}\n" for k in range(3))
        + (f"* openssl: address CVE-2016-{6300 + n}, a denial of service\n" if n % 4 == 0 else "")
        + "\n"
        for n in range(48, 0, -1)
    )
    text = table + notes
    assert detect(text).kind == ContentKind.TEXT
    assert detect(text, "doc/changelogs/CHANGELOG_V010.md").kind == ContentKind.PROSE
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        _claude_read(text),
        SegmentContext("Read", None, "Which release fixed CVE-2016-6340?", "doc/changelogs/CHANGELOG_V010.md"),
    )
    assert report.compressor == "prose" and report.tokens_after < 0.8 * report.tokens_before
    assert "CVE-2016-6340" in out
