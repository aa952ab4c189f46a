"""Delimited tables: the header and the telling rows stay verbatim, the rest is one retrieval away."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.compressors import table
from headroom.compressors._table_rows import select_rows
from headroom.compressors.table import looks_like_table
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, SegmentContext
from tests.factories import customer_rows, unpadded


def _csv(rows: list[dict[str, object]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _compress(text: str, query: str = "Which customer is suspended?") -> tuple[str, MemoryStore, float]:
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(text, SegmentContext("Read", None, query))
    return out, store, report.tokens_after / report.tokens_before


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_a_big_table_keeps_its_header_and_the_telling_rows(delimiter: str) -> None:
    rows = customer_rows(400)
    rows[200]["notes"] = "disputed, refund pending"  # a quoted field holding the delimiter
    text = _csv(rows, delimiter)
    assert detect(text).kind == ContentKind.TABLE
    out, store, ratio = _compress(text)
    assert ratio < 0.35
    lines = text.split("\n")
    out_lines = out.split("\n")
    assert out_lines[0] == lines[0]
    suspended = next(line for line in lines if "suspended" in line)
    outlier = next(line for line in lines if "9999999" in line)
    assert suspended in out_lines and outlier in out_lines
    # Every line is a line of the file or a marker naming the lines it stands for.
    assert all(line in lines or line.startswith("[headroom:") for line in out_lines)
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text


def test_the_row_the_task_names_stays_though_column_names_match_every_row() -> None:
    # A file list whose columns are named like the task's words (`version`, `sha256`, `size`):
    # a match must be on values, and the row the task names by its file name stays.
    rows = [
        {
            "filename": f"tool-{v // 10}.{v % 10}.0-py3-none-any.whl",
            "version": f"{v // 10}.{v % 10}.0",
            "size": 200_000 + 37 * v,
            "requires_python": ">=3.8" if v > 60 else ">=3.7",
            "sha256": f"{v:064x}",
        }
        for v in range(10, 130)
    ]
    query = "What size and sha256 does version tool-11.3.0-py3-none-any.whl have, and which need python 3.8?"
    out, _, _ = _compress(_csv(rows), query)
    assert "tool-11.3.0-py3-none-any.whl,11.3.0,204181," in out


def test_the_package_the_task_names_stays_among_many_categories() -> None:
    """`dpkg-query` as CSV: five big sections and ten that hold four packages each (rare values:
    they alone fill the rows' budget), and the task's words inside other words ("diskette").
    The row of the package the task names (`postgresql-15`) still stays: the rows the task
    names come before the table's exceptions, names before words, and a word matches whole."""
    rows = [
        {
            "package": f"pkg{i}-utils" if i != 150 else "postgresql-15",
            "version": f"{i % 9}.{i}-1",
            "installed_size_kb": 1000 + 13 * i,
            "section": f"small{i % 10}" if 20 <= i < 60 else f"section{i % 5}",
            "summary": f"toolbox of helpers {i}: they take little disk and ship in a box",
        }
        for i in range(290)
    ]
    rows += [{**rows[i], "package": f"postgresql-client-{i}"} for i in (10, 20)]
    for i, word in ((5, "diskette"), (6, "muchness"), (7, "takeaway"), (8, "thereafter")):
        rows[i]["summary"] = f"{word} support {i}"  # the task's words inside other words, in one row each
    query = "In packages.csv, how much disk does postgresql-15 take? Is the toolbox there?"
    out, _, ratio = _compress(_csv(rows), query)
    assert ratio < 0.5
    assert "postgresql-15,6.150-1,2950,section0," in out


def test_a_task_that_does_not_touch_the_table_adds_no_rows() -> None:
    text = _csv(customer_rows(2000))
    alone, _, _ = _compress(text, "")
    unrelated, _, _ = _compress(text, "summarize the deployment timeline")
    assert unrelated == alone


def test_small_tables_and_ragged_text_pass_whole() -> None:
    small = _csv(customer_rows(30))
    assert _compress(small)[0] == small
    prose = "Hello, world, again.\nThis, that, and the other.\n" * 40
    assert not looks_like_table(prose)


def _series(rows: int) -> str:
    """A daily series as `pandas.Series.to_csv` writes it: a date and a closing price."""
    start = date(2021, 1, 4)
    prices = (f"{100 + (n * 37 % 91) / 7:.2f}" for n in range(rows))
    return "date,close\n" + "".join(f"{start + timedelta(days=n)},{price}\n" for n, price in enumerate(prices))


@pytest.mark.parametrize("numbered", [False, True])
def test_a_two_column_series_is_a_table(numbered: bool) -> None:
    text = _series(500)
    if numbered:  # Claude Code's Read
        text = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.split("\n"), 1))
    query = "What was the close on 2021-08-02?"
    # A date, a time, a version, an address: terms whole, as their parts name nothing.
    assert SegmentContext(user_query=query + " 07:29:04 3.0.16 10.0.0.5.").terms() >= {
        "2021-08-02",
        "07:29:04",
        "3.0.16",
        "10.0.0.5",
    }
    out, store, ratio = _compress(text, query)
    assert ratio < 0.2
    assert "2021-08-02,1" in out  # the row the task names
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text


def test_two_fields_are_a_table_only_with_a_typed_column() -> None:
    names = "last, first\n" + "".join(f"Name{n}, Given{n}\n" for n in range(200))
    assert not looks_like_table(names)
    page = "".join(f"{n}, 0x{n * 2654435761 % 2**64:x}\n" for n in range(200))
    assert looks_like_table("seed, 0xdeadbeaf\n" + page)
    assert looks_like_table(page)  # a page from the middle (a ranged read): rows only


def test_rows_that_do_not_parse_to_the_header_width_are_kept() -> None:
    text = _csv(customer_rows(300))
    lines = text.split("\n")
    lines[150] = "broken,row"
    out, _, _ = _compress("\n".join(lines))
    assert "broken,row" in out.split("\n")


def test_numbered_read_of_a_csv_keeps_numbers_and_marks_file_lines() -> None:
    text = _csv(customer_rows(300))
    numbered = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.split("\n"), 1))
    out, store, ratio = _compress(numbered)
    assert ratio < 0.35
    assert out.split("\n")[0] == unpadded(numbered).split("\n")[0]
    assert "lines " in out and "[headroom:" in out
    (ref,) = find_refs(out)
    assert retrieve(store, ref, lines="5-5").text == numbered.split("\n")[4]


def test_a_page_from_the_middle_of_a_csv_is_a_table_too() -> None:
    text = _csv(customer_rows(400))
    page = "\n".join(f"{n}\t{line}" for n, line in enumerate(text.split("\n")[201:], 202))
    out, store, ratio = _compress(page)
    assert ratio < 0.4
    assert all(line in page.split("\n") or line.startswith("[headroom:") for line in out.split("\n"))
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == page


def _pods(count: int, crashing: frozenset[int] = frozenset({77}), pending: frozenset[int] = frozenset()) -> str:
    """`kubectl get pods -o wide`'s shape: columns padded to their widest value, a cell with a
    space in it (RESTARTS `2 (5m ago)`), one pod crash-looping, one restarted far more often."""
    rows = [("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE")]
    for n in range(count):
        status = "CrashLoopBackOff" if n in crashing else "Pending" if n in pending else "Running"
        restarts = "412 (3m ago)" if n == 77 else "2 (5h ago)" if n % 5 == 0 else "0"
        rows.append(
            (
                f"api-{n:03d}-7d9f{n % 10}",
                "1/1",
                status,
                restarts,
                f"{n % 9 + 1}d",
                f"10.0.{n // 200}.{n % 200}",
                f"node-{n % 4}",
            )
        )
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return (
        "\n".join(
            "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
        )
        + "\n"
    )


def test_a_space_aligned_table_keeps_the_telling_rows_and_names_the_rest() -> None:
    text = _pods(300)
    assert detect(text).kind == ContentKind.TABLE
    out, store, ratio = _compress(text, query="why is api-150-7d9f0 slow?")
    assert ratio < 0.6
    lines = text.split("\n")
    out_lines = out.split("\n")
    assert out_lines[0] == lines[0]
    crash = next(line for line in lines if "CrashLoopBackOff" in line)
    asked = next(line for line in lines if line.startswith("api-150-"))
    assert crash in out_lines and asked in out_lines
    assert all(line in lines or line.startswith("[headroom:") for line in out_lines)
    for n in range(300):  # each pod stays named, its row in full or in a marker's listing
        assert f"api-{n:03d}-7d9f{n % 10}" in out
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text
    assert _compress(text, query="why is api-150-7d9f0 slow?")[0] == out  # same input, same bytes


def test_tables_of_one_shape_in_blocks_are_read_together() -> None:
    """`ls -laR`'s shape: a `dir:` line and a `total N` line before each directory's rows."""
    blocks = []
    for d in range(40):
        rows = [
            f"drwxr-xr-x  {d % 3 + 2} root root  4096 Nov 30 13:49 .",
            "drwxr-xr-x 12 root root  4096 Nov 30 13:49 ..",
        ]
        rows += [
            f"-rw-r--r--  1 root root {(f * 977 + d) % 9000 + 100:5d} Nov 30 13:49 mod_{d}_{f}.py" for f in range(4)
        ]
        blocks.append(f"/srv/app/pkg{d}:\ntotal {d + 8}\n" + "\n".join(rows))
    text = "\n\n".join(blocks) + "\n"
    assert detect(text).kind == ContentKind.TABLE
    out, store, ratio = _compress(text, query="list the files")
    assert ratio < 0.75
    for d in range(40):
        assert f"/srv/app/pkg{d}:\ntotal {d + 8}\n" in out
        assert all(f"mod_{d}_{f}.py" in out for f in range(4))
    (ref,) = find_refs(out)
    assert retrieve(store, ref).text == text


def test_a_small_aligned_table_passes_whole() -> None:
    text = _pods(20)
    assert detect(text).kind == ContentKind.TABLE
    assert _compress(text)[0] == text


def test_a_marker_lists_rows_only_when_they_have_identity_cells() -> None:
    """`ls -la /proc`: the process directories have numeric names and no column identifies them
    by words; the marker names the lines, never a list of empty names (", , , ")."""
    assert table._listing([{"name": "a"}, {"name": "b"}], []) == ""
    assert table._listing([{"name": "a"}, {"name": ""}], ["name"]) == ""
    assert table._listing([{"name": "a"}, {"name": "b"}], ["name"]) == "a, b"
    if not Path("/proc/self").exists() or shutil.which("ls") is None:
        pytest.skip("no /proc here")
    listing = subprocess.run(["ls", "-la", "/proc"], capture_output=True, text=True, timeout=30).stdout
    out, _ = Pipeline(store=MemoryStore()).compress_text(listing, SegmentContext(tool_name="Bash"))
    assert not re.search(r": (?:, )+", out)


def test_every_status_of_a_command_table_shows_one_row_even_when_it_is_not_rare() -> None:
    """150 pods, 10 crash-looping and 8 pending (5-7% each: not rare, yet each a kind of row a
    reader looks for): one row of each stays verbatim; the others are named in the markers."""
    text = _pods(150, crashing=frozenset(range(20, 150, 13)), pending=frozenset(range(5, 150, 17)))
    lines = text.split("\n")
    for status in ("CrashLoopBackOff", " Pending "):
        assert 0.05 * 150 < sum(status in line for line in lines) < 0.2 * 150  # not rare, not common
    out, _, _ = _compress(text)
    shown = set(out.split("\n"))
    assert any("CrashLoopBackOff" in line and line in lines for line in shown)
    assert any(" Pending " in line and line in lines for line in shown)


def test_one_off_events_stay_when_mid_sized_kinds_would_fill_the_rows() -> None:
    """200 events of 19 kinds: three common kinds, six of 8 rows each (4%: under the 5% share,
    yet ordinary next to the typical row's kind of 50), and ten that happen once. The one-offs
    are the telling rows; the mid-sized kinds come first in the file and used to take the whole
    row budget (every row of each), leaving the one-offs to the marker."""
    events: list[tuple[str, str]] = []
    for k in range(4, 10):  # the mid-sized kinds first
        events += [(f"E{k}", f"reverse mapping check {k} for customer-{i}.example.net failed") for i in range(8)]
    for k, count in ((1, 60), (2, 50), (3, 40)):
        events += [(f"E{k}", f"session {k} opened for user u{i} from 10.0.{k}.{i} port 22") for i in range(count)]
    one_offs = [f"one-off failure {k}: disk sd{k} went read-only" for k in range(10, 20)]
    for k, message in enumerate(one_offs):
        events.insert(60 + 13 * k, (f"E{k + 10}", message))
    rows = [
        {"line": 900 + n, "time": f"09:{n // 60:02d}:{n % 60:02d}", "host": "LabSZ", "pid": 24000 + 7 * n}
        | {"event": e, "message": m}
        for n, (e, m) in enumerate(events)
    ]
    assert len(rows) == 208
    out, _, ratio = _compress(_csv(rows), query="What went wrong on this host?")
    assert ratio < 0.5
    for message in one_offs:
        assert message in out


def test_a_one_off_value_in_a_small_table_is_rare() -> None:
    """Seven states of three rows each and one FAILED: the typical state has 3 rows, a quarter
    of which is 0, yet a value held by one row among values held by three is rare."""
    states = [f"S{k}" for k in range(7) for _ in range(3)]
    states.insert(12, "FAILED")
    rows: list[dict[str, object]] = [{"id": 1000 + i, "name": f"job-{i}", "state": s} for i, s in enumerate(states)]
    selection = select_rows(rows, ["id", "name", "state"], frozenset(), size_chars=3000, indexed=True)
    assert any(rows[i]["state"] == "FAILED" for i in selection.kept)


def test_a_quoted_field_with_line_breaks_keeps_its_row_together() -> None:
    """An export whose text fields hold line breaks (`sqlite3 -csv` of commit messages, issue
    bodies): a row spans several lines and is kept or dropped whole, and the markers count rows
    and name the lines they stood for (line by line, a row's continuation lines were rows of
    their own, kept without the line that opens them or dropped apart from it)."""
    rows = customer_rows(300)
    for row in rows:
        if row["id"] % 3 == 0:
            row["notes"] = f"Called on day {row['id'] % 28 + 1}.\nAsked about the invoice.\n\nFollow-up: none"
    text = _csv(rows)
    lines = text.split("\n")
    assert len(lines) > 550  # rows run over several lines
    out, store, ratio = _compress(text)
    assert ratio < 0.3
    shown_rows = list(
        csv.DictReader(io.StringIO("\n".join(line for line in out.split("\n") if "[headroom:" not in line)))
    )
    assert "user0137" in {row["login"] for row in shown_rows}
    original = {row["login"]: row for row in csv.DictReader(io.StringIO(text))}
    assert all(row == original[row["login"]] for row in shown_rows)  # every shown row whole, none glued
    counted = 0
    for n, first, last in re.findall(r"(\d+) rows(?:, | omitted \()lines? (\d+)(?:-(\d+))?", out):
        span = "\n".join(lines[int(first) - 1 : int(last or first)]) + "\n"
        assert [row[1] for row in csv.reader(io.StringIO(span))] == [
            f"user{k - 1000:04d}" for k in (int(row[0]) for row in csv.reader(io.StringIO(span)))
        ]  # the lines named hold whole rows
        assert len(list(csv.reader(io.StringIO(span)))) == int(n)
        counted += int(n)
    assert counted + len(shown_rows) == 300
    (ref, *_) = find_refs(out)
    assert retrieve(store, ref).text == text


def test_a_path_in_the_task_finds_its_row_in_a_recursive_listing() -> None:
    """`ls -laR` shows "fields.py" on its row under a `pydantic:` line; the task says
    "pydantic/fields.py". The path names its file, and the row stays with its size."""
    if shutil.which("ls") is None:
        pytest.skip("no ls")
    root = Path(csv.__file__).parent  # the stdlib: a real tree of a few hundred rows
    listing = subprocess.run(["ls", "-laR", "email", "json", "xml"], cwd=root, capture_output=True, text=True).stdout
    row = next(line for line in listing.split("\n") if line.endswith(" _parseaddr.py"))
    assert len(listing.split("\n")) > 150
    out, _, _ = _compress(listing, query="how big is email/_parseaddr.py?")
    assert row in out.split("\n")
    assert SegmentContext(user_query="open src/pkg/util.py and lib/a/").terms() >= {"src/pkg/util.py", "util.py"}


def test_a_quote_left_open_does_not_swallow_the_rows_after_it() -> None:
    """A field that opens a quote and never closes it (`5" screen` at a field's start, a TSV
    where quotes mean nothing) or a field past the csv module's size limit: the lines after it
    are still rows, read one by one, and the table compresses as it did before rows could span
    lines."""
    rows = customer_rows(300)
    plain = _csv(rows)
    lines = plain.split("\n")
    stray = "\n".join([*lines[:40], lines[40].replace(",pro,", ',"15 inch,', 1), *lines[41:]])
    tsv = _csv(rows, delimiter="\t")
    tsv_lines = tsv.split("\n")
    tsv = "\n".join([*tsv_lines[:12], tsv_lines[12].replace("\tteam\t", '\t"team\t', 1), *tsv_lines[13:]])
    huge = "\n".join([*lines[:250], lines[250].replace(",free,", ',"' + "x" * 200_000 + '",', 1), *lines[251:]])
    for text in (stray, tsv, huge):
        out, store, ratio = _compress(text)
        assert ratio < 0.5, text[:80]
        assert "user0137" in out  # the suspended customer, far below the bad line
        (ref, *_) = find_refs(out)
        assert retrieve(store, ref).text == text


def _sqlite_db(path: Path, tables: dict[str, list[tuple[object, ...]]]) -> None:
    """A database of `tables` (`"name(columns...)"` -> rows), for the sqlite3 shell to print."""
    import sqlite3

    if shutil.which("sqlite3") is None:
        pytest.skip("no sqlite3 shell")
    with sqlite3.connect(path) as db:
        for schema, rows in tables.items():
            db.execute(f"CREATE TABLE {schema}")
            db.executemany(f"INSERT INTO {schema.split('(')[0]} VALUES({', '.join('?' * len(rows[0]))})", rows)


def _customers_db(path: Path, n: int = 200) -> None:
    import sqlite3

    rows = customer_rows(n)
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE customers({', '.join(rows[0])})")
        db.executemany(
            f"INSERT INTO customers VALUES({', '.join('?' * len(rows[0]))})", [tuple(r.values()) for r in rows]
        )
        db.execute("CREATE TABLE plans(name TEXT PRIMARY KEY, seats INTEGER)")
        db.executemany("INSERT INTO plans VALUES(?, ?)", [("free", 1), ("pro", 5), ("team", 50)])


def _sqlite3(tmp_path: Path, *args: str) -> str:
    if shutil.which("sqlite3") is None:
        pytest.skip("no sqlite3 shell")
    _customers_db(tmp_path / "billing.db")
    return subprocess.run(["sqlite3", *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout


def _check_rows_behind_markers(out: str, text: str, row_start: str, rows: int) -> None:
    """Each marker's lines hold as many rows (lines matching `row_start`) as it counts, and the
    rows shown and counted add up."""
    lines = text.split("\n")
    counted = 0
    for n, first, last in re.findall(r"(\d+) rows?(?:, | omitted \()lines? (\d+)(?:-(\d+))?", out):
        span = lines[int(first) - 1 : int(last or first)]
        assert sum(1 for line in span if re.match(row_start, line)) == int(n)
        counted += int(n)
    shown = sum(1 for line in out.split("\n") if re.match(row_start, line))
    assert counted + shown == rows


def test_sqlite_line_mode_rows_are_a_table_of_blocks(tmp_path: Path) -> None:
    """`sqlite3 -line` prints each row as a block of `name = value` lines: the block of the row
    the task asks about stays whole, the others go by runs, each marker naming its lines and the
    logins of its rows."""
    text = _sqlite3(tmp_path, "-line", "billing.db", "SELECT * FROM customers")
    assert detect(text).kind == ContentKind.TABLE
    out, store, ratio = _compress(text)
    assert ratio < 0.35
    block = text.split("\n\n")[136]
    assert "user0137" in block and block in out  # the suspended customer, whole
    assert re.search(r"rows omitted \(lines \d+-\d+\): user\d{4}\S*, user\d{4}", out)
    _check_rows_behind_markers(out, text, r"\s*id = ", rows=200)
    (ref, *_) = find_refs(out)
    assert retrieve(store, ref).text == text


def test_sqlite_column_mode_reads_its_columns_from_the_rule(tmp_path: Path) -> None:
    """`sqlite3 -column` pads each column to its widest value and draws a rule of dashes under
    the header: the rule gives the columns, though the few long notes fill the gutters the
    short ones leave open."""
    text = _sqlite3(
        tmp_path,
        "-column",
        "-header",
        "billing.db",
        "SELECT id, CASE WHEN id % 40 = 0 THEN 'called twice about the invoice, then asked for a refund of the fee'"
        " ELSE 'called on day ' || (id % 28) END AS notes, login, status, region FROM customers",
    )
    out, _, ratio = _compress(text)
    assert ratio < 0.5
    assert next(line for line in text.split("\n") if "user0137" in line) in out.split("\n")


def test_a_sqlite_dump_keeps_its_schema_and_the_telling_inserts(tmp_path: Path) -> None:
    """`sqlite3 .dump`: one INSERT per row, read with the names its CREATE TABLE gives; the
    schema and transaction lines stay, a table too small to thin (plans) stays whole, and the
    INSERT of the row the task asks about stays as it was written."""
    text = _sqlite3(tmp_path, "billing.db", ".dump")
    assert detect(text).kind == ContentKind.TABLE
    out, store, ratio = _compress(text)
    assert ratio < 0.35
    kept = out.split("\n")
    for line in text.split("\n"):
        if not line.startswith("INSERT INTO customers") and line:
            assert line in kept  # schema, BEGIN/COMMIT, the plans rows
    assert next(line for line in text.split("\n") if "'user0137'" in line) in kept
    _check_rows_behind_markers(out, text, "INSERT INTO customers", rows=200)
    (ref, *_) = find_refs(out)
    assert retrieve(store, ref).text == text


def test_apt_cache_show_stanzas_are_rows() -> None:
    """`apt-cache show` prints one `Name: value` stanza per package (a Description running on
    over indented lines): the package the task names keeps its whole stanza."""
    if shutil.which("apt-cache") is None or shutil.which("dpkg-query") is None:
        pytest.skip("no apt")
    names = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\n"], capture_output=True, text=True).stdout.split()
    if len(names) < 60 or "coreutils" not in names:
        pytest.skip("too few packages installed")
    shown = subprocess.run(["apt-cache", "show", *names[:80], "coreutils"], capture_output=True, text=True).stdout
    assert detect(shown).kind == ContentKind.TABLE
    out, store, ratio = _compress(shown, query="what does the coreutils package depend on?")
    assert ratio < 0.4
    stanza = next(block for block in shown.split("\n\n") if block.startswith("Package: coreutils\n"))
    assert stanza in out
    (ref, *_) = find_refs(out)
    assert retrieve(store, ref).text == shown


def test_psql_expanded_and_mysql_vertical_rows_are_tables() -> None:
    """psql's expanded display (`\\x`: `-[ RECORD n ]---` then `name | value`) and MySQL's `\\G`
    (`*** n. row ***` then `name: value`), as those shells print them."""
    rows = customer_rows(200)
    width = max(map(len, rows[0]))
    psql = "".join(
        f"-[ RECORD {n} ]{'-' * (width - 8)}+{'-' * 40}\n"
        + "".join(f"{name:<{width}} | {'' if value is None else value}\n" for name, value in row.items())
        for n, row in enumerate(rows, 1)
    )
    mysql = (
        "".join(
            f"{'*' * 27} {n}. row {'*' * 27}\n"
            + "".join(f"{name:>{width}}: {'NULL' if value is None else value}\n" for name, value in row.items())
            for n, row in enumerate(rows, 1)
        )
        + "200 rows in set (0.01 sec)\n"
    )
    for text in (psql, mysql):
        assert detect(text).kind == ContentKind.TABLE
        out, store, ratio = _compress(text)
        assert ratio < 0.35
        record = next(r for r in re.split(r"(?=-\[ RECORD|\*{27} )", text) if "user0137" in r)
        assert record in out
        assert "200 rows in set" in out or text is psql
        (ref, *_) = find_refs(out)
        assert retrieve(store, ref).text == text


def test_blocks_of_assignments_in_code_are_not_rows() -> None:
    """Functions whose bodies assign (`value = compute(...)` under `def f():`) are code: a
    block that does not open with a field is no row."""
    body = "\n".join(
        f"def handler_{i}(event):\n" + "".join(f"    value_{j} = step_{j}(event, {i})\n" for j in range(6))
        for i in range(40)
    )
    assert table.looks_like_table(body) is False


def test_record_markers_stay_on_one_line_and_short_documents_of_pairs_are_no_rows(tmp_path: Path) -> None:
    """A value over several lines (an issue title with a line break in `sqlite3 -line`) is
    quoted on one line in a marker; a short FAQ of `Q:`/`A:` pairs and a server's `INFO:` lines
    are a document and a log, not rows."""
    bugs = [(k, f"crash in parser {k}\nseen on v{k}.0", "open" if k % 9 else "closed") for k in range(60)]
    _sqlite_db(tmp_path / "bugs.db", {"bugs(id INTEGER, title TEXT, state TEXT)": bugs})
    text = subprocess.run(
        ["sqlite3", "-line", "bugs.db", "SELECT * FROM bugs"], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    out, _, _ = _compress(text, "which bugs are closed?")
    original = set(text.split("\n"))
    assert all(line in original or line.startswith("[headroom:") for line in out.split("\n"))
    faq = "\n\n".join(f"Q: How do I reset device {k}?\nA: Hold the button for {k} seconds." for k in range(20))
    log = "\n\n".join(f"INFO:     Started server process [{k}]\nINFO:     Waiting for startup" for k in range(20))
    assert detect(faq).kind != ContentKind.TABLE and detect(log).kind != ContentKind.TABLE


def test_a_dump_row_too_wide_to_read_stays_as_it_is(tmp_path: Path) -> None:
    """A statement of a quarter million values among short ones is kept whole and unread."""
    text = _sqlite3(tmp_path, "billing.db", ".dump")
    wide = "INSERT INTO blobs VALUES(" + ",".join(map(str, range(250_000))) + ");"
    lines = text.split("\n")
    lines.insert(len(lines) // 2, wide)
    out, _, _ = _compress("\n".join(lines))
    assert wide in out.split("\n")


@pytest.mark.parametrize("header", [True, False])
def test_a_line_of_counts_over_the_rows_is_a_preamble(header: bool) -> None:
    """A dataset's first line giving its size and class names (`569,30,malignant,benign` over
    scikit-learn's rows): a line of another width before the header or the rows."""
    body = _csv(customer_rows(300))
    if not header:
        body = body.split("\n", 1)[1]
    text = "300,10,active,suspended\n" + body
    assert detect(text).kind == ContentKind.TABLE
    out, _, ratio = _compress(text)
    assert ratio < 0.35
    lines = out.split("\n")
    assert (
        lines[0] == "300,10,active,suspended" and next(line for line in text.split("\n") if "user0137" in line) in lines
    )


def test_literal_rows_in_code_under_a_line_of_commas_are_no_csv() -> None:
    """A multi-row `INSERT ... VALUES` and a list of tuples under `DATA = [  # id, count, name`:
    the first line has commas, the rows are indented or bracketed: code, not a CSV preamble."""
    values = "INSERT INTO t (a, b, c) VALUES\n" + "".join(f"  ({k}, 'name{k}', {k * 2}),\n" for k in range(120))
    data = "DATA = [  # id, count, name\n" + "".join(f"    ({k}, {k * 3}, 'row{k}'),\n" for k in range(120)) + "]\n"
    for text in (values, data):
        assert detect(text).kind != ContentKind.TABLE


def test_a_page_of_a_dump_without_its_schema_keeps_its_tables_apart(tmp_path: Path) -> None:
    """A Read page from the middle of a `.dump`: no CREATE TABLE, INSERTs of two tables. Each
    table is chosen apart (its commas made one CSV of both), so a run never spans the two."""
    users = [(k, f"user{k:04d}", "Organization" if k == 77 else "User") for k in range(150)]
    packages = [(f"pkg{k}", f"1.{k}.0", k * 10) for k in range(150)]
    _sqlite_db(
        tmp_path / "shop.db",
        {
            "users(id INTEGER, login TEXT, type TEXT)": users,
            "packages(name TEXT, version TEXT, size INTEGER)": packages,
        },
    )
    dump = subprocess.run(["sqlite3", "shop.db", ".dump"], cwd=tmp_path, capture_output=True, text=True).stdout
    lines = dump.split("\n")
    page = "\n".join(line for line in lines[60:260] if line.startswith("INSERT"))
    out, _, ratio = _compress(page, "list the organizations")
    assert ratio < 0.5
    assert next(line for line in lines if "'user0077'" in line) in out.split("\n")
    page_lines = page.split("\n")
    for first, last in re.findall(r"lines (\d+)-(\d+)", out):
        tables = {line.split("(")[0] for line in page_lines[int(first) - 1 : int(last)]}
        assert len(tables) == 1, tables


def test_the_biggest_numbers_of_a_padded_pipe_table_stay_first() -> None:
    """`python -X importtime`: `import time: self [us] | cumulative | imported package`, each
    number padded inside its pipes. The padded cells are numbers (so outliers are found), and
    when there are more outliers than the budget holds, the farthest out stay: the heaviest
    imports are what the question is about."""
    rows = []
    for n in range(330):
        heavy = n % 6 == 0  # 55 heavy imports, more than the budget has room for
        self_us, cumulative = (300 + n, 20_000 + n * 400) if heavy else (40 + n % 50, 60 + n % 90)
        rows.append(f"import time: {self_us:>10} | {cumulative:>10} | {'  ' * (n % 4)}pkg.module_{n}")
    text = "import time: self [us] | cumulative | imported package\n" + "\n".join(rows)
    out, _, _ = _compress(text, "why is the import slow?")
    shown = set(out.split("\n"))
    heaviest = sorted(rows, key=lambda row: -int(row.split("|")[1]))[:15]
    assert all(row in shown for row in heaviest)
