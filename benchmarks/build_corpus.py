"""Build the second benchmark corpus (benchmarks/corpus/cases) from real data the shared cases do not use.

Sources (see benchmarks/corpus/README.md for licences): PyPI's Simple JSON API, the npm registry,
this machine's dpkg and apt logs, httpx/starlette as installed in the virtualenv, CPython's
`logging` and `csv` modules, and git's release notes in /usr/share/doc/git/RelNotes. Every tool
output is real data, verbatim (search results are ranked passages of real files, as in the shared
doc_qa cases). Questions and needles were written from the data before any compressor saw it; the
cases are committed and read as they are — rerunning this script later takes a fresh snapshot
(registries and logs change), which would be a new corpus, not a refresh.

Usage: .venv/bin/python benchmarks/build_corpus.py [--out benchmarks/corpus/cases]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import re
import subprocess
import sys
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


BUILDERS = [
    pypi_rich_files,
    npm_commander_versions,
    dpkg_log_case,
    apt_term_case,
    code_search_httpx,
    codebase_logging,
    doc_qa_git,
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "corpus" / "cases")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for build in BUILDERS:
        case = build()
        (args.out / f"{case['id']}.json").write_text(json.dumps(case, ensure_ascii=False, indent=1) + "\n")
        print(case["id"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
