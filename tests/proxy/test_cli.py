"""`headroom proxy` as users run it: a real process, configured by flags and environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from tests.proxy.fake_upstream import FakeUpstream


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_proxy_command_serves_and_forwards(upstream: FakeUpstream, tmp_path) -> None:
    port = _free_port()
    env = {**os.environ, "HEADROOM_OPENAI_UPSTREAM": upstream.url, "HEADROOM_STORE": str(tmp_path / "ccr.db")}  # type: ignore[attr-defined]
    command = [
        sys.executable,
        "-m",
        "headroom.cli.main",
        "proxy",
        "--port",
        str(port),
        "--mode",
        "audit",
        "--anthropic-upstream",
        upstream.url,
    ]  # type: ignore[attr-defined]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(url + "/health").json()
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()
                time.sleep(0.05)
        assert health["mode"] == "audit"
        models = httpx.get(url + "/v1/models", headers={"authorization": "Bearer sk-test"})
        assert models.json()["data"][0]["id"] == "gpt-4o"
        assert upstream.received[-1].path == "/v1/models"
        # No server/date headers of the proxy's own: the client sees the upstream's (here: none).
        assert "date" not in models.headers and "server" not in models.headers
    finally:
        process.terminate()
        process.wait(10)
    assert b"export ANTHROPIC_BASE_URL" in process.stderr.read()


def test_bad_mode_is_rejected() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "headroom.cli.main", "proxy", "--mode", "turbo"], capture_output=True, timeout=30
    )
    assert result.returncode == 2 and b"turbo" in result.stderr
    assert all(mode in result.stderr for mode in (b"optimize", b"audit", b"off"))


def test_proxy_command_redacts_keys_in_its_logs(upstream: FakeUpstream, tmp_path) -> None:
    """uvicorn configures logging while its Config is built: the redaction filter must be on its
    handlers in the real command, not only in tests that build the app themselves."""
    port = _free_port()
    key = "sk-proj-Secret0Key0In0The0Query0CCCCCCCCCCCC"
    command = [
        *(sys.executable, "-m", "headroom.cli.main", "proxy", "--port", str(port), "--access-log"),
        *("--store", "memory", "--openai-upstream", upstream.url, "--anthropic-upstream", upstream.url),  # type: ignore[attr-defined]
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/health")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()
                time.sleep(0.05)
        response = httpx.get(url + f"/v1/models?key={key}&api_key={key}", headers={"authorization": f"Bearer {key}"})
        assert response.status_code == 200
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    logged = out + err
    assert b"/v1/models?key=[redacted]" in logged  # the access line is there, the key is not
    assert key.encode() not in logged and b"Secret0Key" not in logged


def test_bad_store_is_a_usage_error_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "headroom.cli.main", "proxy", "--store", "ftp://nowhere"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"--store" in result.stderr and b"Traceback" not in result.stderr


def test_the_banner_comes_once_the_proxy_answers(upstream: FakeUpstream) -> None:
    """The `export` lines are the signal to start the agent: /health must answer by then."""
    port = _free_port()
    command = [
        *(sys.executable, "-m", "headroom.cli.main", "proxy", "--port", str(port), "--store", "memory"),
        *("--openai-upstream", upstream.url, "--anthropic-upstream", upstream.url),  # type: ignore[attr-defined]
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # blocks until the proxy says something (an event, not a sleep)
        assert first.startswith(b"headroom proxy (optimize) on"), first
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["status"] == "ok"
    finally:
        process.terminate()
        process.wait(10)


def test_a_port_in_use_is_one_line_and_no_banner() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "headroom.cli.main", "proxy", "--port", str(port), "--store", "memory"],
            capture_output=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"headroom proxy: cannot listen on http://127.0.0.1:{port}: Address already in use".encode()
    ]


def test_port_zero_banner_names_the_port_taken(upstream: FakeUpstream) -> None:
    """`--port 0` takes a free port; the banner says which, so a script can connect (the Node SDK's tests)."""
    command = [
        *(sys.executable, "-m", "headroom.cli.main", "proxy", "--port", "0", "--store", "memory"),
        *("--openai-upstream", upstream.url, "--anthropic-upstream", upstream.url),  # type: ignore[attr-defined]
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        first = process.stderr.readline().decode()
        assert first.startswith("headroom proxy (optimize) on http://127.0.0.1:"), first
        port = int(first.rsplit(":", 1)[1])
        assert port != 0
        assert f"ANTHROPIC_BASE_URL=http://127.0.0.1:{port}" in process.stderr.readline().decode()
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["status"] == "ok"
    finally:
        process.terminate()
        process.wait(10)
