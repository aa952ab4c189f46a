"""`headroom compress` as a user runs it: the real console script, errors as one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import customer_rows, openai_request

HEADROOM = Path(sys.executable).parent / "headroom"


def _run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(HEADROOM), "compress", *args], input=stdin, capture_output=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("/nonexistent/request.json",), b"cannot read /nonexistent/request.json"),
        (("/",), b"is a directory"),
        (("--format", "bogus", "-"), b"unknown --format 'bogus'"),
    ],
)
def test_errors_are_one_line_and_exit_2(args: tuple[str, ...], says: bytes) -> None:
    done = _run(*args)
    assert done.returncode == 2
    assert says in done.stderr and b"Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_json_output_of_binary_input_is_valid_json() -> None:
    blob = bytes(range(256)) * 40
    done = _run("--json", "-", stdin=blob)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stats"]["format"] == "text"


def test_messages_that_are_not_a_list_give_one_diagnostic() -> None:
    done = _run("--json", "-", stdin=b'{"messages": "notalist"}')
    assert done.returncode == 0
    diagnostics = json.loads(done.stdout)["stats"]["diagnostics"]
    assert len(diagnostics) == 1 and "not readable" in diagnostics[0]


def test_a_request_compresses_and_plain_text_is_titled_text(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(openai_request(json.dumps(customer_rows(200)))))
    done = _run("--json", str(request))
    stats = json.loads(done.stdout)["stats"]
    assert stats["format"] == "openai" and stats["tokens_after"] < stats["tokens_before"] / 2
    hello = json.loads(_run("--json", "-", stdin=b"hello world").stdout)["stats"]
    assert hello["format"] == "text"


# The core install has none of the extras: the CLI must start and compress without them.
_WITHOUT_EXTRAS = """
import sys
for name in ("httpx", "starlette", "uvicorn", "mcp", "tree_sitter", "numpy", "redis"):
    sys.modules[name] = None  # importing it raises ImportError, as when the extra is not installed
from headroom.cli.main import main
sys.argv = ["headroom", *sys.argv[1:]]
main()
"""


def test_the_cli_runs_without_the_extras_and_says_what_a_command_needs() -> None:
    log = "".join(f"2024-05-01 10:00:{i % 60:02d} INFO worker {i % 3} finished job\n" for i in range(400)).encode()
    compressed = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, "compress", "-", "--quiet"], input=log, capture_output=True, timeout=120
    )
    assert compressed.returncode == 0, compressed.stderr.decode()
    assert b"logs" in compressed.stderr  # the savings table names the compressor that ran
    proxy = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, "proxy", "--port", "0"], capture_output=True, timeout=60
    )
    lines = proxy.stderr.decode().strip().splitlines()
    assert proxy.returncode == 2 and len(lines) == 1 and "needs the proxy extra" in lines[0]
