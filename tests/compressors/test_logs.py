"""Log compressor: repeated events collapse to a template's first occurrence plus a marker;
errors, stack traces, distinct key values, context and task terms stay verbatim."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import MARKER_PREFIX, find_refs, has_marker
from headroom.compressors._log_templates import split_records, template_lines
from headroom.compressors.base import all_compressors, compressor_for
from headroom.compressors.logs import LogCompressor, looks_like_logs
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import ContentKind, Segment, SegmentContext
from headroom.tokens import count_tokens
from tests.factories import unpadded

FIXTURES = Path(__file__).parent.parent / "fixtures" / "logs"
COMPRESSOR = LogCompressor()


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def compress(text: str, query: str = "", arguments: str | None = None):
    segment = Segment(text, SegmentContext(user_query=query, tool_arguments=arguments), ContentKind.LOGS)
    return COMPRESSOR.compress(segment), segment


def kept_lines(output: str) -> list[str]:
    return [line for line in output.split("\n") if not line.startswith(MARKER_PREFIX)]


def assert_verbatim_subsequence(output: str, original: str) -> None:
    """Every non-marker output line is an input line, in the input's order."""
    source = iter(original.split("\n"))
    for line in kept_lines(output):
        assert any(line == candidate for candidate in source), f"not verbatim or out of order: {line!r}"


# --- the six log families -------------------------------------------------------------------

NEEDLES = {
    "syslog.log": [
        "kernel: [812345.118273] Out of memory: Killed process 4312 (java)",
        "payments-api.service: Main process exited, code=killed, status=9/KILL",
        "payments-api.service: Failed with result 'signal'.",
        "from 203.0.113.45 port",
        "from 198.51.100.23 port",
        "from 192.0.2.77 port",
        "Accepted publickey for deploy from 10.0.4.21",
    ],
    "app.jsonl": [
        '"msg":"charge failed: upstream timeout after 30000ms","order_id":"ord_7731"',
        '"gateway":"adyen-us"',
        "connection pool exhausted, waiting",
        "ord_7932",  # a failed order only the marker names
        '"table":"order_items"',
    ],
    "python_app.log": [
        "job 8861 failed (invoice-render)",
        "KeyError: 'customer_id'",
        "psycopg2.errors.DeadlockDetected: deadlock detected",
        "DETAIL:  Process 48121 waits for ShareLock on transaction 99120931; blocked by process 48177.",
        "sqlalchemy.exc.OperationalError: (psycopg2.errors.DeadlockDetected) deadlock detected",
    ],
    "java_app.log": [
        "close period failed for tenant acme-eu-17",
        "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available",
        "\t... 18 common frames omitted",
        "java.lang.StackOverflowError: null",
        "\tat com.acme.billing.service.InvoiceService.applyTax(InvoiceService.java:301)",
    ],
    "k8s_events.txt": [
        "LAST SEEN   TYPE",
        "0/5 nodes are available: 3 Insufficient memory",
        "Memory cgroup out of memory: Killed process 28811 (java)",
        "Back-off restarting failed container api in pod api-7d9f8b6c5-x2x9q",
        "Back-off restarting failed container api in pod api-7d9f8b6c5-k8s2d",
        "Back-off restarting failed container api in pod api-7d9f8b6c5-p4tzn",
        "Back-off restarting failed container worker in pod worker-5c6d7f9b8-m2n4r",
        "Back-off restarting failed container worker in pod worker-5c6d7f9b8-q9w8e",
    ],
    "hdfs.log": [
        "ERROR dfs.DataNode: 10.250.19.102:50010:DataXceiver: java.io.IOException: Block blk_5792489080791696128",
        "10.251.30.6:50010:Got exception while serving blk_-7057732316540532097 to /10.251.73.220:",
        "WARN dfs.DataNode$DataXceiver: 10.251.73.220:50010:Got exception",
        "WARN dfs.DataNode$DataXceiver: 10.250.19.102:50010:Got exception",
    ],
}


@pytest.mark.parametrize("name", sorted(NEEDLES))
def test_log_family_shrinks_and_keeps_what_matters(name: str) -> None:
    text = fixture(name)
    assert looks_like_logs(text[:8000])
    result, segment = compress(text)
    assert result.lossy
    assert count_tokens(result.text) < 0.35 * count_tokens(text)
    for needle in NEEDLES[name]:
        assert needle in result.text, f"{name}: lost {needle!r}"
    assert find_refs(result.text) == [segment.ref]
    assert_verbatim_subsequence(result.text, text)
    lines = text.rstrip("\n").split("\n")
    kept = kept_lines(result.text.rstrip("\n"))
    assert kept[0] == lines[0] and kept[-1] == lines[-1]
    assert result.text.endswith("\n")


def test_marker_says_how_many_and_when() -> None:
    result, segment = compress(fixture("python_app.log"))
    lines = result.text.split("\n")
    first = lines.index(next(line for line in lines if " INFO [worker-" in line))
    assert re.fullmatch(
        rf"\[headroom: \d+ more lines like this \(09:\d\d:\d\d–09:\d\d:\d\d\) · ref={segment.ref}\]",
        lines[first + 1],
    )
    total_info = sum(" INFO [worker-" in line for line in fixture("python_app.log").split("\n"))
    shown = sum(" INFO [worker-" in line for line in lines)
    count = int(re.search(r"(\d+) more", lines[first + 1])[1])
    assert shown + count == total_info


def test_whole_stack_trace_stays_together() -> None:
    text = fixture("python_app.log")
    start = text.index("ERROR [worker-4] app.worker.jobs: job 8951 failed (ledger-post)")
    end = text.index("sqlalchemy.exc.OperationalError", start)
    block = text[start : text.index("\n", end)]
    result, _ = compress(text)
    assert block in result.text


def test_repeated_traceback_collapses_to_first_and_last() -> None:
    result, _ = compress(fixture("python_app.log"))
    assert result.text.count("KeyError: 'customer_id'") == 2
    assert re.search(r"\[headroom: 5 more entries like this \(09:\d\d:\d\d–09:\d\d:\d\d\)", result.text)


def test_recursive_frames_are_squeezed() -> None:
    result, segment = compress(fixture("java_app.log"))
    assert result.text.count("TaxRuleResolver.resolveParent") == 1
    assert f"[headroom: 78 lines repeating the 2 above omitted · ref={segment.ref}]" in result.text


def test_context_around_an_error_is_kept() -> None:
    text = fixture("hdfs.log").split("\n")
    at = next(i for i, line in enumerate(text) if " ERROR dfs.DataNode:" in line)
    result, _ = compress("\n".join(text))
    kept = kept_lines(result.text)
    assert text[at - 1] in kept and text[at + 1] in kept


def test_task_terms_pull_in_lines_that_would_be_collapsed() -> None:
    text = fixture("java_app.log")
    plain, _ = compress(text)
    hidden = next(line for line in text.split("\n") if "rendered" in line and line not in plain.text and "INV-" in line)
    invoice = re.search(r"INV-\d+", hidden)[0]
    focused, _ = compress(text, query=f"Why did rendering {invoice} take so long?")
    assert hidden in kept_lines(focused.text)
    by_argument, _ = compress(text, arguments=f'{{"grep": "{invoice}"}}')
    assert hidden in kept_lines(by_argument.text)


def test_common_words_in_the_task_do_not_keep_everything() -> None:
    text = fixture("python_app.log")
    plain, _ = compress(text)
    chatty, _ = compress(text, query="the worker job queue keeps retrying, what is done and what failed?")
    assert count_tokens(chatty.text) <= count_tokens(plain.text) * 1.2


# --- repeated warnings and errors ----------------------------------------------------------


def _error_storm(ips: list[str], repeats: int) -> str:
    lines = []
    for i in range(repeats):
        ip = ips[i % len(ips)]
        second = i % 60
        lines.append(f"2024-01-05 10:{i // 60:02d}:{second:02d},120 INFO  [pool-1] app.Sync: sync tick {i}")
        lines.append(
            f"2024-01-05 10:{i // 60:02d}:{second:02d},311 ERROR [pool-1] app.Client: "
            f"connection refused by {ip}:5432 after 3 retries"
        )
    return "\n".join(lines) + "\n"


def test_repeated_error_keeps_every_distinct_host() -> None:
    ips = ["10.0.0.5", "10.0.0.6", "10.0.7.1", "172.16.0.9", "192.168.1.20"]
    text = _error_storm(ips, 200)
    result, _ = compress(text)
    assert count_tokens(result.text) < 0.2 * count_tokens(text)
    for ip in ips:
        assert f"connection refused by {ip}:5432" in result.text
    assert "[headroom: 195 more lines like this (10:00:04–10:03:18)" in result.text


def test_many_hosts_beyond_the_budget_are_named_in_the_marker() -> None:
    ips = [f"10.1.{i}.{i + 10}" for i in range(20)]
    result, _ = compress(_error_storm(ips, 200))
    for ip in ips:
        assert ip in result.text
    assert "other values: " in result.text
    crowd, _ = compress(_error_storm([f"10.2.{i}.1" for i in range(60)], 240))
    assert re.search(r"other values: (10\.2\.\d+\.1, ){11}10\.2\.\d+\.1 \(\+\d+\)", crowd.text)


def test_identical_errors_collapse() -> None:
    lines = [
        f"2024-01-05 11:{i // 60:02d}:{i % 60:02d},000 ERROR [rm] Allocator: ERROR IN CONTACTING RM."
        for i in range(300)
    ]
    text = "\n".join(lines)
    result, segment = compress(text)
    assert kept_lines(result.text) == [lines[0], lines[-1]]
    assert f"[headroom: 298 more lines like this (11:00:01–11:04:58) · ref={segment.ref}]" in result.text


def test_unique_lines_are_never_dropped() -> None:
    words = "parse plan fetch decode verify index merge upload notify archive compact vacuum rotate".split()
    text = "\n".join(f"2024-01-05 12:00:{i:02d} INFO {word} stage finished" for i, word in enumerate(words))
    result, _ = compress(text)
    assert result.text == text and not result.lossy


# --- determinism and safety ------------------------------------------------------------------


def test_deterministic() -> None:
    text = fixture("app.jsonl")
    first, _ = compress(text, query="payments failing")
    again, _ = compress(text, query="payments failing")
    fresh = LogCompressor().compress(Segment(text, SegmentContext(user_query="payments failing"), ContentKind.LOGS))
    assert first.text == again.text == fresh.text


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01 00:00:00 INFO start\n" * 20 + "\x00\x01\x02binary\x00" + "2024-01-01 00:00:01 INFO end\n" * 20,
        "2024-01-01 00:00:00 INFO start\n" * 20 + "caf\udce9 latin-1 byte\n" + "2024-01-01 00:00:01 INFO x\n" * 20,
        "".join(chr(i % 31 + 1) for i in range(4000)),
        "2024-01-01 00:00:00 ERROR " + "x9" * 2_500_000,
        "2024-01-01 00:00:00 INFO one\n2024-01-01 00:00:01 INFO two\n",
        "",
    ],
    ids=["nul-bytes", "surrogate-escapes", "control-chars", "5mb-single-line", "too-short", "empty"],
)
def test_malformed_or_tiny_input_is_untouched(text: str) -> None:
    result, _ = compress(text)
    assert result.text == text
    assert not result.lossy
    assert not has_marker(result.text)


def test_crlf_lines_stay_verbatim() -> None:
    text = fixture("hdfs.log").replace("\n", "\r\n")
    result, _ = compress(text)
    assert result.lossy
    for line in kept_lines(result.text):
        assert line.endswith("\r") or line == ""
    assert_verbatim_subsequence(result.text, text)


_LOG_LINE = st.builds(
    "{} {} [{}] {}: {} {}".format,
    st.sampled_from(["2024-02-01 08:00:00,001", "2024-02-01 08:00:07,412", "2024-02-02 23:59:59,999"]),
    st.sampled_from(["INFO", "DEBUG", "WARN", "ERROR"]),
    st.sampled_from(["main", "worker-1", "worker-2"]),
    st.sampled_from(["app.Db", "app.Http", "app.Cache"]),
    st.sampled_from(["request served", "cache miss for", "retrying", "query took", "Exception in"]),
    st.one_of(st.integers(0, 99999).map(str), st.sampled_from(["10.0.0.1:80", "blk_42", "a1b2c3d4e5f6", "x"])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_LOG_LINE, st.sampled_from(["", "  at com.x.Y.z(Y.java:1)", "Traceback (most"])), max_size=120)
)
def test_output_is_never_larger_and_always_verbatim(lines: list[str]) -> None:
    text = "\n".join(lines)
    result, segment = compress(text)
    assert count_tokens(result.text) <= count_tokens(text)
    assert_verbatim_subsequence(result.text, text)
    assert find_refs(result.text) in ([], [segment.ref])
    assert result.lossy == has_marker(result.text)


# --- sniffer, records, registry -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NEEDLES))
def test_sniffer_accepts_every_family(name: str) -> None:
    assert looks_like_logs("\n".join(fixture(name).split("\n")[:60]))


@pytest.mark.parametrize(
    "text",
    [
        "Traceback (most recent call last):\n"
        '  File "/app/main.py", line 3, in <module>\n'
        "    main()\n"
        '  File "/app/main.py", line 2, in main\n'
        "    raise ValueError('bad')\n"
        "ValueError: bad\n",
        "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:06:01.610 2931 INFO nova.compute.claims [req-1] ok\n"
        "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:06:01.692 25746 INFO nova.osapi_compute.wsgi.server ok\n",
        "I0412 10:01:02.123456    1 controller.go:120] Starting controller\n"
        "E0412 10:01:03.000001    1 controller.go:180] sync failed: timeout\n",
        "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed for lonvick on /dev/pts/8\n"
        "<34>1 2003-10-11T22:14:16.003Z mymachine su - ID47 - 'su root' failed for lonvick on /dev/pts/8\n",
        "2024-01-02 10:00:00,123 INFO app: started\n2024-01-02 10:00:01,456 WARNING app: slow, 3 retries\n",
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties\n"
        "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6\n",
        "Events:\n  Type     Reason   Age   From     Message\n  ----     ------   ----  ----     -------\n"
        "  Normal   Pulled   10m   kubelet  Container image already present on machine\n"
        "  Warning  BackOff  2m (x40 over 10m)  kubelet  Back-off restarting failed container\n",
    ],
    ids=["python-traceback", "openstack-prefix", "glog", "rfc5424", "python-logging", "apache", "kubectl-describe"],
)
def test_sniffer_accepts_other_log_shapes(text: str) -> None:
    assert looks_like_logs(text)


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog. " * 40,
        '{\n  "name": "headroom",\n  "version": "1.0.0",\n  "dependencies": {\n    "tiktoken": "*"\n  }\n}\n',
        "date,open,close\n2024-01-02,10.5,11.0\n2024-01-03,11.0,10.2\n2024-01-04,10.2,10.9\n",
        "time,cpu,mem\n2024-01-02 10:00:00,0.51,2048\n2024-01-02 10:01:00,0.48,2050\n2024-01-02 10:02:00,0.9,2100\n",
        "def main() -> None:\n    print('hi')\n\n\nif __name__ == '__main__':\n    main()\n",
        '{"id": 1, "name": "alice"}\n{"id": 2, "name": "bob"}\n{"id": 3, "name": "carol"}\n',
        "# Title\n\nSome *markdown* text with a [link](https://example.com).\n\n- item one\n- item two\n",
    ],
    ids=["prose", "pretty-json", "csv-with-dates", "csv-time-series", "python-code", "jsonl-rows", "markdown"],
)
def test_sniffer_rejects_non_logs(text: str) -> None:
    assert not looks_like_logs(text)


def test_records_group_traces_with_their_header() -> None:
    lines = fixture("java_app.log").split("\n")
    records = split_records(lines)
    trace = next(r for r in records if "close period failed" in lines[r.start])
    assert trace.end - trace.start == 15
    assert lines[trace.end - 1] == "\t... 18 common frames omitted"


def test_unstructured_output_keeps_python_tracebacks_whole() -> None:
    lines = [
        "collecting ...",
        "Traceback (most recent call last):",
        '  File "/x.py", line 1, in <module>',
        "    f()",
        "ZeroDivisionError: division by zero",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/x.py", line 4, in <module>',
        "    g()",
        "RuntimeError: wrapped",
        "done in 3s",
    ]
    records = split_records(lines)
    assert [(r.start, r.end) for r in records] == [(0, 1), (1, 12), (12, 13)]


def test_templates_mask_variables() -> None:
    templates, values = template_lines(
        [
            "2015-07-29 19:03:35,413 - ERROR [LearnerHandler-/10.10.34.11:52225:LearnerHandler@562] - boom",
            "2015-07-29 19:16:26,447 - ERROR [LearnerHandler-/10.10.34.13:57354:LearnerHandler@562] - boom",
            "[instance: fecdd5a9-3ca0-4c82-9336-63b7774f738e] image a489c868f0c37da93b76227c91bb03908ac0e742 ok",
            "[instance: 43204226-2f87-4da7-b7ee-4d20cc66e846] image 113d3a99c3da401fbd62cc2caa5b96d2 ok",
        ]
    )
    assert templates[0] == templates[1]
    assert templates[2] == templates[3] == "[instance: <*>] image <*> ok"
    assert values[1][1] == "10.10.34.13:57354"


def test_registered_for_logs() -> None:
    assert isinstance(all_compressors()["logs"], LogCompressor)
    assert isinstance(compressor_for(ContentKind.LOGS), LogCompressor)
    assert LogCompressor.priority == 10


# --- package manager logs: names with and without digits, apt's terminal log ------------------


def _dpkg_log() -> tuple[str, list[tuple[str, str]]]:
    """A dpkg.log of 60 package installs (names with and without digits, "foo:all" and
    "libfoo2:amd64", versions of every shape), each followed by its status lines."""
    names = [f"lib{word}{i % 7}:amd64" if i % 2 else f"{word}-tools:all" for i, word in enumerate("abcdefghij" * 6)]
    versions = [f"{i % 5}.{i}-{i % 3}+deb12u{i % 4}" if i % 3 else f"{i}.{i % 9}-1~bpo{i}" for i in range(60)]
    lines: list[str] = []
    for i, (name, version) in enumerate(zip(names, versions, strict=True)):
        stamp = f"2026-05-09 07:{i // 60 + 29:02d}:{i % 60:02d}"
        lines.append(f"{stamp} install {name} <none> {version}")
        for state in ("half-installed", "unpacked", "half-configured", "installed"):
            lines.append(f"{stamp} status {state} {name} {version}")
        lines.append(f"{stamp} configure {name} {version} <none>")
    stamps = [f"2026-05-09 07:{i // 60 + 29:02d}:{i % 60:02d}" for i in range(60)]
    return "\n".join(lines) + "\n", list(zip(stamps, names, versions, strict=True))


def test_dpkg_log_shows_every_package_once_and_merges_names_with_and_without_digits() -> None:
    text, packages = _dpkg_log()
    templates, _ = template_lines(text.split("\n"))
    assert len(set(templates)) > 20  # "libb1:amd64" and "a-tools:all" mask differently
    out, _ = compress(text)
    assert out.lossy
    kept = kept_lines(out.text)
    assert_verbatim_subsequence(out.text, text)
    markers = [line for line in out.text.split("\n") if line.startswith(MARKER_PREFIX)]
    # Every package and version shows once, by its install line (not its five status lines):
    # that line kept, or listed in its group's marker under the line's whole time stamp.
    listed = [m for m in markers if "among them, by time: " in m]
    assert len(listed) == 1 and " install " not in listed[0]
    for stamp, name, version in packages:
        on_kept_line = f"{stamp} install {name} <none> {version}" in kept
        assert on_kept_line or f"{stamp} {name} {version}" in listed[0], name
        assert sum(f" {name} {version}" in m for m in markers) <= 1, name
    assert len(kept) < 40
    assert count_tokens(out.text) * 4 < count_tokens(text)


def test_identifiers_repeated_by_a_few_lines_among_many_go_to_the_marker_not_to_kept_lines() -> None:
    """Coverage by kept lines is for groups that list distinct things; a busy template that
    names a new path now and then keeps its usual exemplars and names the rest in its marker."""
    paths = ["/api/orders", "/api/users", "/api/carts", "/health"]
    lines = [
        f"2024-01-05 12:{i // 60:02d}:{i % 60:02d} INFO GET {paths[0] if i % 25 else paths[(i // 25) % 4]} 200"
        for i in range(400)
    ]
    out, _ = compress("\n".join(lines))
    assert len(kept_lines(out.text)) < 12
    for path in paths:
        assert path in out.text


APT_TERM_LOG = """Log started: 2026-05-09  07:29:02
Selecting previously unselected package sgml-base.
(Reading database ...
(Reading database ... 5%
(Reading database ... 50%
(Reading database ... 100%
(Reading database ... 84368 files and directories currently installed.)
Preparing to unpack .../sgml-base_1.31_all.deb ...
Unpacking sgml-base (1.31) ...
{units}
Setting up packagekit (1.2.6-5+deb12u1) ...
invoke-rc.d: policy-rc.d denied execution of force-reload.
Failed to open connection to "system" message bus: Failed to connect to socket /run/dbus/system_bus_socket
Processing triggers for libc-bin (2.36-9+deb12u10) ...
Log ended: 2026-05-09  07:29:30
"""


def _apt_term_log() -> str:
    units = []
    for i in range(40):
        name = f"libpkg{i}" if i % 2 else f"pkg-{chr(97 + i % 26)}{chr(97 + i // 26)}"
        units.append(f"Selecting previously unselected package {name}.")
        units.extend(f"(Reading database ... {p}%" for p in range(0, 101, 10))
        units.append(f"Preparing to unpack .../{name}_1.{i}-1_amd64.deb ...")
        units.append(f"Unpacking {name} (1.{i}-1) ...")
        units.append(f"Setting up {name} (1.{i}-1) ...")
    return APT_TERM_LOG.replace("{units}", "\n".join(units))


def test_apt_term_log_is_recognised_as_a_log_and_keeps_its_errors() -> None:
    text = _apt_term_log()
    assert looks_like_logs(text[:4000])
    out, _ = compress(text)
    assert out.lossy and count_tokens(out.text) * 2 < count_tokens(text)
    assert_verbatim_subsequence(out.text, text)
    for needle in (
        "denied execution of force-reload",
        "/run/dbus/system_bus_socket",
        "packagekit (1.2.6-5+deb12u1)",  # its "Setting up" line, or named in that group's marker
        "Log ended: 2026-05-09  07:29:30",
    ):
        assert needle in out.text


# --- real package logs: this machine's dpkg.log, read whole or through Claude Code's Read ------

REAL_DPKG_LOG = Path("/var/log/dpkg.log")
_DPKG_CHANGE = re.compile(r"^(\S+ \S+) (install|upgrade) (\S+) (\S+) (\S+)$")


def _real_dpkg_log(limit: int = 3000) -> str:
    if not REAL_DPKG_LOG.is_file():
        pytest.skip("no /var/log/dpkg.log on this machine")
    lines = REAL_DPKG_LOG.read_text(errors="replace").split("\n")[:limit]
    changes = [line for line in lines if _DPKG_CHANGE.match(line)]
    if len(changes) < 50:
        pytest.skip("this machine's dpkg.log installs too few packages to be a listing")
    return "\n".join(lines) + "\n"


def test_real_dpkg_log_names_every_installed_package_and_version_with_its_time() -> None:
    text = _real_dpkg_log()
    out, segment = compress(text)
    assert out.lossy and count_tokens(out.text) * 5 < count_tokens(text)
    assert_verbatim_subsequence(out.text, text)
    assert find_refs(out.text) == [segment.ref]
    kept = set(kept_lines(out.text))
    markers = "\n".join(line for line in out.text.split("\n") if line.startswith(MARKER_PREFIX))
    listed_somewhere = 0
    first_seen: set[str] = set()
    for line in text.split("\n"):
        change = _DPKG_CHANGE.match(line)
        if change is None or change.group(3) in first_seen:
            continue
        first_seen.add(change.group(3))  # the first install/upgrade of each package
        stamp, _, package, old, new = change.groups()
        if line in kept:
            continue
        # Not kept: a marker names it with its versions, under the line's whole time stamp,
        # unless other lines (a kept status line of the same package) show them already.
        entry = " ".join(word for word in (package, old, new) if word != "<none>")
        if f"{stamp} {entry}" in markers or f", {entry}" in markers:
            listed_somewhere += 1
            assert stamp in markers
        else:
            assert all(word in out.text for word in entry.split(" ")), line
    assert listed_somewhere > 20
    assert compress(text)[0].text == out.text  # deterministic


def test_real_dpkg_log_read_through_claude_code_keeps_the_numbers_it_saw() -> None:
    text = _real_dpkg_log(1500)
    numbered = "".join(f"{i:>6}\t{line}\n" for i, line in enumerate(text.rstrip("\n").split("\n"), start=301))
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    context = SegmentContext("Read", json.dumps({"file_path": str(REAL_DPKG_LOG)}), "which packages were upgraded?")
    out, report = pipeline.compress_text(numbered, context)
    assert report.kind == "logs" and report.tokens_after * 4 < report.tokens_before
    shown = set(unpadded(numbered).split("\n"))
    body_lines = [line for line in out.split("\n") if line and not line.startswith(MARKER_PREFIX)]
    assert len(body_lines) > 10
    assert all(line in shown for line in body_lines)  # every kept line carries the number it had


def test_pip_install_output_is_a_log_whose_repeated_lines_collapse() -> None:
    """`pip install` of what is already there (run here, offline): one line per requirement."""
    packages = ["openai", "anthropic", "httpx", "starlette", "uvicorn", "mcp"]
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", *packages]
    text = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300).stdout
    assert text.count("Requirement already satisfied: ") >= 20
    assert looks_like_logs(text)
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(text, SegmentContext("Bash", None, "install deps"))
    assert report.kind == "logs"
    assert report.tokens_after < 0.75 * report.tokens_before
    first = next(line for line in text.splitlines() if line.startswith("Requirement already satisfied: openai "))
    assert first in out.splitlines()
    for name in re.findall(r"^Requirement already satisfied: ([\w.-]+)", text, re.MULTILINE):
        assert re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", out), name  # each package stays named
    (ref,) = find_refs(out)
    stored = store.get(ref)
    assert stored is not None and stored.text == text


def test_a_long_list_of_names_stays_named_in_the_marker() -> None:
    """`pip install` of every installed distribution (run here, offline): each line names its own
    package, so however many there are (more than a fifth of the log), the marker lists them."""
    names = sorted({dist.metadata["Name"] for dist in importlib.metadata.distributions()})
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", *names]
    text = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300).stdout
    satisfied = re.findall(r"^Requirement already satisfied: ([\w.-]+)", text, re.MULTILINE)
    assert len(satisfied) >= 60
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(text, SegmentContext("Bash", None, "install deps"))
    assert report.kind == "logs" and report.tokens_after < 0.6 * report.tokens_before
    for name in satisfied:
        assert re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", out), name
    (ref,) = find_refs(out)
    stored = store.get(ref)
    assert stored is not None and stored.text == text


def _satisfied(names: list[str], site: str = "./.venv/lib/python3.12/site-packages") -> list[str]:
    return [f"Requirement already satisfied: {name} in {site} ({3 + i % 4}.{i}.0)" for i, name in enumerate(names)]


def test_lines_that_differ_where_few_do_stay_whole_beside_the_listing() -> None:
    """A listing's columns are those most of its lines differ in: the three packages installed
    for other Pythons stay as lines, and the others list without the shared path."""
    names = [
        f"{word}{kind}" for word in ("alpha", "bravo", "delta", "gamma", "omega") for kind in ("-io", "kit", "-core")
    ]
    names += [f"{name}-x" for name in names] + [f"{name}-y" for name in names]
    lines = _satisfied(names)
    odd = (12, 20, 33)  # each installed for another Python: the path differs in a digit only
    for k in odd:
        lines[k] = lines[k].replace("python3.12", f"python3.{k % 7}")
    text = "Looking in links: /opt/wheels\n" + "\n".join(lines) + "\n"
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash", None, "deps"))
    assert report.kind == "logs" and report.tokens_after < 0.6 * report.tokens_before
    assert all(lines[k] in out.splitlines() for k in odd)
    assert out.count(".venv/lib/python3.12/site-packages") == 2  # the line the listing builds on, and the last
    for name in names:
        assert re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", out), name


def test_a_listing_whose_lines_all_stay_whole_leaves_no_marker_for_nothing() -> None:
    """The listed lines around an error are both odd (another path, another version): nothing
    is left to list, so no marker is written for nothing, and the lines stay."""
    text = """Looking in links: /opt/wheels
Processing ./dist/pkg.tar.gz
Installing build dependencies: started
Installing build dependencies: finished with status 'done'
Requirement already satisfied: Jinja2 in ./.venv/lib/python3.11/site-packages (1.0.0)
Requirement already satisfied: httpx in ./.venv/lib/python3.11/site-packages (1.0.0)
Requirement already satisfied: urllib3 in /opt/vendor/python3.11/site-packages (1.0.0)
Requirement already satisfied: sniffio in ./.venv/lib/python3.11/site-packages (2.17.1)
Requirement already satisfied: orjson in ./.venv/lib/python3.11/site-packages (1.0.0)
ERROR: Could not build wheels for pkg, which is required to install pyproject.toml-based projects
Requirement already satisfied: attrs in ./.venv/lib/python3.11/site-packages (1.0.0)
Building wheels for collected packages: pkg
Created wheel for pkg: filename=pkg-0.1-py3-none-any.whl size=1234
Successfully built pkg
"""
    segment = Segment(text, SegmentContext("Bash", None, "is httpx installed?"), ContentKind.LOGS)
    result = LogCompressor().compress(segment)
    for line in text.splitlines():
        if line.startswith("Requirement"):
            assert line in result.text.splitlines()


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("gcc") is None, reason="needs make and gcc")
def test_a_build_echoing_its_compiler_commands_is_a_log_that_names_each_source(tmp_path: Path) -> None:
    """`make` (run here) echoes one long compiler command per source file: they collapse into one
    kept command and a marker listing what each of the others compiled."""
    sources = """arena buffer cache codec config crypto digest encoder events frame hashmap http2 lexer logger
    parser pool queue resolver router scheduler socket strings timer tls""".split()
    for name in sources:
        (tmp_path / f"{name}.c").write_text(f"int {name}(int x) {{ return x + {len(name)}; }}\n")
    flags = "-O2 -Wall -Wextra -fPIC -DNDEBUG -DBUILD_VERSION=7 -I/usr/local/include -I/opt/vendor/include"
    rules = "".join(f"{name}.o: {name}.c\n\tgcc {flags} -c {name}.c -o {name}.o\n" for name in sources)
    objects = " ".join(f"{name}.o" for name in sources)
    (tmp_path / "Makefile").write_text(f"libunits.so: {objects}\n\tgcc -shared -o libunits.so {objects}\n{rules}")
    done = subprocess.run(["make", "-C", str(tmp_path)], capture_output=True, text=True, check=False, timeout=300)
    text = done.stdout
    assert done.returncode == 0 and text.count("gcc ") == len(sources) + 1
    assert looks_like_logs(text)
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        text, SegmentContext("Bash", None, "build it")
    )
    assert report.kind == "logs" and report.tokens_after < 0.5 * report.tokens_before
    for name in sources:
        assert f"{name}.c" in out
    assert next(line for line in text.splitlines() if line.startswith("gcc -shared")) in out.splitlines()


@pytest.mark.parametrize("wrap", ["markdown", "script"])
def test_a_document_or_script_holding_build_commands_is_no_build_log(wrap: str) -> None:
    """A README's fenced install steps or a build script are what a person wrote, not a log."""
    commands = "".join(
        f"gcc -O2 -Wall -fPIC -c src/{name}.c -o build/{name}.o\n" for name in "ab cd ef gh ij kl".split()
    )
    if wrap == "markdown":
        text = f"# Building\n\nCompile each unit:\n\n```sh\n{commands}```\n\nThen link them.\n"
    else:
        text = f"#!/bin/sh\nset -e\n{commands}gcc -shared -o build/libx.so build/*.o\n"
    assert not looks_like_logs(text)


def test_strace_without_time_stamps_is_a_log(tmp_path: Path) -> None:
    """`strace -f` writes one system call per line, the PID first and no time: a log of call
    templates. Every file the traced process opened stays visible or named in a marker."""
    if shutil.which("strace") is None:
        pytest.skip("no strace")
    trace = tmp_path / "trace.txt"
    done = subprocess.run(
        ["strace", "-f", "-o", str(trace), sys.executable, "-c", "import json, email.parser"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not trace.is_file():
        pytest.skip(f"strace cannot trace here: {done.stderr[:200]}")
    text = trace.read_text(encoding="utf-8", errors="replace")
    assert looks_like_logs(text[:8000])
    store = MemoryStore()
    out, report = Pipeline(CompressConfig(), store).compress_text(
        text, SegmentContext("Bash", None, "which json files does python open?")
    )
    assert report.compressor == "logs" and report.tokens_after < 0.8 * report.tokens_before
    opened = set(re.findall(r'openat\(AT_FDCWD, ("[^"]*json[^"]*\.(?:py|pyc|so)")', text))  # files, not dirs
    assert opened and all(path in out for path in opened)
    # A failed call is trouble, apart from the calls that succeeded: each kind of failure
    # (the call and its errno) is shown failing, not folded under a marker below a success.
    failures = set(re.findall(r"^\d+ +(\w+)\(.*\) = -1 (E[A-Z]+)", text, re.M))
    assert failures and failures <= set(re.findall(r"^\d+ +(\w+)\(.*\) = -1 (E[A-Z]+)", out, re.M))
    (ref, *_) = find_refs(out)
    assert store.get(ref).text == text  # type: ignore[union-attr]


def test_kernel_messages_stamped_with_uptime_are_a_log() -> None:
    """`dmesg`: `[  12.345678] text`, seconds since boot in brackets (taken for JSON that did not
    parse, and passed whole). A device reconnecting again and again collapses; the one error stays."""
    lines = [
        f"[{1000 + k * 3.25:>12.6f}] usb 1-1: new high-speed USB device number {k + 2} using xhci_hcd"
        for k in range(80)
    ]
    lines.insert(
        40,
        "[ 1130.500000] EXT4-fs error (device sda1): ext4_find_entry:1463: inode #2: comm ls: reading lblock 0",
    )
    text = "\n".join(lines) + "\n"
    assert looks_like_logs(text[:8000])
    out, report = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        text, SegmentContext("Bash", None, "why does ls fail?")
    )
    assert report.compressor == "logs" and report.tokens_after < 0.4 * report.tokens_before
    assert lines[40] in out.split("\n")


def test_assignments_printed_as_name_and_value_are_no_system_calls() -> None:
    """`weights(1) = 0.25;` (Octave), `len(x) = 5`: a call and a value, but a system call's result
    is a number alone, with an errno or a note after it."""
    octave = "\n".join(f"table({k}) = {k * k};" for k in range(1, 60))
    debug = "\n".join(f"len(batch_{k}) = {k * 3} items" for k in range(60))
    assert not looks_like_logs(octave) and not looks_like_logs(debug)


def test_failed_system_calls_stay_apart_from_the_calls_that_succeeded(tmp_path: Path) -> None:
    """`strace ls`: most `= -1 ENOENT` lines (locale files looked for) were folded into markers
    shown under a successful `openat(...) = 3`; a failure is trouble and stays in view."""
    if shutil.which("strace") is None or shutil.which("ls") is None:
        pytest.skip("no strace")
    trace = tmp_path / "trace.txt"
    done = subprocess.run(
        ["strace", "-o", str(trace), "ls", "/usr"],
        capture_output=True,
        text=True,
        check=False,
        env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"},
    )
    if done.returncode != 0 or not trace.is_file():
        pytest.skip(f"strace cannot trace here: {done.stderr[:200]}")
    text = trace.read_text(encoding="utf-8", errors="replace")
    out, _ = Pipeline(CompressConfig(), MemoryStore()).compress_text(text, SegmentContext("Bash", None, "what fails?"))
    assert out.count("= -1 E") * 2 >= text.count("= -1 E") > 2
