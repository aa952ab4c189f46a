"""The agent-session benchmark's workspace, scenarios and scripted model.

The workspace is built at run time from real data: the loghub logs, GitHub API dumps and SSH
events of the shared benchmark cases (../shared/bench/cases, never copied into this repo) and a
subset of the CPython 3.11 standard library on disk. Each scenario says, for Claude Code and for
Codex, which tool calls the "model" makes, in the form a real agent makes them, and which
answer-bearing lines ("needles": exact substrings of that real data) the task is about.

The scripted model is stateless: the step is the number of tool results already in the
conversation (a retried request gets the same answer). After the last step it answers with the
needles it could see in the tool results it was sent, so its final text says what it saw.
"""

from __future__ import annotations

import csv
import importlib
import io
import pydoc
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from tests.e2e.agent_upstream import Call, Turn
from tests.e2e.scripts import anthropic_tool_results, responses_tool_results

__all__ = [
    "CASES_DIR",
    "FINAL_PREFIX",
    "SCENARIOS",
    "ClaudeBenchScript",
    "CodexBenchScript",
    "EditCheck",
    "Patch",
    "ReadPersistedOutput",
    "Scenario",
    "Shell",
    "Workspace",
    "build_workspace",
    "responses_tool_names",
]

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = ROOT.parent / "shared" / "bench" / "cases"
FINAL_PREFIX = "HEADROOM-BENCH-FINAL"
# The stdlib subset the search and code scenarios work in (copied without tests): these
# packages and every top-level module, ~10 MB, so a broad grep returns what it does in a real tree.
STDLIB_PACKAGES = (
    "asyncio",
    "concurrent",
    "email",
    "http",
    "importlib",
    "json",
    "logging",
    "multiprocessing",
    "unittest",
    "urllib",
    "xml",
    "xmlrpc",
)

# -- the workspace --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    root: Path

    def path(self, relative: str) -> str:
        return str(self.root / relative)

    def line_of(self, relative: str, text: str) -> int:
        """1-based number of the first line of `relative` holding `text` (ranged reads aim at it)."""
        for number, line in enumerate((self.root / relative).read_text().splitlines(), start=1):
            if text in line:
                return number
        raise ValueError(f"{text!r} is not in {relative}")


def _case(case_id: str) -> dict[str, Any]:
    path = CASES_DIR / f"{case_id}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the agent-session benchmark builds its workspace from it")
    return orjson.loads(path.read_bytes())


def _tool_outputs(case_id: str) -> list[str]:
    """The real tool outputs of a shared case, in order (the Anthropic form; both forms are identical)."""
    outputs: list[str] = []
    for message in _case(case_id)["anthropic"]["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else ():
            if block.get("type") == "tool_result":
                content = block["content"]
                outputs.append(content if isinstance(content, str) else "".join(p["text"] for p in content))
    return outputs


def _pretty_json(compact: str) -> str:
    # What `curl https://api.github.com/...` saves: the API answers indented JSON.
    return orjson.dumps(orjson.loads(compact), option=orjson.OPT_INDENT_2).decode() + "\n"


def _events_csv(pages: list[str]) -> str:
    """The parsed sshd events of a real case, as a CSV export (one row per event)."""
    rows = [row for page in pages for row in orjson.loads(page)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def stdlib_dir() -> Path:
    """The CPython stdlib the benchmark searches (the interpreter's own; the shared cases' line
    numbers are those of 3.11.7)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return Path(sys.base_prefix) / "lib" / version


def build_workspace(root: Path) -> Workspace:
    """Write the project an agent works in: logs/, data/ and lib/ (a stdlib subset)."""
    logs, data, lib = root / "logs", root / "data", root / "lib"
    for directory in (logs, data, lib):
        directory.mkdir(parents=True, exist_ok=True)
    nova = _tool_outputs("sre_incident_openstack_nova")[0]
    (logs / "nova-compute.log").write_text(nova.rstrip("\n") + "\n")
    (logs / "hadoop-appmaster.log").write_text(_tool_outputs("sre_incident_hadoop_mapreduce")[0].rstrip("\n") + "\n")
    zookeeper = _tool_outputs("sre_incident_zookeeper_quorum")
    (logs / "zookeeper.log").write_text("".join(page.rstrip("\n") + "\n" for page in zookeeper))
    for page, compact in enumerate(_tool_outputs("issue_triage_openframeworks"), start=1):
        (data / f"openframeworks-issues-p{page}.json").write_text(_pretty_json(compact))
    (data / "pygithub-issues.json").write_text(_pretty_json(_tool_outputs("issue_triage_pygithub")[0]))
    (data / "ssh_events.csv").write_text(_events_csv(_tool_outputs("api_rows_ssh_auth_events")))
    ignore = shutil.ignore_patterns("__pycache__", "test", "tests", "*.pyc")
    for package in STDLIB_PACKAGES:
        shutil.copytree(stdlib_dir() / package, lib / package, ignore=ignore, dirs_exist_ok=True)
    for module in stdlib_dir().glob("*.py"):
        shutil.copy2(module, lib / module.name)
    docs = root / "docs"
    docs.mkdir(exist_ok=True)
    for name in DOCS_MODULES:  # generated reference pages, as a docs site serves them
        module = importlib.import_module(name)
        page = pydoc.html.page(pydoc.describe(module), pydoc.html.document(module, name))
        # pydoc names the module's source file: the workspace's copy, not this machine's stdlib.
        (docs / f"{name}.html").write_text(page.replace(str(stdlib_dir()), str(lib)))
    return Workspace(root)


def workspace_text(workspace: Workspace) -> Iterator[str]:
    for path in sorted(workspace.root.rglob("*")):
        if path.is_file():
            yield path.read_text(errors="replace")


# -- scenarios ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shell:
    """A Codex shell command (`exec_command`), run in the workspace root."""

    cmd: str


@dataclass(frozen=True)
class Patch:
    """A Codex `apply_patch` edit (the patch envelope's body, paths relative to the workspace)."""

    body: str


CodexStep = Shell | Patch


@dataclass(frozen=True)
class ReadPersistedOutput:
    """Claude Code saves a tool output over its size cap to a file and returns a preview naming
    it; a real agent reads that file next. The path comes from the previous tool result."""


ClaudeStep = Call | ReadPersistedOutput
_PERSISTED_PATH = re.compile(r"Full output saved to: (\S+)")


@dataclass(frozen=True)
class EditCheck:
    """The edit the scenario makes: after the run, `path` must hold `after` and no longer `before`."""

    path: str
    before: str
    after: str

    def applied(self, workspace: Workspace) -> bool:
        text = (workspace.root / self.path).read_text()
        return self.after in text and self.before not in text


@dataclass(frozen=True)
class Scenario:
    name: str
    prompt: str
    needles: tuple[str, ...]
    claude: Callable[[Workspace], list[ClaudeStep]]
    codex: Callable[[Workspace], list[CodexStep]]
    edit: EditCheck | None = None
    quick: bool = False
    prepare: Callable[[Workspace], None] | None = None  # changes the scenario makes to the project first
    failing_calls: int = 0  # tool calls that exit non-zero by design (the test run before the fix)


def _read(ws: Workspace, relative: str, offset: int | None = None, limit: int | None = None) -> Call:
    args: dict[str, Any] = {"file_path": ws.path(relative)}
    if offset is not None:
        args["offset"] = offset
    if limit is not None:
        args["limit"] = limit
    return Call("Read", args)


def _bash(command: str, description: str) -> Call:
    return Call("Bash", {"command": command, "description": description})


def _grep(ws: Workspace, pattern: str, relative: str, mode: str, **options: Any) -> Call:
    return Call("Grep", {"pattern": pattern, "path": ws.path(relative), "output_mode": mode, **options})


# (a) Log triage: a real OpenStack nova log (900 lines, ~150 o200k tokens a line), the Zookeeper
# quorum log (2,000 lines) and a Hadoop MapReduce AM log. Claude Code refuses Read results over
# 25k tokens, so pages are sized per log the way an agent learns to: 120 nova lines, 400 others.
LOG_NEEDLES = (
    "2017-05-16 00:09:41.850",
    "found 1 instances in the database and 0 instances on the hypervisor",
    "req-addc1839-2ed5-4778-b57e-5854eb7b8b09",
    "CommitProcessor:1:NIOServerCnxn@180",
    "2015-07-29 23:44:28,903",
    "NoRouteToHostException",
)


def _log_claude(ws: Workspace) -> list[ClaudeStep]:
    return [
        _bash("wc -l logs/*.log", "Count log lines"),
        _read(ws, "logs/nova-compute.log", offset=1, limit=120),
        _grep(ws, "WARNING|ERROR", "logs/nova-compute.log", "content", **{"-n": True}),
        _read(ws, "logs/nova-compute.log", offset=481, limit=120),
        _read(ws, "logs/zookeeper.log", offset=1401, limit=400),
        _bash("grep ERROR logs/zookeeper.log | head -150", "Zookeeper errors"),
        _bash("grep -rn 'NoRouteToHostException' logs | sort | head -40", "Find the unreachable host"),
        _read(ws, "logs/hadoop-appmaster.log", offset=1, limit=300),
    ]


def _log_codex(ws: Workspace) -> list[CodexStep]:
    return [
        Shell("wc -l logs/*.log"),
        Shell("head -800 logs/zookeeper.log"),
        Shell("sed -n '1,120p' logs/nova-compute.log"),
        Shell("grep -n 'WARNING\\|ERROR' logs/nova-compute.log | head -150"),
        Shell("sed -n '481,600p' logs/nova-compute.log"),
        Shell("grep ERROR logs/zookeeper.log | head -150"),
        Shell("grep -rn 'NoRouteToHostException' logs | sort | head -40"),
        Shell("nl -ba logs/zookeeper.log | sed -n '1401,1800p'"),
    ]


LOG_TRIAGE = Scenario(
    name="log_triage",
    prompt=(
        "Triage logs/: nova-compute reported a mismatch between the database and the hypervisor while "
        "syncing power states - when, and how many instances on each side? In zookeeper.log, which "
        "component logged the one ERROR that is not a LearnerHandler shutdown, and when? Which exception "
        "did the Hadoop map attempts hit?"
    ),
    needles=LOG_NEEDLES,
    claude=_log_claude,
    codex=_log_codex,
    quick=True,
)

# (b) Code exploration: http.client's header limits; the task names `_read_headers`, whose body
# the model needs, and changes one line of it.
CLIENT = "lib/http/client.py"
OLD_RAISE = 'raise HTTPException("got more than %d headers" % _MAXHEADERS)'
NEW_RAISE = 'raise HTTPException("got more than %d headers (read %d lines)" % (_MAXHEADERS, len(headers)))'
CODE_NEEDLES = (
    "_MAXLINE = 65536",
    "_MAXHEADERS = 100",
    "line = fp.readline(_MAXLINE + 1)",
    OLD_RAISE,
    "def parse_headers(fp, _class=HTTPMessage):",
    "class HTTPStatus",  # 3.11+: `class HTTPStatus:` under @_simple_enum; 3.10: `class HTTPStatus(IntEnum):`
)
HEADERS_EDIT = EditCheck(CLIENT, before=OLD_RAISE, after=NEW_RAISE)


def _code_claude(ws: Workspace) -> list[ClaudeStep]:
    start = ws.line_of(CLIENT, "def _read_headers(fp):")
    return [
        _grep(ws, "_read_headers|_MAXHEADERS", "lib", "content", **{"-n": True}),
        _read(ws, CLIENT),
        _read(ws, "lib/http/__init__.py"),
        _read(ws, "lib/email/parser.py"),
        Call("Edit", {"file_path": ws.path(CLIENT), "old_string": OLD_RAISE, "new_string": NEW_RAISE}),
        _read(ws, CLIENT, offset=start - 2, limit=25),
    ]


def _code_codex(ws: Workspace) -> list[CodexStep]:
    start = ws.line_of(CLIENT, "def _read_headers(fp):")
    patch = (
        f"*** Update File: {CLIENT}\n@@ def _read_headers(fp):\n"
        f"         if len(headers) > _MAXHEADERS:\n-            {OLD_RAISE}\n+            {NEW_RAISE}\n"
    )
    return [
        Shell("grep -rn '_read_headers\\|_MAXHEADERS' lib"),
        Shell(f"cat {CLIENT}"),
        Shell("cat lib/http/__init__.py"),
        Shell("cat lib/email/parser.py"),
        Patch(patch),
        Shell(f"sed -n '{start - 2},{start + 22}p' {CLIENT}"),
    ]


CODE_EXPLORATION = Scenario(
    name="code_exploration",
    prompt=(
        "How does http.client limit the response headers it parses (lib/http/client.py)? Look at "
        "`_read_headers` and make its too-many-headers error also say how many header lines were read."
    ),
    needles=CODE_NEEDLES,
    claude=_code_claude,
    codex=_code_codex,
    edit=HEADERS_EDIT,
    quick=True,
)

# (c) Data files: GitHub issue-list dumps (indented, long bodies) and an SSH events CSV.
DATA_NEEDLES = (
    "ofNotifyEvent( boolEvent, true ) fails to compile",
    "jesusgollonet",
    "limited to 100 files",
    "Too many authentication failures for admin",
    "119.137.62.142",
    "fztu",
)


def _data_claude(ws: Workspace) -> list[ClaudeStep]:
    return [
        _bash("ls -la data", "List the data files"),
        _read(ws, "data/openframeworks-issues-p2.json"),
        _read(ws, "data/openframeworks-issues-p3.json"),
        _bash("cat data/openframeworks-issues-p4.json", "Show the last issues page"),
        ReadPersistedOutput(),  # ~52 KB: over Claude Code's Bash output cap
        _bash("head -5 data/ssh_events.csv", "CSV header"),
        _read(ws, "data/ssh_events.csv", offset=401, limit=200),
    ]


def _data_codex(ws: Workspace) -> list[CodexStep]:
    return [
        Shell("ls -la data"),
        Shell("cat data/openframeworks-issues-p2.json"),
        Shell("cat data/openframeworks-issues-p3.json"),
        Shell("head -5 data/ssh_events.csv"),
        Shell("sed -n '400,600p' data/ssh_events.csv"),
    ]


DATA_FILES = Scenario(
    name="data_files",
    prompt=(
        "Using data/: which open openFrameworks issue says ofNotifyEvent with a bool event fails to compile, "
        "and who reported it? Which issue mentions a limit of 100 files? In ssh_events.csv, what happened to "
        "admin at event 1001, and which user logged in successfully with a password, from which IP?"
    ),
    needles=DATA_NEEDLES,
    claude=_data_claude,
    codex=_data_codex,
)

# (d) Search-heavy: grep over the stdlib subset, with every Grep output mode.
SEARCH_NEEDLES = (
    "asyncio/timeouts.py:129",
    "def timeout(delay: Optional[float]) -> Timeout:",
    "def timeout_at(when: Optional[float]) -> Timeout:",
    "It is deprecated to return a value that is not None from a ",
    "http/client.py",
)


def _search_claude(ws: Workspace) -> list[ClaudeStep]:
    return [
        _grep(ws, "timeout", "lib", "content", **{"-n": True}),
        ReadPersistedOutput(),  # ~20 KB of matches: over Claude Code's Grep output cap
        _grep(ws, "def [a-z_]*timeout", "lib", "content", **{"-n": True}),
        _grep(ws, "_MAXHEADERS", "lib", "files_with_matches"),
        _grep(ws, "DeprecationWarning", "lib", "count"),
        Call("Glob", {"pattern": "**/*.py", "path": ws.path("lib/asyncio")}),
        _grep(ws, "return a value that is not None", "lib", "content", **{"-n": True, "-C": 3}),
        _bash("grep -rn 'import socket' lib | sort", "Modules that use sockets"),
    ]


def _search_codex(ws: Workspace) -> list[CodexStep]:
    return [
        Shell("grep -rn 'timeout' lib | head -400"),
        Shell("grep -rn 'def [a-z_]*timeout' lib | sort"),
        Shell("grep -rl '_MAXHEADERS' lib"),
        Shell("grep -rc 'DeprecationWarning' lib | grep -v ':0$' | sort -t: -k2 -n"),
        Shell("find lib/asyncio -name '*.py' | sort"),
        Shell("grep -rn -C 3 'return a value that is not None' lib"),
        Shell("nl -ba lib/asyncio/timeouts.py | sed -n '120,170p'"),
    ]


SEARCH_HEAVY = Scenario(
    name="search_heavy",
    prompt=(
        "In lib/ (a CPython stdlib subset): where is asyncio's timeout() context manager defined (file:line, "
        "signature) and what is its sibling? Which files use _MAXHEADERS? Which unittest line warns about "
        "tests returning a value?"
    ),
    needles=SEARCH_NEEDLES,
    claude=_search_claude,
    codex=_search_codex,
)

# (e) Lint and fix: ruff over two stdlib packages (106 diagnostics, ~50 KB in ruff's default
# format: over Claude Code's Bash output cap, so it is saved and read back), a fix, a re-check.
LINT_TARGET = "lib/http/client.py"
_REQUEST = "    def request(self, method, url, body=None, headers={}, *,"
_REQUEST_TAIL = '\n                encode_chunked=False):\n        """Send a complete request to the server."""'
OLD_DEFAULT = _REQUEST + _REQUEST_TAIL
_DEFAULT_IN_BODY = "\n        if headers is None:\n            headers = {}"
NEW_DEFAULT = _REQUEST.replace("headers={}", "headers=None") + _REQUEST_TAIL + _DEFAULT_IN_BODY
LINT_NEEDLES = (
    "http/client.py:326",
    "http/client.py:377",
    "http/client.py:1291",
    "def request(self, method, url, body=None, headers={}, *,",
    "if (status == NO_CONTENT or status == NOT_MODIFIED or",
)
LINT_EDIT = EditCheck(LINT_TARGET, before=OLD_DEFAULT, after=NEW_DEFAULT)
LINT = "ruff check --exit-zero --select E,F,W,B"


def _lint_claude(ws: Workspace) -> list[ClaudeStep]:
    start = ws.line_of(LINT_TARGET, "def request(self, method, url, body=None, headers={}")
    return [
        _bash(f"{LINT} lib/http lib/email", "Lint http and email"),
        ReadPersistedOutput(),  # ~50 KB: over Claude Code's Bash output cap
        _read(ws, LINT_TARGET, offset=start - 2, limit=20),
        Call("Edit", {"file_path": ws.path(LINT_TARGET), "old_string": OLD_DEFAULT, "new_string": NEW_DEFAULT}),
        _bash(f"{LINT} {LINT_TARGET}", "Re-check client.py"),
    ]


def _lint_codex(ws: Workspace) -> list[CodexStep]:
    start = ws.line_of(LINT_TARGET, "def request(self, method, url, body=None, headers={}")
    old, new = OLD_DEFAULT.split("\n"), NEW_DEFAULT.split("\n")
    patch = (
        f"*** Update File: {LINT_TARGET}\n@@ class HTTPConnection:\n"
        + "".join(f"-{line}\n" for line in old)
        + "".join(f"+{line}\n" for line in new)
    )
    return [
        Shell(f"{LINT} lib/http lib/email"),
        Shell(f"sed -n '{start - 2},{start + 18}p' {LINT_TARGET}"),
        Patch(patch),
        Shell(f"{LINT} {LINT_TARGET}"),
    ]


LINT_FIX = Scenario(
    name="lint_fix",
    prompt=(
        "Run ruff with the E, F, W and B rules over lib/http and lib/email. Which undefined names (F821) does "
        "lib/http/client.py use, and on which lines? Then fix the mutable default argument (B006) of "
        "HTTPConnection.request and re-check the file."
    ),
    needles=LINT_NEEDLES,
    claude=_lint_claude,
    codex=_lint_codex,
    edit=LINT_EDIT,
)

# (f) Test and fix: lib/json's encoder has a bug (a surrogate pair's low half loses bits); the
# project's suite is CPython's own test_json (under suite/, with test.support). The agent runs the
# suite verbosely (168 tests, three failing), reads the function the tracebacks point at, fixes it
# and runs the suite again.
TEST_TARGET = "lib/json/encoder.py"
_GOOD_PAIR = "                s2 = 0xdc00 | (n & 0x3ff)"
_BAD_PAIR = "                s2 = 0xdc00 | (n & 0x3f)"
TEST_RUN = "PYTHONPATH=lib:suite python -m unittest -v test.test_json 2>&1"
TEST_NEEDLES = (
    "test_encode_basestring_ascii",
    "test_big_unicode_encode",
    "test_bytes_decode",
    "self.assertEqual(self.dumps(u), '\"\\\\ud834\\\\udd20\"')",
    _BAD_PAIR.strip(),
)


def _break_the_encoder(ws: Workspace) -> None:
    suite = ws.root / "suite" / "test"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(stdlib_dir() / "test" / "support", suite / "support", ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(stdlib_dir() / "test" / "test_json", suite / "test_json", ignore=ignore, dirs_exist_ok=True)
    shutil.copy2(stdlib_dir() / "test" / "__init__.py", suite / "__init__.py")
    target = ws.root / TEST_TARGET
    source = target.read_text()
    if _GOOD_PAIR not in source:
        raise ValueError(f"{TEST_TARGET} no longer holds {_GOOD_PAIR.strip()!r}")
    target.write_text(source.replace(_GOOD_PAIR, _BAD_PAIR, 1))


def _test_claude(ws: Workspace) -> list[ClaudeStep]:
    start = ws.line_of(TEST_TARGET, "def py_encode_basestring_ascii(s):")
    return [
        _bash(TEST_RUN, "Run the json tests"),
        _read(ws, TEST_TARGET, offset=start, limit=25),
        Call("Edit", {"file_path": ws.path(TEST_TARGET), "old_string": _BAD_PAIR, "new_string": _GOOD_PAIR}),
        _bash(TEST_RUN, "Run the json tests again"),
    ]


def _test_codex(ws: Workspace) -> list[CodexStep]:
    start = ws.line_of(TEST_TARGET, "def py_encode_basestring_ascii(s):")
    patch = f"*** Update File: {TEST_TARGET}\n@@ def py_encode_basestring_ascii(s):\n-{_BAD_PAIR}\n+{_GOOD_PAIR}\n"
    return [
        Shell(TEST_RUN),
        Shell(f"sed -n '{start},{start + 24}p' {TEST_TARGET}"),
        Patch(patch),
        Shell(TEST_RUN),
    ]


TEST_FIX = Scenario(
    name="test_fix",
    prompt=(
        "The json tests fail since the last change to lib/json. Run them (PYTHONPATH=lib:suite python -m unittest "
        "-v test.test_json), tell me which tests fail and why, fix lib/json/encoder.py and run them again."
    ),
    needles=TEST_NEEDLES,
    claude=_test_claude,
    codex=_test_codex,
    edit=EditCheck(TEST_TARGET, before=_BAD_PAIR + "\n", after=_GOOD_PAIR + "\n"),
    prepare=_break_the_encoder,
    failing_calls=1,
)

# (g) Docs lookup: the stdlib reference pages pydoc generates (20-26 KB of HTML each: under
# Claude Code's Bash output cap), fetched with curl as an agent fetches a docs site.
DOCS_MODULES = ("gzip", "secrets")
DOCS_NEEDLES = ("compresslevel=9", "mtime=None", "BadGzipFile", "token_urlsafe", "nbytes=None")


def _docs_claude(ws: Workspace) -> list[ClaudeStep]:
    return [
        _bash(f"curl -s file://{ws.path(f'docs/{name}.html')}", f"Fetch the {name} reference") for name in DOCS_MODULES
    ]


def _docs_codex(ws: Workspace) -> list[CodexStep]:
    return [Shell(f"curl -s file://{ws.path(f'docs/{name}.html')}") for name in DOCS_MODULES]


DOCS_LOOKUP = Scenario(
    name="docs_lookup",
    prompt=(
        "Using the reference pages in docs/ (fetch them with curl): which gzip.open argument sets the compression "
        "level and what is its default, what does gzip raise on a file that is not gzip, and how do I get a "
        "URL-safe random token from secrets?"
    ),
    needles=DOCS_NEEDLES,
    claude=_docs_claude,
    codex=_docs_codex,
)

# (h) A long session: everything above but the lint, the tests and the docs, one task after the other
# (29 tool calls for Claude Code).
LONG_SESSION = Scenario(
    name="long_session",
    prompt="Work through these in order.\n1. "
    + "\n2. ".join(s.prompt for s in (LOG_TRIAGE, CODE_EXPLORATION, DATA_FILES, SEARCH_HEAVY)),
    needles=LOG_NEEDLES + CODE_NEEDLES + DATA_NEEDLES + SEARCH_NEEDLES,
    claude=lambda ws: _log_claude(ws) + _code_claude(ws) + _data_claude(ws) + _search_claude(ws),
    codex=lambda ws: _log_codex(ws) + _code_codex(ws) + _data_codex(ws) + _search_codex(ws),
    edit=HEADERS_EDIT,
)

SCENARIOS = (LOG_TRIAGE, CODE_EXPLORATION, DATA_FILES, SEARCH_HEAVY, LINT_FIX, TEST_FIX, DOCS_LOOKUP, LONG_SESSION)


_PATH_NEEDLE = re.compile(r"^(?P<path>[\w./-]+\.\w+)(?::(?P<line>\d+))?$")


def _is_workspace_location(needle: str, workspace: Workspace) -> bool:
    """A needle like `asyncio/timeouts.py:129` (what grep -n prints): a file and a line in it."""
    match = _PATH_NEEDLE.match(needle)
    if match is None:
        return False
    for path in workspace.root.rglob("*"):
        if path.is_file() and str(path).endswith("/" + match["path"]):
            return match["line"] is None or int(match["line"]) <= len(path.read_text().splitlines())
    return False


def check_needles(scenario: Scenario, workspace: Workspace) -> None:
    """Every needle must be real data in the workspace (a typo would read as a compression loss)."""
    corpus = "\n".join(workspace_text(workspace))
    missing = [n for n in scenario.needles if n not in corpus and not _is_workspace_location(n, workspace)]
    if missing:
        raise ValueError(f"{scenario.name}: needles not in the workspace data: {missing}")


# -- the scripted model ---------------------------------------------------------------------------


def final_answer(scenario: Scenario, tool_results: list[str]) -> str:
    """The model's last word: which needles it could see in what it was sent."""
    seen_text = "\n".join(tool_results)
    seen = [needle for needle in scenario.needles if needle in seen_text]
    missing = [needle for needle in scenario.needles if needle not in seen_text]
    return (
        f"{FINAL_PREFIX} {scenario.name}: saw {len(seen)}/{len(scenario.needles)} answer lines: "
        f"{'; '.join(seen) or 'none'}. Not seen: {'; '.join(missing) or 'none'}."
    )


def _anthropic_tool_names(request: dict[str, Any]) -> set[str]:
    return {str(t.get("name")) for t in request.get("tools") or () if isinstance(t, dict)}


def responses_tool_names(request: dict[str, Any]) -> set[str]:
    """Tool names, top-level or inside Codex's `additional_tools` input item (namespaces)."""

    def walk(tools: Any) -> Iterator[str]:
        for tool in tools or ():
            if isinstance(tool, dict):
                yield str(tool.get("name"))
                yield from walk(tool.get("tools"))

    names = set(walk(request.get("tools")))
    for item in request.get("input") or ():
        if isinstance(item, dict) and item.get("type") == "additional_tools":
            names |= set(walk(item.get("tools")))
    return names


@dataclass
class ClaudeBenchScript:
    scenario: Scenario
    workspace: Workspace

    def __post_init__(self) -> None:
        self.steps = self.scenario.claude(self.workspace)

    def __call__(self, api: str, request: dict[str, Any]) -> Turn:
        if "Read" not in _anthropic_tool_names(request):
            return Turn(text="ok")  # a side request (title, summary): not the agent loop
        results = [text for _, text in anthropic_tool_results(request)]
        if len(results) >= len(self.steps):
            return Turn(final_answer(self.scenario, results))
        step = self.steps[len(results)]
        if isinstance(step, ReadPersistedOutput):
            saved = _PERSISTED_PATH.search(results[-1]) if results else None
            if saved is None:  # reported as a script error: the scenario expected a saved output
                raise ValueError(f"step {len(results) + 1}: the previous tool output was not saved to a file")
            step = Call("Read", {"file_path": saved.group(1)})
        return Turn(f"Step {len(results) + 1}.", (step,))


@dataclass
class CodexBenchScript:
    """Codex 0.169 offers `exec_command` as a function tool to most models and only `exec` (code
    mode: JavaScript calling `tools.exec_command` / `tools.apply_patch`) to its default model."""

    scenario: Scenario
    workspace: Workspace
    max_output_tokens: int = 30000

    def __post_init__(self) -> None:
        self.steps = self.scenario.codex(self.workspace)

    def _call(self, tools: set[str], step: CodexStep) -> Call:
        if isinstance(step, Shell):
            args = {"cmd": step.cmd, "workdir": str(self.workspace.root), "max_output_tokens": self.max_output_tokens}
            if "exec_command" in tools:
                return Call("exec_command", args)
            # The pragma lifts exec's own 10k-token cap on what the script returns.
            source = (
                f'// @exec: {{"max_output_tokens": {self.max_output_tokens}}}\n'
                f"const r = await tools.exec_command({orjson.dumps(args).decode()});\ntext(r.output);\n"
            )
            return Call("exec", input=source, custom=True)
        patch = f"*** Begin Patch\n{step.body}*** End Patch\n"
        if "exec_command" in tools:
            # What GPT models send through exec_command; Codex intercepts `apply_patch` itself.
            heredoc = f"apply_patch <<'PATCH'\n{patch}PATCH\n"
            return Call("exec_command", {"cmd": heredoc, "workdir": str(self.workspace.root)})
        source = (
            f"const r = await tools.apply_patch({orjson.dumps(patch).decode()});\n"
            "text(typeof r === 'string' ? r : JSON.stringify(r));\n"
        )
        return Call("exec", input=source, custom=True)

    def __call__(self, api: str, request: dict[str, Any]) -> Turn:
        tools = responses_tool_names(request)
        if not {"exec_command", "exec"} & tools:
            return Turn(text="ok")
        results = [text for _, text in responses_tool_results(request)]
        if len(results) < len(self.steps):
            return Turn(calls=(self._call(tools, self.steps[len(results)]),))
        return Turn(final_answer(self.scenario, results))


_NONZERO_EXIT = re.compile(r"(?:Process exited with code|exit code:?)\s*([1-9]\d*)", re.IGNORECASE)


def codex_output_error(text: str) -> str | None:
    """Why a Codex tool output is a failure, or None (a shell exit code, a rejected patch)."""
    match = _NONZERO_EXIT.search(text[:400])
    if match:
        return f"exit code {match.group(1)}"
    lowered = text[:400].lower()
    if "apply_patch verification failed" in lowered or "failed to apply patch" in lowered:
        return "patch rejected"
    return None
