"""Build the second benchmark corpus (benchmarks/corpus/cases) from real data the shared cases do not use.

Sources (see benchmarks/corpus/README.md for licences): PyPI's Simple JSON API, the npm registry,
this machine's dpkg and apt logs, httpx/starlette as installed in the virtualenv, CPython's
`logging` and `csv` modules, and git's release notes in /usr/share/doc/git/RelNotes; added on
2026-12-01: PyPI's JSON API for httpx, the log of a
throwaway PostgreSQL 15 server this script runs (scripted workload, real server output), grep over
uvicorn/sse-starlette/starlette/anyio, h11's source and this machine's man pages. Every tool
output is real data, verbatim (search results are ranked passages of real files, as in the shared
doc_qa cases). Questions and needles were written from the data before any compressor saw it; the
cases are committed and read as they are — rerunning this script later takes a fresh snapshot
(registries and logs change), which would be a new corpus, not a refresh.

Usage: .venv/bin/python benchmarks/build_corpus.py [--out benchmarks/corpus/cases] [--only ID ...]
(--only builds just the named cases, so that adding a case does not re-snapshot the others.)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.metadata
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
MODEL_OPENAI = "gpt-4o"
MODEL_ANTHROPIC = "claude-sonnet-4-5"
SITE_PACKAGES = Path(httpx.__file__).resolve().parent.parent
STDLIB = Path(json.__file__).resolve().parent.parent
RELNOTES = Path("/usr/share/doc/git/RelNotes")
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _get(url: str, accept: str = "application/json") -> Any:
    response = httpx.get(url, headers={"Accept": accept}, timeout=60, follow_redirects=True)
    response.raise_for_status()
    return response.json()


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _ids(case_id: str, count: int) -> tuple[list[str], list[str]]:
    digest = hashlib.sha256(case_id.encode()).hexdigest()[:16]
    return [f"call_{digest}{i:02d}" for i in range(count)], [f"toolu_{digest}{i:02d}" for i in range(count)]


def make_case(
    case_id: str,
    scenario: str,
    source: str,
    system: str,
    task: str,
    tool: dict[str, Any],
    calls: list[tuple[str, dict[str, Any], str]],  # (assistant text, arguments, tool output)
    closing: str,
    question: str,
    needles: list[str],
) -> dict[str, Any]:
    openai_ids, anthropic_ids = _ids(case_id, len(calls))
    openai_messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": task}]
    anthropic_messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    for (text, arguments, output), call_id, use_id in zip(calls, openai_ids, anthropic_ids, strict=True):
        openai_messages.append(
            {
                "role": "assistant",
                "content": text,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": tool["name"], "arguments": json.dumps(arguments)},
                    }
                ],
            }
        )
        openai_messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
        anthropic_messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": text},
                    {"type": "tool_use", "id": use_id, "name": tool["name"], "input": arguments},
                ],
            }
        )
        anthropic_messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use_id, "content": output}]}
        )
    openai_messages += [{"role": "assistant", "content": closing}, {"role": "user", "content": question}]
    anthropic_messages += [
        {"role": "assistant", "content": [{"type": "text", "text": closing}]},
        {"role": "user", "content": question},
    ]
    missing = [n for n in needles if not any(n in output for _, _, output in calls)]
    if missing:
        raise SystemExit(f"{case_id}: needles not in the tool outputs: {missing}")
    return {
        "id": case_id,
        "scenario": scenario,
        "source": source,
        "question": question,
        "needles": needles,
        "openai": {
            "model": MODEL_OPENAI,
            "messages": openai_messages,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": tool["name"],
                        "description": tool["description"],
                        "parameters": tool["schema"],
                    },
                }
            ],
        },
        "anthropic": {
            "model": MODEL_ANTHROPIC,
            "system": system,
            "max_tokens": 1024,
            "messages": anthropic_messages,
            "tools": [{"name": tool["name"], "description": tool["description"], "input_schema": tool["schema"]}],
        },
    }


def _schema(**properties: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in properties.items()},
        "required": [next(iter(properties))],
    }


# -- api_rows ------------------------------------------------------------------------------


def pypi_rich_files() -> dict[str, Any]:
    index = _get("https://pypi.org/simple/rich/", "application/vnd.pypi.simple.v1+json")
    return make_case(
        "api_rows_pypi_rich_files",
        "api_rows",
        "PyPI Simple JSON API (PEP 691), GET https://pypi.org/simple/rich/, verbatim (compact JSON); "
        "file metadata published by PyPI for the rich project (MIT)",
        "You are a release engineer's assistant. Use the tools to query package registries and answer with the "
        "exact values they return (file names, sizes, hashes, timestamps).",
        "We mirror rich into our internal package index and pin it in the lockfile. Fetch rich's file index "
        "from PyPI so we can check what is there.",
        {
            "name": "pypi_simple_index",
            "description": "Fetch a project's file list from PyPI's Simple JSON API.",
            "schema": _schema(package="string"),
        },
        [("Fetching the file index for rich.", {"package": "rich"}, _compact(index))],
        f"I have the index: {len(index['files'])} files. What do you need?",
        "(1) What is the size in bytes and the upload time of rich-13.0.0-py3-none-any.whl? (2) Which release's "
        "files are yanked, and what reason does PyPI give? (3) What is the sha256 of rich-12.6.0a2.tar.gz?",
        [
            "238059",
            "2022-12-30T12:53:16.462621Z",
            "rich-12.1.0.tar.gz",
            "Broken dependencies. Please upgrade to 12.2.0 or later",
            "332fa897bc731c982213dcc0d39871e54ab03c2518a9f0f9e6d07b75507a25d4",
        ],
    )


def npm_commander_versions() -> dict[str, Any]:
    document = _get("https://registry.npmjs.org/commander")
    versions = list(document["versions"].values())
    half = len(versions) // 2
    pages = [versions[:half], versions[half:]]
    return make_case(
        "api_rows_npm_commander_versions",
        "api_rows",
        "npm registry, GET https://registry.npmjs.org/commander: the document's `versions` values in registry "
        "order (package.json manifests of commander, MIT), served in two pages; values verbatim",
        "You are a build engineer's assistant. Use the tools to query package registries and answer with the "
        "exact values they return.",
        "Our CI runners are on Node 18 and we want the newest commander we can use. Pull commander's published "
        "versions from the npm registry.",
        {
            "name": "npm_versions",
            "description": "List the published versions of an npm package (manifests as JSON), paginated.",
            "schema": _schema(package="string", page="integer"),
        },
        [
            (
                "Fetching the first page of commander's versions.",
                {"package": "commander", "page": 1},
                _compact(pages[0]),
            ),
            ("Fetching the second page.", {"package": "commander", "page": 2}, _compact(pages[1])),
        ],
        f"I have all {len(versions)} version manifests.",
        "(1) Which is the first commander version (a prerelease) whose engines field requires node >=18, and which "
        "first requires >=22.12.0? (2) What is the shasum of the commander 2.20.3 tarball?",
        ["12.0.0-0", "15.0.0-0", "fd485e84c03eb4881c20722ba48035e8531aeb33"],
    )


# -- sre_incident ----------------------------------------------------------------------------


def dpkg_log_case() -> dict[str, Any]:
    lines = Path("/var/log/dpkg.log").read_text().split("\n")[:5000]
    pages = ["\n".join(lines[:2500]), "\n".join(lines[2500:5000])]
    return make_case(
        "sre_incident_dpkg_upgrades",
        "sre_incident",
        "dpkg's own log (/var/log/dpkg.log) of the Debian 12 build machine this corpus was made on, first "
        "5,000 lines, verbatim (dpkg: GPL-2.0+; the log is machine output)",
        "You are an on-call SRE assistant. You can pull logs from hosts with the provided tools. Find what "
        "changed, and cite exact package names, versions and timestamps.",
        "Since the last maintenance window TLS handshakes from the build runner fail intermittently and some "
        "scheduled jobs run an hour off. Pull the package manager's log from the runner and find what changed.",
        {
            "name": "fetch_logs",
            "description": "Fetch raw log lines from a host's log files.",
            "schema": _schema(service="string", host="string", offset="integer", limit="integer"),
        },
        [
            (
                "Fetching the dpkg log from the runner.",
                {"service": "dpkg", "host": "build-runner-1", "offset": 0, "limit": 2500},
                pages[0],
            ),
            (
                "Fetching the next page.",
                {"service": "dpkg", "host": "build-runner-1", "offset": 2500, "limit": 2500},
                pages[1],
            ),
        ],
        "I have 5,000 lines of the dpkg log. What should I look at?",
        "When exactly was libssl3 upgraded, from which version to which? When and at which version had it "
        "first been installed? And which tzdata version was installed in that maintenance window?",
        ["2026-05-09 07:29:04", "3.0.16-1~deb12u1", "3.0.19-1~deb12u2", "2025-06-24 14:36:30", "2025b-0+deb12u2"],
    )


def apt_term_case() -> dict[str, Any]:
    lines = Path("/var/log/apt/term.log").read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("Log started: 2026-05-09  07:29:02"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Log ended:"))
    page = "\n".join(lines[start : end + 1])
    return make_case(
        "sre_incident_apt_packagekit",
        "sre_incident",
        "apt's terminal log (/var/log/apt/term.log) of the Debian 12 build machine this corpus was made on: "
        "one whole apt run (2026-05-09 07:29), verbatim (maintainer-script output of Debian packages)",
        "You are an on-call SRE assistant. You can pull logs from hosts with the provided tools. Find root "
        "causes and cite the exact lines, paths and versions.",
        "After the 2026-05-09 package upgrade the software-update daemon on the runner never came up. Pull the "
        "apt terminal log of that run.",
        {
            "name": "fetch_logs",
            "description": "Fetch raw log lines from a host's log files.",
            "schema": _schema(service="string", host="string", since="string"),
        },
        [
            (
                "Fetching apt's terminal log for that run.",
                {"service": "apt-term", "host": "build-runner-1", "since": "2026-05-09T07:29:00"},
                page,
            )
        ],
        "I have the whole apt run. What do you want to know?",
        "Which message-bus error did packagekit's setup hit (which socket path), which daemon binary could "
        "start-stop-daemon not stat, what did policy-rc.d deny, and which packagekit version was being set up?",
        ["/run/dbus/system_bus_socket", "/usr/libexec/polkitd", "denied execution of force-reload", "1.2.6-5+deb12u1"],
    )


# -- code ----------------------------------------------------------------------------------


def code_search_httpx() -> dict[str, Any]:
    # Real grep output (GNU grep -rn -C 3), files in sorted order, cut after 100 matching lines.
    files = sorted(
        str(p.relative_to(SITE_PACKAGES)) for d in ("httpx", "starlette") for p in (SITE_PACKAGES / d).rglob("*.py")
    )
    output = subprocess.run(
        ["grep", "-n", "-C", "3", "-E", "Timeout|DEFAULT_TIMEOUT", "--", *files],
        cwd=SITE_PACKAGES,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    kept: list[str] = []
    matches = 0
    last_match: tuple[str, int] = ("", 0)
    numbered = re.compile(r"^(.+?\.py)([:-])(\d+)[:-]")
    for line in output.split("\n"):
        found = numbered.match(line)
        if found and found.group(2) == ":":
            matches += 1
            if matches > 100:
                break
            last_match = (found.group(1), int(found.group(3)))
        elif matches == 100 and not (
            found and found.group(1) == last_match[0] and int(found.group(3)) <= last_match[1] + 3
        ):
            break  # what follows the 100th match's own context belongs to the 101st
        kept.append(line)
    return make_case(
        "code_search_httpx_timeouts",
        "code_search",
        f"httpx {httpx.__version__} and starlette as installed from PyPI (both BSD-3-Clause): real GNU grep "
        "-rn -C 3 output over their .py files, first 100 matches",
        "You are a senior software engineer working as a coding agent in a service that uses httpx and "
        "starlette. Use the tools to search the installed packages. Cite file:line and identifiers exactly.",
        "Our outgoing HTTP calls hang for a few seconds before failing. Find where httpx decides its default timeouts.",
        {
            "name": "grep",
            "description": "Search files with grep -rn -C 3; returns at most 100 matches.",
            "schema": _schema(pattern="string", path="string"),
        },
        [
            (
                "Searching httpx and starlette for timeout handling.",
                {"pattern": "Timeout|DEFAULT_TIMEOUT", "path": "httpx starlette"},
                "\n".join(kept),
            )
        ],
        "Here are the first 100 matches.",
        "Where exactly is httpx's default timeout configuration defined (file:line), what is the default value as "
        "written, and what default maximum number of redirects is set right after it?",
        ["httpx/_config.py:246", "DEFAULT_TIMEOUT_CONFIG = Timeout(timeout=5.0)", "DEFAULT_MAX_REDIRECTS = 20"],
    )


def codebase_logging() -> dict[str, Any]:
    paths = ["logging/__init__.py", "logging/handlers.py", "csv.py"]
    calls = [(f"Reading {p}.", {"path": f"Lib/{p}", "line_numbers": False}, (STDLIB / p).read_text()) for p in paths]
    return make_case(
        "codebase_exploration_logging_exceptions",
        "codebase_exploration",
        f"CPython {sys.version.split()[0]} standard library (PSF License 2.0): whole files logging/__init__.py, "
        "logging/handlers.py, csv.py",
        "You are a senior software engineer working as a coding agent inside a developer's checkout of the "
        "CPython source tree (Lib/). Use the tools to read code. Answer precisely, citing identifiers exactly.",
        "Look at how the logging module formats exceptions: our JSON log handler (written with csv-style "
        "escaping) must produce the same traceback text as logging.Formatter.",
        {
            "name": "read_file",
            "description": "Read a whole file from the repository.",
            "schema": _schema(path="string", line_numbers="boolean"),
        },
        calls,
        "I have read logging/__init__.py, logging/handlers.py and csv.py.",
        "Which Formatter method turns exc_info into text, what exact call does it make to render the traceback, "
        "what does it strip from the end of the result, and on which record attribute does format() cache it?",
        [
            "def formatException(self, ei)",
            "traceback.print_exception(ei[0], ei[1], tb, None, sio)",
            'if s[-1:] == "\\n":',
            "record.exc_text",
        ],
    )


# -- doc_qa --------------------------------------------------------------------------------


def _relnote_passages() -> list[dict[str, str]]:
    """Each release-notes bullet (or paragraph) of git's RelNotes as one passage with its heading."""
    passages: list[dict[str, str]] = []
    for path in sorted(RELNOTES.iterdir()):
        raw = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
        name = path.name.removesuffix(".gz")
        section = ""
        for block in re.split(r"\n\s*\n", raw):
            text = block.strip("\n")
            if not text.strip():
                continue
            lines = text.split("\n")
            if len(lines) <= 2 and not text.lstrip().startswith("*"):
                section = lines[0].strip()
                if len(lines) == 1:
                    continue
            for bullet in re.split(r"\n(?= \* )", text):
                if len(bullet.strip()) >= 40:
                    passages.append({"doc": f"git/RelNotes/{name}", "section": section, "passage": bullet.strip()})
    return passages


def _bm25(passages: list[dict[str, str]], query: str, top_k: int) -> list[dict[str, Any]]:
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    docs = [words(p["passage"]) for p in passages]
    average = sum(len(d) for d in docs) / len(docs)
    frequency = Counter(w for d in docs for w in set(d))
    terms = words(query)
    scored = []
    for i, doc in enumerate(docs):
        counts = Counter(doc)
        score = 0.0
        for term in terms:
            if counts[term]:
                idf = math.log(1 + (len(docs) - frequency[term] + 0.5) / (frequency[term] + 0.5))
                score += idf * counts[term] * 2.2 / (counts[term] + 1.2 * (0.25 + 0.75 * len(doc) / average))
        scored.append((score, i))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [
        {"rank": rank, **passages[i], "score": round(score, 3)} for rank, (score, i) in enumerate(scored[:top_k], 1)
    ]


def doc_qa_git() -> dict[str, Any]:
    passages = _relnote_passages()
    queries = [
        "new commands git switch git restore split checkout",
        "git maintenance introduced gc big brother background tasks",
    ]
    calls = [
        (text, {"query": q, "top_k": 30}, json.dumps(_bm25(passages, q, 30), indent=1, ensure_ascii=False))
        for text, q in zip(
            ["Searching the release notes for switch/restore.", "And for git maintenance."], queries, strict=True
        )
    ]
    return make_case(
        "doc_qa_git_release_notes",
        "doc_qa",
        "git release notes as shipped by Debian (/usr/share/doc/git/RelNotes, GPL-2.0): BM25 ranking over "
        "their bullets, 2 searches x 30 passages",
        "You are a documentation assistant. Use search_docs to retrieve passages and answer only from the "
        "retrieved text, quoting exact values.",
        "We are upgrading git on our build servers from a very old release. Pull what the release notes say "
        "about the newer checkout commands and about background maintenance.",
        {
            "name": "search_docs",
            "description": "Search the documentation index; returns the top_k passages as JSON.",
            "schema": _schema(query="string", top_k="integer"),
        },
        calls,
        "I have 60 passages from git's release notes.",
        "(1) Which git release introduced git switch and git restore, and what do the notes say they split out "
        "of? (2) Which release introduced git maintenance, and what do the notes call it relative to git gc?",
        [
            "git/RelNotes/2.23.0.txt",
            "Two new commands",
            "git/RelNotes/2.29.0.txt",
            "big brother",
        ],
    )


# -- added 2026-12-01 ----------------------------------------------------------------------
# Same rule as above: each question and its needles were written from the raw data before any
# compressor saw it. The PostgreSQL case runs its own throwaway server, so its PIDs and WAL
# locations differ on every run: its question is fixed and its needles are the values the question
# asks for, read out of that run's log by the patterns below.


def _version(distribution: str) -> str:
    return importlib.metadata.version(distribution)


def pypi_httpx_releases() -> dict[str, Any]:
    document = _get("https://pypi.org/pypi/httpx/json")
    return make_case(
        "api_rows_pypi_httpx_releases",
        "api_rows",
        "PyPI JSON API, GET https://pypi.org/pypi/httpx/json, verbatim (compact JSON: info, releases keyed by "
        "version with their file rows, urls, vulnerabilities); metadata of the httpx project (BSD-3-Clause) as "
        "published by PyPI",
        "You are a release engineer's assistant. Use the tools to query package registries and answer with the "
        "exact values they return (file names, sizes, hashes, timestamps, Python requirements).",
        "Some of our services are stuck on old Pythons and we keep wheels in an artifact cache. Fetch httpx's "
        "project metadata from PyPI so we can check which releases we can use and verify cached files.",
        {
            "name": "pypi_project",
            "description": "Fetch a project's metadata and per-release file list from PyPI's JSON API.",
            "schema": _schema(package="string"),
        },
        [("Fetching httpx's project JSON.", {"package": "httpx"}, _compact(document))],
        f"I have httpx's metadata: {len(document['releases'])} releases, latest {document['info']['version']}.",
        "(1) Which is the newest httpx release whose files still allow Python 3.6, and which is the first release "
        "that requires Python >=3.8? (2) Our cache has httpx-0.13.3-py3-none-any.whl: what sha256 and upload "
        "time does PyPI list for it? (3) An ancient lockfile pins the httpx 0.7.1 sdist: what is its size in "
        "bytes? (4) When was the newest 1.0 dev prerelease's wheel uploaded?",
        [
            "httpx-0.22.0-py3-none-any.whl",
            "httpx-0.25.0-py3-none-any.whl",
            "32d930858eab677bc29a742aaa4f096de259f1c78c68a90ad11f5c3c04f08335",
            "2020-05-29T10:30:07.629183Z",
            "69263",
            "2026-08-31T17:59:54.190125Z",
        ],
    )


def _postgres_incident_log() -> str:
    """Run a throwaway PostgreSQL 15 cluster through a scripted incident and return its server log.

    The workload is scripted (pgbench with a connection per transaction, a unique violation, a missing
    relation, a deadlock, a lock wait, a statement timeout, pg_terminate_backend, a backend killed with
    SIGKILL as the OOM killer does, an immediate shutdown and restart, a fast shutdown); every log line
    is the server's own output.
    """
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb refuses root
    work = Path(tempfile.mkdtemp(prefix="headroom-pgcase-"))
    if as_postgres:
        shutil.chown(work, "postgres", "postgres")
    data, log = work / "data", work / "postgresql.log"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def run(*command: object, check: bool = True, stdin: str | None = None, app: str = "psql") -> str:
        return subprocess.run(
            [*as_postgres, *map(str, command)],
            input=stdin,
            capture_output=True,
            text=True,
            check=check,
            env={**os.environ, "PGAPPNAME": app},
            timeout=600,
        ).stdout

    def connect(user: str, database: str) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", database, "-X"]

    def psql(sql: str, user: str = "payments", app: str = "payments-api", database: str = "payments") -> str:
        return run(PG_BIN / "psql", *connect(user, database), "-q", check=False, stdin=sql, app=app)

    def session(sql: str, user: str = "payments", app: str = "payments-api", close: bool = True) -> Any:
        process = subprocess.Popen(
            [*as_postgres, str(PG_BIN / "psql"), *connect(user, "payments"), "-q"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PGAPPNAME": app},
        )
        assert process.stdin is not None
        process.stdin.write(sql)
        process.stdin.flush()
        if close:
            process.stdin.close()
        return process

    def pgbench(*args: str) -> None:
        run(PG_BIN / "pgbench", *connect("payments", "payments")[:-3], *args, "payments", app="pgbench")

    def backend_pid(app: str) -> int:
        query = f"SELECT pid FROM pg_stat_activity WHERE application_name = '{app}'"
        for _ in range(100):
            found = run(PG_BIN / "psql", *connect("postgres", "payments"), "-At", "-c", query).split()
            if found:
                return int(found[0])
            time.sleep(0.1)
        raise SystemExit(f"no backend for {app}")

    def burst(transactions_per_client: int) -> None:  # two clients, a new connection per transaction, 4 tps
        pgbench("-C", "-c", "2", "-j", "2", "-R", "4", "-t", str(transactions_per_client))

    try:
        run(PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {port}",
            f"unix_socket_directories = '{work}'",
            "log_line_prefix = '%m [%p] %q%u@%d/%a '",
            "log_timezone = 'UTC'",
            "log_connections = on",
            "log_disconnections = on",
            "log_checkpoints = on",
            "log_autovacuum_min_duration = 0",
            "log_lock_waits = on",
            "deadlock_timeout = '200ms'",
            "log_min_duration_statement = 250",
            "log_statement = 'ddl'",
            "log_temp_files = 0",
            "autovacuum_naptime = '5s'",
            "checkpoint_timeout = '30s'",
            "max_wal_size = '64MB'",
            "shared_buffers = '32MB'",
            "work_mem = '1MB'",
        ]
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("\n" + "\n".join(settings) + "\n")
        run(PG_BIN / "pg_ctl", "-D", data, "-l", log, "-w", "start")
        psql(
            "CREATE ROLE payments LOGIN;\nCREATE ROLE reporting LOGIN;\nCREATE DATABASE payments OWNER payments;\n",
            user="postgres",
            app="psql",
            database="postgres",
        )
        pgbench("-i", "-s", "5", "-q")
        psql(
            "CREATE TABLE invoices (id bigserial PRIMARY KEY, invoice_no text NOT NULL UNIQUE,"
            " aid integer NOT NULL, amount_cents integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n"
            "CREATE INDEX invoices_aid_idx ON invoices (aid);\n"
            "INSERT INTO invoices (invoice_no, aid, amount_cents) SELECT 'INV-' || g, g % 5000 + 1, g * 7 % 10000"
            " FROM generate_series(1, 20000) g;\n"
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting;\n",
            app="migrate",
        )
        burst(45)
        for number in (20001, 20002, 17345, 20003, 17345):
            psql(
                f"INSERT INTO invoices (invoice_no, aid, amount_cents) VALUES ('INV-{number}', {number % 5000 + 1},"
                " 1250);",
                app="billing-worker",
            )
        psql(
            "SELECT l.aid, sum(l.amount_cents) FROM payment_ledger l WHERE l.posted_at > now() - interval '1 day'"
            " GROUP BY l.aid;",
            user="reporting",
            app="metabase",
        )
        burst(45)
        # deadlock: two transfers touching the same two accounts in opposite order
        first = session(
            "BEGIN;\nUPDATE pgbench_accounts SET abalance = abalance - 500 WHERE aid = 4711;\n"
            "SELECT pg_sleep(1);\nUPDATE pgbench_accounts SET abalance = abalance + 500 WHERE aid = 90210;\nCOMMIT;\n"
        )
        time.sleep(0.3)
        second = session(
            "BEGIN;\nUPDATE pgbench_accounts SET abalance = abalance - 75 WHERE aid = 90210;\n"
            "SELECT pg_sleep(1);\nUPDATE pgbench_accounts SET abalance = abalance + 75 WHERE aid = 4711;\nCOMMIT;\n"
        )
        first.wait(60)
        second.wait(60)
        burst(40)
        # a lock wait that resolves, then a reporting query cancelled by statement_timeout
        holder = session(
            "BEGIN;\nUPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 3;\n"
            "SELECT pg_sleep(1.5);\nCOMMIT;\n",
            app="settlement-batch",
        )
        time.sleep(0.3)
        psql("UPDATE pgbench_branches SET bbalance = bbalance - 1 WHERE bid = 3;")
        holder.wait(60)
        psql(
            "SET statement_timeout = '2s';\nSELECT a.bid, count(*) FROM pgbench_accounts a JOIN pgbench_accounts b"
            " ON a.abalance = b.abalance WHERE a.filler IS NOT NULL GROUP BY a.bid;",
            user="reporting",
            app="metabase",
        )
        burst(40)
        # a billing job left idle in transaction holding a row lock, which blocks the API until it is terminated
        idle = session(
            "BEGIN;\nSELECT * FROM invoices WHERE invoice_no = 'INV-4242' FOR UPDATE;\n",
            app="billing-worker",
            close=False,
        )
        blocker = backend_pid("billing-worker")
        waiter = session("UPDATE invoices SET amount_cents = amount_cents + 100 WHERE invoice_no = 'INV-4242';\n")
        time.sleep(2)
        psql(f"SELECT pg_terminate_backend({blocker});", user="postgres", app="psql")
        waiter.wait(60)
        assert idle.stdin is not None
        idle.stdin.close()
        idle.wait(60)
        burst(40)
        # a backend killed with SIGKILL (what the OOM killer does): the postmaster resets every session
        heavy = session(
            "SELECT a.aid, string_agg(b.filler, ',') FROM pgbench_accounts a JOIN pgbench_accounts b"
            " ON a.bid = b.bid GROUP BY a.aid ORDER BY 2 DESC LIMIT 10;\n",
            user="reporting",
            app="metabase",
        )
        victim = backend_pid("metabase")
        time.sleep(1)
        os.kill(victim, signal.SIGKILL)
        heavy.wait(60)
        for _ in range(100):
            if run(PG_BIN / "pg_isready", "-h", "127.0.0.1", "-p", port, check=False).endswith(
                "accepting connections\n"
            ):
                break
            time.sleep(0.2)
        burst(30)
        run(PG_BIN / "pg_ctl", "-D", data, "-l", log, "-w", "stop", "-m", "immediate")
        run(PG_BIN / "pg_ctl", "-D", data, "-l", log, "-w", "start")
        burst(15)
        run(PG_BIN / "pg_ctl", "-D", data, "-l", log, "-w", "stop", "-m", "fast")
        return log.read_text()
    finally:
        run(PG_BIN / "pg_ctl", "-D", data, "-w", "stop", "-m", "immediate", check=False)
        shutil.rmtree(work, ignore_errors=True)


def postgres_server_log() -> dict[str, Any]:
    text = _postgres_incident_log()
    lines = text.rstrip("\n").split("\n")
    half = len(lines) // 2
    pages = ["\n".join(lines[:half]), "\n".join(lines[half:])]

    def found(pattern: str, start: int = 0) -> re.Match[str]:
        match = re.compile(pattern).search(text, start)
        if match is None:
            raise SystemExit(f"sre_incident_postgres_server: the log has no {pattern!r}")
        return match

    deadlock = found(
        r"ERROR:  deadlock detected\n.*DETAIL:  Process (\d+) waits for ShareLock on transaction \d+; "
        r"blocked by process (\d+)\."
    )
    terminated = found(
        r"\[(\d+)\] payments@payments/billing-worker FATAL:  terminating connection due to administrator"
    )
    killed = found(r"server process \(PID \d+\) was terminated by signal 9: Killed")
    restart = found(r"received immediate shutdown request").end()
    redo_start, redo_done = found(r"redo starts at (\S+)", restart), found(r"redo done at (\S+)", restart)
    pid = terminated.group(1)
    if len(re.findall(rf"(?<![0-9A-Za-z]){pid}(?![0-9A-Za-z])", text)) != text.count(pid):
        raise SystemExit(f"PID {pid} also occurs inside another number in this run's log: run the builder again")
    return make_case(
        "sre_incident_postgres_server",
        "sre_incident",
        "PostgreSQL 15 (Debian 15.18-0+deb12u1) server log, verbatim: real server output of a throwaway cluster "
        "that build_corpus.py initdb's in /tmp and drives through a scripted workload (pgbench runs with a "
        "connection per transaction, a unique violation, a missing relation, a deadlock, lock waits, a statement "
        "timeout, pg_terminate_backend, a backend killed with SIGKILL as the OOM killer does, an immediate "
        "shutdown and restart, a fast shutdown); served in two pages. PostgreSQL is under the PostgreSQL License.",
        "You are an on-call SRE assistant. You can pull logs from hosts with the provided tools. Find root causes "
        "and cite exact PIDs, timestamps, WAL locations and error lines.",
        "The payments API on pg-payments-1 threw errors this afternoon: failed transfers, a stuck billing job, "
        "then the database went down and came back twice. Pull the PostgreSQL server log for that window.",
        {
            "name": "fetch_logs",
            "description": "Fetch raw log lines from a host's log files.",
            "schema": _schema(service="string", host="string", offset="integer", limit="integer"),
        },
        [
            (
                "Fetching the PostgreSQL log from pg-payments-1.",
                {"service": "postgresql", "host": "pg-payments-1", "offset": 0, "limit": half},
                pages[0],
            ),
            (
                "Fetching the rest.",
                {"service": "postgresql", "host": "pg-payments-1", "offset": half, "limit": len(lines) - half},
                pages[1],
            ),
        ],
        f"I have the whole server log for the window: {len(lines):,} lines in two pages.",
        "Reconstruct the incident: (1) which two backend PIDs were in the deadlock? (2) which billing-worker "
        "backend (PID) was terminated by an administrator command? (3) what exactly does the postmaster say about "
        "the backend killed by signal 9 (its PID)? (4) after the later immediate shutdown, at which WAL location "
        "did redo start and where was it done? (5) which invoice number kept hitting the unique constraint?",
        [
            f"blocked by process {deadlock.group(2)}",
            f"blocked by process {deadlock.group(1)}",
            pid,
            killed.group(0),
            redo_start.group(1),
            redo_done.group(1),
            "INV-17345",
        ],
    )


def code_search_shutdown() -> dict[str, Any]:
    # Real GNU grep output (grep -n -H -E, no context lines, `path:line:text`), paths relative to
    # site-packages, files of each package in sorted order (grep -r's own order depends on the filesystem).
    def grep(pattern: str, packages: list[str], limit: int = 250) -> str:
        files = [str(p.relative_to(SITE_PACKAGES)) for d in packages for p in sorted((SITE_PACKAGES / d).rglob("*.py"))]
        output = subprocess.run(
            ["grep", "-n", "-H", "-E", pattern, "--", *files],
            cwd=SITE_PACKAGES,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return "\n".join(output.rstrip("\n").split("\n")[:limit])

    versions = {name: _version(name) for name in ("uvicorn", "sse-starlette", "starlette", "anyio")}
    return make_case(
        "code_search_uvicorn_shutdown",
        "code_search",
        f"uvicorn {versions['uvicorn']} (BSD-3-Clause), sse-starlette {versions['sse-starlette']} (BSD-3-Clause), "
        f"starlette {versions['starlette']} (BSD-3-Clause) and anyio {versions['anyio']} (MIT) as installed from "
        "PyPI: real GNU grep -n output (no context, path:line:text) over their .py files, two searches, at most "
        "250 matches each",
        "You are a senior software engineer working as a coding agent in a service built on uvicorn, starlette, "
        "sse-starlette and anyio. Use the tools to search the installed packages. Cite file:line and identifiers "
        "exactly.",
        "When we restart the service, uvicorn hangs on shutdown while clients hold server-sent-event streams "
        "open, until systemd kills it. Find where shutdown and cancellation are handled.",
        {
            "name": "grep",
            "description": "Search files with grep -rn (no context lines); returns at most 250 matches.",
            "schema": _schema(pattern="string", path="string"),
        },
        [
            (
                "Searching uvicorn, sse-starlette and starlette for shutdown and cancellation.",
                {"pattern": "shutdown|shield|cancel", "path": "uvicorn sse_starlette starlette"},
                grep("shutdown|shield|cancel", ["uvicorn", "sse_starlette", "starlette"]),
            ),
            (
                "Now anyio's cancel scopes and shielding.",
                {"pattern": "shield|CancelScope|cancel_called|cancelled_caught", "path": "anyio"},
                grep("shield|CancelScope|cancel_called|cancelled_caught", ["anyio"]),
            ),
        ],
        "Here are both searches.",
        "(1) Which CLI option sets uvicorn's graceful-shutdown timeout (file:line)? (2) Where does uvicorn cancel "
        "the tasks still running when that timeout is exceeded (file:line), and with what message? (3) Where "
        "does sse-starlette run the body iterator's cleanup shielded (file:line)? (4) Which line of anyio's asyncio "
        "backend makes a worker-thread call uncancellable unless abandon_on_cancel is set, and where does "
        "to_process do the same for worker processes?",
        [
            "uvicorn/main.py:298",
            "uvicorn/server.py:307",
            "Task cancelled, timeout graceful shutdown exceeded",
            "sse_starlette/sse.py:408",
            "anyio/_backends/_asyncio.py:2744",
            "shield=not abandon_on_cancel",
            "anyio/to_process.py:183",
        ],
    )


def codebase_h11() -> dict[str, Any]:
    paths = ["h11/_connection.py", "h11/_state.py", "h11/_headers.py", "h11/_readers.py"]

    def numbered(path: str) -> str:  # Claude Code's Read format: cat -n style, right-aligned number, a tab
        lines = (SITE_PACKAGES / path).read_text().split("\n")
        if lines[-1] == "":
            lines.pop()
        return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(lines, 1))

    calls = [(f"Reading {p}.", {"file_path": f"site-packages/{p}"}, numbered(p)) for p in paths]
    return make_case(
        "codebase_exploration_h11_keep_alive",
        "codebase_exploration",
        f"h11 {_version('h11')} as installed from PyPI (MIT): whole files h11/_connection.py, h11/_state.py, "
        "h11/_headers.py, h11/_readers.py with line numbers in Claude Code's Read format (cat -n style)",
        "You are a senior software engineer working as a coding agent. Use the tools to read code in the "
        "installed packages. Answer precisely, quoting statements and identifiers exactly.",
        "Our HTTP/1.1 server built on h11 closes connections that clients expect to keep alive. Work out how h11 "
        "decides keep-alive and whether a connection can be reused for the next request.",
        {
            "name": "Read",
            "description": "Read a whole file; lines are numbered like cat -n.",
            "schema": _schema(file_path="string"),
        },
        calls,
        "I have read _connection.py, _state.py, _headers.py and _readers.py.",
        "(1) Quote the two checks in _keep_alive that turn keep-alive off. (2) What is the default limit on an "
        "incomplete event (the constant's definition as written)? (3) When h11 sends a body of unknown length to "
        "an HTTP/1.0 peer, which statement forces the connection to close? (4) What does ConnectionState set "
        "keep_alive to initially, and what does _fire_state_triggered_transitions do to a role in DONE once "
        "keep-alive is off? (5) What error message does ConnectionState.start_next_cycle raise when the "
        "connection is not reusable? (6) What does get_comma_header do to a raw header value before splitting it?",
        [
            'if b"close" in connection:',
            'if getattr(event, "http_version", b"1.1") < b"1.1":',
            "DEFAULT_MAX_INCOMPLETE_EVENT_SIZE = 16 * 1024",
            "need_close = True",
            "self.keep_alive = True",
            "self.states[role] = MUST_CLOSE",
            "not in a reusable state. self.states={self.states}",
            "found_raw_value = found_raw_value.lower()",
        ],
    )


MAN_PAGES = ["bash", "find", "xargs", "grep", "sed", "tar", "ssh", "curl", "make", "git"]


def _man_passages() -> list[dict[str, str]]:
    """Each paragraph of the man pages, or option entry with all its paragraphs, as one passage with its heading.

    Pages are rendered by man-db at 100 columns without hyphenation or justification; a passage is a
    blank-line-separated block, dedented, and blocks indented deeper than an entry's tag belong to it.
    """
    passages: list[dict[str, str]] = []
    for page in MAN_PAGES:
        text = subprocess.run(
            ["man", "--nh", "--nj", "-P", "cat", page],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "MANWIDTH": "100"},
        ).stdout
        top = section = ""
        entry: dict[str, str] | None = None
        for block in re.split(r"\n[ \t]*\n", text):
            lines = [line for line in block.split("\n") if line.strip()]
            # headings: a line at column 0 (a section) or column 3 (a subsection) starts the block
            while lines and (not lines[0].startswith(" ") or re.match(r"^ {3}\S", lines[0])):
                heading = lines.pop(0)
                if not lines and re.match(r"^[A-Z]+\(\d\)", heading.strip()):
                    break  # the page's running header or footer
                top, section = (
                    (heading.strip(), heading.strip())
                    if not heading.startswith(" ")
                    else (top, f"{top} > {heading.strip()}")
                )
                entry = None
            if not lines:
                continue
            indent = len(lines[0]) - len(lines[0].lstrip())
            body = textwrap.dedent("\n".join(lines))
            if entry is not None and indent > 7:
                entry["passage"] += "\n\n" + body
                continue
            entry = {"doc": f"{page}(1)", "section": section, "passage": body}
            passages.append(entry)
    return passages


def doc_qa_man_pages() -> dict[str, Any]:
    passages = _man_passages()
    queries = [
        "find delete files older than days mtime rounding",
        "file names with spaces newlines null character print0 xargs -0",
    ]
    calls = [
        (text, {"query": q, "top_k": 40}, json.dumps(_bm25(passages, q, 40), indent=1, ensure_ascii=False))
        for text, q in zip(
            ["Searching the man pages for deleting old files with find.", "And for handling odd file names."],
            queries,
            strict=True,
        )
    ]
    return make_case(
        "doc_qa_man_pages",
        "doc_qa",
        "man pages of the Debian 12 build machine (bash, find, xargs, grep, sed, tar, ssh, curl, make, git; "
        "rendered by man-db at 100 columns, no hyphenation; GNU pages under the GPL/GFDL, ssh under the BSD "
        "licence, curl under the curl licence): BM25 ranking over their paragraphs and option entries, 2 searches "
        "x 40 passages",
        "You are a documentation assistant. Use search_docs to retrieve passages and answer only from the "
        "retrieved text, quoting exact option names and values.",
        "Our nightly cleanup on the build servers runs `find /srv/artifacts -mtime +7 | xargs rm`; it seems to "
        "keep files a day longer than we expect and it chokes on file names with spaces. Look up what the man "
        "pages say about both.",
        {
            "name": "search_docs",
            "description": "Search the documentation index; returns the top_k passages as JSON.",
            "schema": _schema(query="string", top_k="integer"),
        },
        calls,
        "I have 80 passages from the man pages.",
        "(1) How does find round a file's age: what does the man page say it takes to match -atime +1? (2) Which "
        "find option measures those times from the beginning of today instead of from 24 hours ago? (3) What "
        "exactly does the -delete warning say about putting -delete first? (4) Which xargs option reads "
        "null-terminated items, which tar option does --null imply when reading names with -T, and which xargs "
        "exit status means a command invocation exited with status 1-125?",
        [
            "to match -atime +1, a file has to have been accessed at least",
            "-daystart",
            "putting -delete first will make find try to delete everything below the starting",
            "-0, --null",
            "--verbatim-files-from",
            "123    if any invocation of the command exited with status 1-125",
        ],
    )


BUILDERS = {
    "api_rows_pypi_rich_files": pypi_rich_files,
    "api_rows_npm_commander_versions": npm_commander_versions,
    "sre_incident_dpkg_upgrades": dpkg_log_case,
    "sre_incident_apt_packagekit": apt_term_case,
    "code_search_httpx_timeouts": code_search_httpx,
    "codebase_exploration_logging_exceptions": codebase_logging,
    "doc_qa_git_release_notes": doc_qa_git,
    # added 2026-12-01
    "api_rows_pypi_httpx_releases": pypi_httpx_releases,
    "sre_incident_postgres_server": postgres_server_log,
    "code_search_uvicorn_shutdown": code_search_shutdown,
    "codebase_exploration_h11_keep_alive": codebase_h11,
    "doc_qa_man_pages": doc_qa_man_pages,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "corpus" / "cases")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ID",
        help="build only this case (repeatable); by default every case is built",
    )
    args = parser.parse_args()
    unknown = sorted(set(args.only) - set(BUILDERS))
    if unknown:
        parser.error(f"unknown case id(s): {', '.join(unknown)} (known: {', '.join(BUILDERS)})")
    args.out.mkdir(parents=True, exist_ok=True)
    for case_id, build in BUILDERS.items():
        if args.only and case_id not in args.only:
            continue
        case = build()
        if case["id"] != case_id:
            raise SystemExit(f"builder for {case_id} made a case named {case['id']}")
        (args.out / f"{case['id']}.json").write_text(json.dumps(case, ensure_ascii=False, indent=1) + "\n")
        print(case["id"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
