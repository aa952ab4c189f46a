"""Code read across files: an agent reads the function the task names, sees what it calls, and
opens the file defining that. A code unit after earlier code units of the same request keeps the
bodies of the functions their task-kept bodies call, deterministically, without changing them."""

from __future__ import annotations

from typing import Any

from headroom.ccr.base import MemoryStore
from headroom.compressors.source_code import code_read
from headroom.history import CodeReads
from headroom.pipeline import CompressConfig, Pipeline
from tests.compressors.test_json_pages import read_result
from tests.compressors.test_log_pages import claude_results

TASK = "Our server closes connections that clients expect to keep alive. How does it decide keep-alive?"
CALLEE_LINE = "            found = found.lower()  # header values compare without case"


def _filler(name: str, rows: int = 14) -> str:
    body = "\n".join(f"    total += {name}_step_{k}(value, {k})" for k in range(rows))
    return f"def {name}(value):\n    total = 0\n{body}\n    return total\n"


def connection_file() -> str:
    keep_alive = (
        "def _keep_alive(event):\n"
        '    connection = get_comma_header(event.headers, b"connection")\n'
        '    if b"close" in connection:\n'
        "        return False\n"
        '    if getattr(event, "http_version", b"1.1") < b"1.1":\n'
        "        return False\n"
        "    return True\n"
    )
    small = "def _small(event):\n    return set_comma_header(event)\n"
    return "\n\n".join([keep_alive, small, *(_filler(f"conn_helper_{k}") for k in range(10))])


def headers_file() -> str:
    rows = "\n".join(f"        values.append(part_{k}.strip())" for k in range(12))
    get_comma = (
        "def get_comma_header(headers, name):\n"
        "    values = []\n"
        "    for found_name, found in headers:\n"
        "        if found_name == name:\n"
        f"{CALLEE_LINE}\n"
        f"{rows}\n"
        "    return values\n"
    )
    set_comma = _filler("set_comma_header").replace("total = 0", "total = len(value)")
    return "\n\n".join([get_comma, set_comma, *(_filler(f"header_helper_{k}") for k in range(10))])


def request(files: list[tuple[str, str]]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": TASK}]
    for i, (path, text) in enumerate(files):
        call = {"file_path": path}
        result = {"type": "tool_result", "tool_use_id": f"t{i}", "content": read_result(text)}
        messages += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Read", "input": call}]},
            {"role": "user", "content": [result]},
        ]
    return {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": messages}


def compress(files: list[tuple[str, str]]) -> list[str]:
    pipeline = Pipeline(CompressConfig(), MemoryStore())
    return claude_results(pipeline.compress_request(request(files), "anthropic").request)


def test_the_callee_of_a_task_kept_body_keeps_its_body_in_the_next_file() -> None:
    conn, headers = ("/src/pkg/_connection.py", connection_file()), ("/src/pkg/_headers.py", headers_file())
    first, second = compress([conn, headers])
    assert '    if b"close" in connection:' in first  # `_keep_alive`, named by the task
    assert CALLEE_LINE in second  # `get_comma_header`, which it calls
    assert "header_helper_3_step_5" not in second
    # `set_comma_header` is called only by a body small enough to stay in any outline: not
    # something the task led to.
    assert "set_comma_header_step_5" not in second
    # Read alone, or after a file that was not folded for the task, the same file folds it.
    (alone,) = compress([headers])
    assert CALLEE_LINE not in alone
    _, after_other = compress([("/src/pkg/other.py", _filler("unrelated")), headers])
    assert CALLEE_LINE not in after_other


def test_a_later_turn_changes_no_earlier_unit() -> None:
    conn, headers = ("/src/pkg/_connection.py", connection_file()), ("/src/pkg/_headers.py", headers_file())
    before = compress([conn, headers])
    after = compress([conn, headers, ("/src/pkg/_state.py", _filler("state_helper"))])
    assert after[:2] == before
    assert compress([conn, headers]) == before  # and the same bytes on every run


def test_what_a_code_read_led_to() -> None:
    text = read_result(connection_file())
    (sent,) = compress([("/src/pkg/_connection.py", connection_file())])
    read = CodeReads().summarize(text, sent)  # what the request's history keeps of it
    assert read is not None
    calls = dict(read.calls)
    assert calls["get_comma_header"] == 1 and "getattr" in calls
    assert "set_comma_header" not in calls  # in a body every outline keeps
    assert "conn_helper_3_step_5" not in calls  # in a folded body
    assert CodeReads().summarize(text, text) is None  # sent whole: nothing was kept for the task
    assert code_read(connection_file(), connection_file()) is None


def state_file() -> str:
    """`_keep_alive` (named by the task) as a method of `ConnectionState`."""
    method = "\n".join("    " + line if line else line for line in connection_file().split("\n\n")[0].split("\n"))
    method = method.replace("def _keep_alive(event):", "def _keep_alive(self, event):")
    helpers = "\n".join("    " + line for line in _filler("state_helper").split("\n") if line)
    return f"class ConnectionState:\n{method}\n\n{helpers}\n\n" + "\n\n".join(
        _filler(f"conn_helper_{k}") for k in range(10)
    )


def server_file() -> str:
    """A request handler that builds a `ConnectionState` (whose `_keep_alive` the task kept)."""
    respond = (
        "def respond(event, writer):\n"
        "    state = ConnectionState(event)\n"
        "    writer.close_after_response = state.decided  # the handler honours the decision\n"
        + "".join(f"    writer.write(part_{k}(event))\n" for k in range(12))
        + "    return writer\n"
    )
    return "\n\n".join([respond, *(_filler(f"server_helper_{k}") for k in range(10))])


def test_a_later_file_keeps_the_code_using_what_the_task_led_to() -> None:
    conn, server = ("/src/pkg/_state.py", state_file()), ("/src/pkg/server.py", server_file())
    first, second = compress([conn, server])
    assert '        if b"close" in connection:' in first
    assert "writer.close_after_response = state.decided" in second  # `respond` builds a ConnectionState
    assert "server_helper_3_step_5" not in second
    # Read alone, the handler's body folds like any other.
    (alone,) = compress([server])
    assert "writer.close_after_response = state.decided" not in alone


def test_a_code_read_names_what_it_kept() -> None:
    text = read_result(state_file())
    (sent,) = compress([("/src/pkg/_state.py", state_file())])
    read = CodeReads().summarize(text, sent)
    assert read is not None
    assert {"_keep_alive", "ConnectionState"} <= set(read.kept)
    assert "conn_helper_3" not in read.kept and "state_helper" not in read.kept


def test_the_callee_comes_before_the_code_using_what_the_task_led_to() -> None:
    # The next file defines what the kept body calls, and a dozen helpers that check for the
    # kept body's class: the callee is what the agent followed; the helpers only get what
    # budget is left.
    def check(k: int) -> str:
        rows = "\n".join(f"    log.debug('state %s step {j}', state)" for j in range(6))
        guard = "    if not isinstance(state, ConnectionState):\n        raise TypeError(state)\n"
        return f"def check_state_{k}(state):\n{guard}{rows}\n    return state\n"

    second = headers_file() + "\n\n" + "\n\n".join(check(k) for k in range(12))
    _, out = compress([("/src/pkg/_state.py", state_file()), ("/src/pkg/_headers.py", second)])
    assert CALLEE_LINE in out
