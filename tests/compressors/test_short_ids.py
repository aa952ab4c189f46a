"""Repeated hex ids: whole at first use, then a unique prefix and `…`, as git shortens hashes."""

from __future__ import annotations

import re

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs
from headroom.compressors._short_ids import ELLIPSIS, line_sources, shorten_line_sources, shorten_repeated_ids
from headroom.pipeline import Pipeline
from headroom.segments import ContentKind

REQ = "1162e278-3bf2-4b32-93b5-9c7ec218365e"
USER = "113d3a99c3da401fbd62cc2caa5b96d2"
TWIN = "113d3a99ffff401fbd62cc2caa5b96d2"  # shares the first 8 characters with USER


def test_first_use_stays_whole_and_repeats_become_prefixes() -> None:
    text = f"a [req-{REQ} {USER}] start\nb [req-{REQ} {USER}] done\nc [req-{REQ}] end"
    out, shortened = shorten_repeated_ids(text, text)
    assert out.split("\n") == [
        f"a [req-{REQ} {USER}] start",
        f"b [req-1162e278{ELLIPSIS} 113d3a99{ELLIPSIS}] done",
        f"c [req-1162e278{ELLIPSIS}] end",
    ]
    assert shortened == 3


def test_prefixes_are_unique_among_every_id_of_the_original() -> None:
    shown = f"x {USER}\ny {USER}"
    original = f"{shown}\ndropped line {TWIN}"  # not shown, but a prefix must not name it too
    out, _ = shorten_repeated_ids(shown, original)
    short = out.split("\n")[1].split()[1]
    assert short.endswith(ELLIPSIS)
    prefix = short[: -len(ELLIPSIS)]
    assert USER.startswith(prefix) and not TWIN.startswith(prefix)
    assert prefix == USER[:9]


def test_ids_that_repeat_once_or_are_not_hex_hashes_stay() -> None:
    text = (
        f"once {USER}\n"
        "blk_-1608999687919862906 twice blk_-1608999687919862906\n"  # decimal: differs at the end
        "container_1445144423722_0020_01_000002 container_1445144423722_0020_01_000002\n"
        "deadbeefdeadbeefdeadbeef deadbeefdeadbeefdeadbeef\n"  # all letters? no: hex with no digit
        "1234567890123456789 1234567890123456789\n"  # digits only
        "MixedCaseAbCdEf0123456789 MixedCaseAbCdEf0123456789"
    )
    assert shorten_repeated_ids(text, text) == (text, 0)


def test_marker_lines_are_left_alone_and_do_not_count_as_first_use() -> None:
    marker = f"[headroom: 3 more lines like this, ids {USER} · ref=h_0123456789ab]"
    text = f"{marker}\nfirst {USER}\nsecond {USER}"
    out, shortened = shorten_repeated_ids(text, text)
    assert out.split("\n") == [marker, f"first {USER}", f"second 113d3a99{ELLIPSIS}"]
    assert shortened == 1


def _nova_lines(count: int) -> list[str]:
    return [
        f"2017-05-16 00:06:{i:02d}.610 2931 INFO nova.compute.claims [req-{REQ} {USER} - - -] "
        f"[instance: fecdd5a9-3ca0-4c82-9336-63b7774f738e] step {i} of the claim, status ok"
        for i in range(count)
    ]


def test_pipeline_shortens_ids_of_a_numbered_log_read_and_keeps_line_numbers() -> None:
    body = _nova_lines(40)
    numbered = "\n".join(f"{n}\t{line}" for n, line in enumerate(body, start=101))
    store = MemoryStore()
    out, report = Pipeline(store=store).compress_text(numbered, kind=ContentKind.LOGS)
    assert report.notes.get("ids_shortened", 0) > 0
    lines = out.split("\n")
    assert lines[0] == f"101\t{body[0]}"  # first use whole, with the number the agent saw
    for line in lines[1:]:
        match = re.match(r"(\d+)\t", line)
        if match:  # every shown line keeps its own number; ids after the first are prefixes
            number = int(match[1])
            expected = body[number - 101].replace(f"req-{REQ}", f"req-1162e278{ELLIPSIS}")
            expected = expected.replace(USER, f"113d3a99{ELLIPSIS}").replace(
                "fecdd5a9-3ca0-4c82-9336-63b7774f738e", f"fecdd5a9{ELLIPSIS}"
            )
            assert line == f"{number}\t{expected}"
    (ref,) = find_refs(out)
    assert store.get(ref).text == numbered  # the original, ids whole, one retrieve away


def test_pipeline_marks_a_unit_whose_only_change_is_shortened_ids() -> None:
    # Every line distinct (no template repeats): the log compressor drops nothing, so the
    # shortening alone makes the unit lossy, and it gets a marker with the ref.
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    body = "\n".join(
        f"2017-05-16 00:06:{i:02d}.610 2931 {level} nova.{w} [req-{REQ} {USER} - - -] {w} happened {i} times"
        for i, (w, level) in enumerate(zip(words * 2, ["INFO", "WARNING"] * 10, strict=True))
    )
    store = MemoryStore()
    first, report = Pipeline(store=store).compress_text(body, kind=ContentKind.LOGS)
    second, _ = Pipeline(store=MemoryStore()).compress_text(body, kind=ContentKind.LOGS)
    assert first == second  # deterministic
    assert report.notes["ids_shortened"] == 38  # two ids on 19 lines after the first
    lines = first.split("\n")
    assert len(lines) == 21 and all(f"113d3a99{ELLIPSIS}" in line for line in lines[1:20])
    (ref,) = find_refs(lines[-1])  # the marker the compressor did not write
    assert "repeated ids shortened" in lines[-1]
    assert store.get(ref).text == body


COMPUTE = "nova-compute.log.1.2017-05-16_13:55:31"
API = "nova-api.log.1.2017-05-16_13:53:08"


def _gathered_lines(count: int) -> list[str]:
    """loghub's OpenStack shape: each line starts with the file it came from."""
    return [
        f"{COMPUTE if i % 3 else API} 2017-05-16 00:06:{i:02d}.610 2931 INFO nova.compute.claims "
        f"[instance: fecdd5a9-3ca0-4c82-9336-63b7774f738e] step {i} of the claim"
        for i in range(count)
    ]


def test_a_source_starting_every_line_is_written_whole_once_then_as_a_unique_prefix() -> None:
    lines = _gathered_lines(12)
    text = "\n".join([*lines[:3], "[headroom: 5 more lines like this · ref=h_0123456789ab]", *lines[3:6]])
    assert line_sources(text) == {COMPUTE, API}
    out, shortened = shorten_line_sources(text, text)
    shown = out.split("\n")
    assert shown[0] == lines[0] and shown[1] == lines[1]  # API, then COMPUTE: each first use whole
    assert shown[2] == lines[2].replace(COMPUTE, f"nova-com{ELLIPSIS}", 1)
    assert shown[3].startswith("[headroom:")  # markers are left alone
    assert shown[4] == lines[3].replace(API, f"nova-api{ELLIPSIS}", 1)
    assert shortened == 4
    assert all(line.split()[2] == original.split()[2] for line, original in zip(shown[4:], lines[3:6], strict=True))


def test_first_words_holding_the_time_stamp_or_too_short_are_not_sources() -> None:
    zookeeper = "\n".join(
        f"2015-07-29 23:44:{i:02d},903 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:Follower@{i}] - step"
        for i in range(20)
    )
    syslog = "\n".join(f"Dec 10 09:12:{i:02d} LabSZ sshd[24659]: Failed password for root" for i in range(20))
    compose = "\n".join(f"web-1  | GET /health {i} 200" for i in range(20))
    assert line_sources(zookeeper) == line_sources(syslog) == line_sources(compose) == set()
    assert shorten_line_sources(zookeeper, zookeeper) == (zookeeper, 0)


def test_pipeline_shortens_sources_of_a_numbered_read_and_keeps_line_numbers() -> None:
    body = _gathered_lines(60)
    numbered = "\n".join(f"{n}\t{line}" for n, line in enumerate(body, start=481))
    store = MemoryStore()
    out, report = Pipeline(store=store).compress_text(numbered, kind=ContentKind.LOGS)
    assert report.notes.get("ids_shortened", 0) > 0
    shown = [line for line in out.split("\n") if re.match(r"\d+\t", line)]
    assert shown[0] == f"481\t{body[0]}"
    later = [line for line in shown if f"nova-com{ELLIPSIS} " in line or f"nova-api{ELLIPSIS} " in line]
    assert later
    for line in later:  # each keeps the number the agent saw for that line
        number, text = line.split("\t", 1)
        original = body[int(number) - 481]
        assert text.split(" ", 1)[1].split(" [instance")[0] == original.split(" ", 1)[1].split(" [instance")[0]
    (ref,) = set(find_refs(out))
    assert store.get(ref).text == numbered
