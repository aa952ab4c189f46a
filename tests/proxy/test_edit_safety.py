"""Edit safety: re-reads, ranged reads, reads of edited files and edit results pass whole."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

from headroom.ccr.markers import find_refs
from headroom.formats.file_access import file_accesses
from headroom.proxy import ProxyServer
from headroom.proxy.edit_safety import protected_results
from headroom.routing.detect import detect
from headroom.segments import ContentKind
from tests.proxy.conftest import ANTHROPIC_KEY, FIXTURES
from tests.proxy.fake_upstream import FakeUpstream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SOURCE = (FIXTURES / "code" / "ratelimit_client.py").read_text()  # the code compressor outlines it
OTHER = (FIXTURES / "code" / "router.js").read_text()
PATH = "/repo/src/ratelimit_client.py"


def _claude_code_session() -> dict[str, Any]:
    """Read, Edit, Read again, a ranged Read, a Read of another file: Claude Code's shapes."""

    def use(i: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
        return {"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": args}]}

    def result(i: int, text: str) -> dict[str, Any]:
        return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": text}]}

    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are Claude Code.",
        "tools": [{"name": n, "description": n, "input_schema": {"type": "object"}} for n in ("Read", "Edit")],
        "messages": [
            {"role": "user", "content": "Fix the retry bug in the rate limit client."},
            use(1, "Read", {"file_path": PATH}),
            result(1, SOURCE),
            use(2, "Edit", {"file_path": PATH, "old_string": "retries = 3", "new_string": "retries = 5"}),
            result(2, "The file /repo/src/ratelimit_client.py has been updated.\n" + SOURCE[:2000]),
            use(3, "Read", {"file_path": PATH}),
            result(3, SOURCE),
            use(4, "Read", {"file_path": "/repo/src/router.js", "offset": 10, "limit": 400}),
            result(4, OTHER),
            use(5, "Read", {"file_path": "/repo/src/router.js"}),
            result(5, OTHER),
            {"role": "user", "content": "Go on."},
        ],
    }


def _reasons(request: dict[str, Any], fmt: str) -> dict[Any, str]:
    return {p.path[:2]: p.reason for p in protected_results(request, fmt)}


def test_claude_code_policy() -> None:
    reasons = _reasons(_claude_code_session(), "anthropic")
    assert reasons == {
        ("messages", 4): "edit-result",
        ("messages", 6): "edited-file",
        ("messages", 8): "ranged-read",
        ("messages", 10): "re-read",  # router.js was read (a range) before
    }


def test_codex_policy() -> None:
    def shell(i: int, script: str) -> dict[str, Any]:
        args = json.dumps({"command": ["bash", "-lc", script], "workdir": "/repo"})
        return {"type": "function_call", "call_id": f"call_{i}", "name": "shell", "arguments": args}

    def output(i: int, text: str) -> dict[str, Any]:
        return {"type": "function_call_output", "call_id": f"call_{i}", "output": text}

    patch = "*** Begin Patch\n*** Update File: src/ratelimit_client.py\n@@\n-retries = 3\n+retries = 5\n*** End Patch"
    request = {
        "model": "gpt-5-codex",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Fix the retry bug."}]},
            shell(1, "cat src/ratelimit_client.py"),
            output(1, SOURCE),
            shell(2, "sed -n '1,120p' src/router.js"),
            output(2, OTHER),
            {"type": "custom_tool_call", "call_id": "call_3", "name": "apply_patch", "input": patch},
            {"type": "custom_tool_call_output", "call_id": "call_3", "output": "Success. Updated the following files"},
            shell(4, "nl -ba ./src/ratelimit_client.py"),
            output(4, SOURCE),
            shell(5, "rg -n retries src"),
            output(5, SOURCE),
        ],
    }
    reasons = {p.path[:2]: p.reason for p in protected_results(request, "responses")}
    assert reasons == {("input", 4): "ranged-read", ("input", 6): "edit-result", ("input", 8): "edited-file"}


def test_read_and_edit_in_the_same_turn() -> None:
    request = {
        "messages": [
            {"role": "user", "content": "rename it"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "x.py"}'}},
                    {
                        "id": "b",
                        "type": "function",
                        "function": {"name": "write_file", "arguments": '{"path": "x.py"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "a", "content": SOURCE},
            {"role": "tool", "tool_call_id": "b", "content": "ok"},
        ]
    }
    assert _reasons(request, "openai") == {("messages", 2): "edited-file", ("messages", 3): "edit-result"}


def test_decisions_never_change_as_the_conversation_grows() -> None:
    session = _claude_code_session()
    full = {p.path: p.reason for p in protected_results(session, "anthropic")}
    for end in range(1, len(session["messages"])):
        prefix = {**session, "messages": session["messages"][:end]}
        decided = {p.path: p.reason for p in protected_results(prefix, "anthropic")}
        assert decided == {path: r for path, r in full.items() if path[1] < end}


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("Read", {"file_path": "a.py", "limit": 100}, ("read", True)),
        ("str_replace_based_edit_tool", {"command": "view", "path": "a.py"}, ("read", False)),
        ("str_replace_based_edit_tool", {"command": "str_replace", "path": "a.py"}, ("edit", False)),
        ("exec_command", {"cmd": "head -n 50 a.py"}, ("read", True)),
        ("Bash", {"command": "cat a.py | grep foo"}, ("read", False)),
        ("shell", {"command": ["bash", "-lc", "sed -i 's/a/b/' a.py"]}, ("edit", False)),
        ("mcp__filesystem__write_file", {"path": "a.py", "content": "x"}, ("edit", False)),
    ],
)
def test_file_access_shapes(name: str, args: dict[str, Any], expected: tuple[str, bool]) -> None:
    (access,) = file_accesses(name, args)
    assert (access.kind, access.ranged) == expected
    assert access.paths == ("a.py",)


def test_search_and_other_tools_are_not_file_reads() -> None:
    assert file_accesses("Grep", {"pattern": "retries", "path": "src"}) == ()
    assert file_accesses("Bash", {"command": "pytest -q tests/test_client.py"}) == ()
    assert file_accesses("shell", {"command": ["rg", "-n", "retries"]}) == ()


def test_through_the_proxy(proxy: ProxyServer, upstream: FakeUpstream) -> None:
    session = _claude_code_session()
    before = proxy.state.metrics.protected_units
    client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
    client.messages.create(**session)
    sent = upstream.received[-1].json()["messages"]
    first_read = sent[2]["content"][0]["content"]
    assert len(first_read) < len(SOURCE) and find_refs(first_read)  # outlined, one retrieval away
    for i in (4, 6, 8, 10):  # the protected results arrive byte for byte
        assert sent[i] == session["messages"][i]
    assert proxy.state.metrics.protected_units == before + 4


def test_codex_code_mode_exec_scripts() -> None:
    """Codex's default model gets one `exec` tool: JavaScript calling tools.exec_command({...})."""

    def script(cmd: str) -> str:
        args = json.dumps({"cmd": cmd, "workdir": "/repo", "max_output_tokens": 30000})
        return (
            f'// @exec: {{"max_output_tokens": 30000}}\nconst r = await tools.exec_command({args});\ntext(r.output);\n'
        )

    def call(i: int, source: str) -> dict[str, Any]:
        return {"type": "custom_tool_call", "call_id": f"c{i}", "name": "exec", "input": source}

    def output(i: int) -> dict[str, Any]:
        return {
            "type": "custom_tool_call_output",
            "call_id": f"c{i}",
            "output": [{"type": "input_text", "text": SOURCE}],
        }

    patch = "tools.apply_patch('*** Begin Patch\\n*** Update File: src/app.py\\n@@\\n-a\\n+b\\n*** End Patch')"
    request = {
        "input": [
            call(1, script("cat src/util.py")),
            output(1),
            call(2, script("sed -n '1,400p' src/util.py")),
            output(2),
            call(3, f"const p = await {patch};\ntext(p);"),
            output(3),
            call(4, "const r = await tools.exec_command({cmd: 'nl -ba src/app.py', workdir: '/repo'}); text(r.output)"),
            output(4),
        ]
    }
    reasons = {p.path[:2]: p.reason for p in protected_results(request, "responses")}
    assert reasons == {("input", 3): "ranged-read", ("input", 5): "edit-result", ("input", 7): "edited-file"}


def _claude_read_session(reads: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Why did checkout fail last night?"}]
    for i, (name, args, text) in enumerate(reads):
        messages.append(
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": name, "input": args}]}
        )
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": text}]})
    messages.append({"role": "user", "content": "Go on."})
    return {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": messages}


LOG = (FIXTURES / "logs" / "java_app.log").read_text()
NUMBERED_LOG = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(LOG.split("\n"), 301))
ROWS = json.dumps([{"id": i, "title": f"issue {i}", "state": "open"} for i in range(60)], indent=2)


@pytest.mark.parametrize(
    ("name", "args", "text"),
    [
        ("Read", {"file_path": "/srv/checkout.log", "offset": 301, "limit": 600}, NUMBERED_LOG),
        ("Read", {"file_path": "/srv/output.txt", "offset": 301, "limit": 600}, NUMBERED_LOG),  # a log by content
        ("Read", {"file_path": "/srv/app.log.1", "offset": 1, "limit": 50}, SOURCE),  # a rotated log by name
        ("Read", {"file_path": "/data/issues.json", "offset": 1, "limit": 900}, ROWS),
        ("Read", {"file_path": "/data/events.csv", "limit": 900}, "id,kind\n" + "1,x\n" * 300),
        ("Bash", {"command": "head -800 /srv/checkout.log"}, LOG),
        ("Bash", {"command": "sed -n '1,400p' checkout.log | grep -v DEBUG"}, LOG),
    ],
)
def test_ranged_reads_and_rereads_of_logs_and_data_are_compressed(name: str, args: dict[str, Any], text: str) -> None:
    request = _claude_read_session([(name, args, text), (name, args, text)])
    assert protected_results(request, "anthropic") == []


@pytest.mark.parametrize(
    ("path", "text"),
    [("/repo/src/ratelimit_client.py", SOURCE), ("/repo/tsconfig.json", ROWS), ("/repo/.eslintrc.json", ROWS)],
)
def test_ranged_reads_of_source_and_config_stay_whole(path: str, text: str) -> None:
    request = _claude_read_session([("Read", {"file_path": path, "offset": 1, "limit": 400}, text)])
    assert [p.reason for p in protected_results(request, "anthropic")] == ["ranged-read"]


def test_a_data_file_the_agent_edited_stays_whole_on_reread() -> None:
    edit = ("Edit", {"file_path": "/data/issues.json", "old_string": "a", "new_string": "b"}, "updated")
    read = ("Read", {"file_path": "/data/issues.json", "offset": 1, "limit": 900}, ROWS)
    request = _claude_read_session([edit, read])
    assert [p.reason for p in protected_results(request, "anthropic")] == ["edit-result", "edited-file"]


def test_a_source_file_that_looks_like_data_is_still_protected() -> None:
    """A test module that is mostly a sample log reads like a log; its name says it is source."""
    sample = "\n".join(f"2024-01-01 10:00:{i % 60:02d} INFO worker: step {i} done" for i in range(200))
    text = f'SAMPLE = """\n{sample}\n"""\n'
    assert detect(text).kind == ContentKind.LOGS  # what the content alone would say
    request = _claude_read_session(
        [("Read", {"file_path": "/repo/tests/sample_log.py", "offset": 1, "limit": 400}, text)]
    )
    assert [p.reason for p in protected_results(request, "anthropic")] == ["ranged-read"]


SHIFTS = "python3 -c '\n" + "\n".join(f"y = x << s{i}" for i in range(300)) + "\n' && cat d.py"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # A heredoc's body is data (`cat a.py` inside it reads nothing); its opening line's redirect writes.
        ("cat <<'EOF' > a.py\ncat a.py\nEOF", (("edit", ("a.py",)),)),
        ("cat <<-END >> a.py\n\tcat b.py\n\tEND\ncat c.py", (("edit", ("a.py",)), ("read", ("c.py",)))),
        # A line break ends a command; a backslash before it continues the line.
        ("cd src\ncat a.py", (("read", ("a.py",)),)),
        ("cat \\\n  a.py", (("read", ("a.py",)),)),
        # `<<` with no terminator line is a shift, not a heredoc, however many there are.
        (SHIFTS, (("read", ("d.py",)),)),
    ],
)
def test_heredoc_bodies_are_data(script: str, expected: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    assert tuple((a.kind, a.paths) for a in file_accesses("exec_command", {"cmd": script})) == expected
