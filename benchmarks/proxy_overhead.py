"""Proxy overhead benchmark (not a test): latency added by `headroom proxy` on loopback.

Three processes, as deployed: this client, a fake upstream (tests/proxy/fake_upstream.py,
the providers' wire formats) and `headroom proxy` itself. It measures, for the same requests
sent directly to the upstream and through the proxy:

- small requests (nothing to compress): the proxy's pure overhead, for Anthropic /v1/messages
  and OpenAI /v1/chat/completions, each non-streaming and streaming;
- a ~100k-token agent request, cold (new content every time: full compression) and warm
  (the same history re-sent, as agents do every turn: the pipeline's unit cache hits);
- a load run: 200 concurrent streaming requests, several waves, errors and proxy memory.

With `--peer PATH` (or HEADROOM_BENCH_PEER=PATH), PATH being another proxy's `headroom` executable
(e.g. the `headroom-ai` package from PyPI, installed in its own venv), the small requests are also
sent through that proxy, interleaved with the direct and our proxied calls against the same
upstream, and a side-by-side table follows. `--small-only` skips the large requests and the load run.

Prints markdown tables. Usage: `python benchmarks/proxy_overhead.py [--quick] [--small-only] [--peer PATH]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT.parent / "shared" / "bench" / "cases"
HEADERS = {"x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01", "content-type": "application/json"}
OPENAI_HEADERS = {"authorization": "Bearer sk-proj-bench", "content-type": "application/json"}
# (label, API path, headers, streaming): the small requests every proxy is measured on.
SMALL_CASES = (
    ("Anthropic /v1/messages", "/v1/messages", HEADERS, False),
    ("Anthropic /v1/messages, stream", "/v1/messages", HEADERS, True),
    ("OpenAI /v1/chat/completions", "/v1/chat/completions", OPENAI_HEADERS, False),
    ("OpenAI /v1/chat/completions, stream", "/v1/chat/completions", OPENAI_HEADERS, True),
)


# -- the upstream process --------------------------------------------------------------------


def serve_upstream(port: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.proxy.fake_upstream import FakeUpstream, Reply

    from headroom.proxy.server import uvicorn_config

    def brain(api: str, body: dict[str, Any]) -> Reply:
        if (body.get("metadata") or {}).get("user_id") == "bench-stream":
            return Reply(text="streamed token " * 40, chunk_delay=0.01)  # ~50 events over ~0.5 s
        return Reply(text="ok")

    upstream = FakeUpstream(brain)
    # Keep nothing per request: the benchmark sends thousands.
    upstream.received = _Discard()  # type: ignore[assignment]
    upstream.sent = _Discard()  # type: ignore[assignment]
    import uvicorn

    uvicorn.Server(uvicorn_config(upstream.app, "127.0.0.1", port)).run()


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: Any) -> None:
        if not len(self):
            super().append(item)
        else:
            self[0] = item


# -- helpers ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            httpx.get(url + "/health" if "proxy" in str(process.args) else url + "/v1/models", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _small_request() -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "system": "You are a helpful assistant.",
        "messages": [{"role": "user", "content": "What is the capital of France? Answer in one word."}],
    }


def _small_body(path: str, stream: bool, i: int) -> bytes:
    """A ~40-token request in the path's wire format. Every one is new (`i` in the question): a
    proxy that caches identical requests would otherwise answer from its cache, not the upstream."""
    question = f"What is the capital of France? Answer in one word. (#{i})"
    if path == "/v1/messages":
        body = {**_small_request(), "messages": [{"role": "user", "content": question}]}
    else:
        system = {"role": "system", "content": "You are a helpful assistant."}
        messages = [system, {"role": "user", "content": question}]
        body = {"model": "gpt-4o", "max_tokens": 256, "messages": messages}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def _large_request(nonce: str = "") -> dict[str, Any]:
    """~100k tokens: the Hadoop incident (logs) and the asyncio code search (grep hits) sessions
    of the shared bench, joined into one agent conversation."""
    first = json.loads((CASES / "sre_incident_hadoop_mapreduce.json").read_text())["anthropic"]
    second = json.loads((CASES / "code_search_asyncio_timeout.json").read_text())["anthropic"]
    messages = [*first["messages"][:-1], *second["messages"]]
    messages[0] = {"role": "user", "content": f"{nonce} {messages[0]['content']}".strip()}
    if nonce:  # new content in every tool result (same shape): nothing cached anywhere
        for message in messages:
            for block in message["content"] if isinstance(message["content"], list) else ():
                if block.get("type") == "tool_result" and isinstance(block.get("content"), str):
                    block["content"] = _vary(block["content"], nonce)
    return {**first, "messages": messages, "tools": first["tools"] + second["tools"]}


def _vary(text: str, nonce: str) -> str:
    try:
        rows = json.loads(text)
    except ValueError:
        return f"# run {nonce}\n{text}"  # logs, search hits: one more line
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        rows[0] = {**rows[0], "run": nonce}  # JSON rows stay JSON rows
    return json.dumps(rows)


def _timed(client: httpx.Client, url: str, body: bytes, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.post(url + "/v1/messages", content=body, headers=HEADERS)
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return samples


def _one(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> float:
    """One request, timed to the last byte of the response (all events of a stream)."""
    started = time.perf_counter()
    with client.stream("POST", url, content=body, headers=headers) as response:
        received = b"".join(response.iter_raw())
        elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {received[:300]!r}")
    return elapsed


def _side_by_side(
    client: httpx.Client, bases: dict[str, str], case: tuple[str, str, dict[str, str], bool], n: int, offset: int
) -> dict[str, list[float]]:
    """`n` rounds of one small request to every base URL. The order rotates each round, so no
    target always runs right after another (or always first, on a cold cache line)."""
    _, path, headers, stream = case
    names = list(bases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        body = _small_body(path, stream, offset + i)
        for k in range(len(names)):
            name = names[(i + k) % len(names)]
            samples[name].append(_one(client, bases[name] + path, body, headers))
    return samples


def _interleaved(client: httpx.Client, direct: str, proxy: str, make: Callable[[int], bytes], n: int) -> tuple:
    """Alternate direct and proxied calls so both see the same machine noise."""
    a, b = [], []
    for i in range(n):
        body = make(i)
        a += _timed(client, direct, body, 1)
        b += _timed(client, proxy, body, 1)
    return a, b


async def _load(proxy: str, concurrency: int) -> tuple[int, int, list[float], float]:
    body = json.dumps({**_small_request(), "stream": True, "metadata": {"user_id": "bench-stream"}}).encode()
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency + 10)
    errors, events, first_bytes = 0, 0, []
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one() -> None:
            nonlocal errors, events
            started = time.perf_counter()
            try:
                async with client.stream("POST", proxy + "/v1/messages", content=body, headers=HEADERS) as response:
                    if response.status_code != 200:
                        errors += 1
                        return
                    first = True
                    async for chunk in response.aiter_bytes():
                        if first:
                            first_bytes.append((time.perf_counter() - started) * 1000)
                            first = False
                        events += chunk.count(b"\n\n")
                    if b"message_stop" not in chunk:
                        errors += 1
            except httpx.HTTPError:
                errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return errors, events, first_bytes, elapsed


def _start_peer(executable: str, port: int, upstream: str, home: str, extra: list[str]) -> subprocess.Popen[bytes]:
    """The peer proxy, pointed at our fake upstream. Its response cache and rate limiter are off
    (a cache hit never reaches the upstream; 60 requests a minute is its default limit), and so
    is its telemetry; everything else as it ships. HOME is a scratch directory: it writes
    savings files there. Its per-request log goes to a file, never to an unread pipe."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HOME"] = home
    log = open(Path(home) / "peer.log", "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [
            executable,
            "proxy",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--anthropic-api-url",
            upstream,
            "--openai-api-url",
            upstream,
            "--no-cache",
            "--no-rate-limit",
            "--no-telemetry",
            *extra,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=home,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--small-only", action="store_true", help="only the small requests (no large, no load)")
    parser.add_argument(
        "--peer",
        default=os.environ.get("HEADROOM_BENCH_PEER"),
        help="another proxy's `headroom` executable, measured side by side (env HEADROOM_BENCH_PEER)",
    )
    parser.add_argument(
        "--peer-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for the peer's `proxy` command (repeatable), e.g. --peer-arg=--no-optimize",
    )
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return

    upstream_port, proxy_port = _free_port(), _free_port()
    direct, proxied = f"http://127.0.0.1:{upstream_port}", f"http://127.0.0.1:{proxy_port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--serve-upstream", str(upstream_port)], env=env, stderr=subprocess.PIPE
    )
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "headroom.cli.main",
            "proxy",
            "--port",
            str(proxy_port),
            "--store",
            "memory",
            "--anthropic-upstream",
            direct,
            "--openai-upstream",
            direct,
            "--compress-timeout-ms",
            "30000",
        ],
        env=env,
        stderr=subprocess.PIPE,
    )
    processes = [proxy, upstream]
    peer_home = tempfile.TemporaryDirectory(prefix="headroom-bench-peer-")
    bases = {"direct": direct, "headroom": proxied}
    if args.peer:
        peer_port = _free_port()
        processes.insert(0, _start_peer(args.peer, peer_port, direct, peer_home.name, args.peer_arg))
        bases["peer"] = f"http://127.0.0.1:{peer_port}"
    rows: list[str] = []
    load_before = os.getloadavg()[0]
    small: dict[str, dict[str, list[float]]] = {}
    n_small = 200 if args.quick else 1000
    n_large = 10 if args.quick else 30
    try:
        _wait(direct, upstream)
        _wait(proxied, proxy)
        if args.peer:
            _wait(bases["peer"], processes[0])
        with httpx.Client(timeout=120) as client:
            for case in SMALL_CASES:  # warm up every path (connections, lazy imports, caches)
                _side_by_side(client, bases, case, 50, 0)
            for round_, case in enumerate(SMALL_CASES):
                small[case[0]] = _side_by_side(client, bases, case, n_small, (round_ + 1) * 100_000)
                d, p = small[case[0]]["direct"], small[case[0]]["headroom"]
                rows.append(_row(f"small: {case[0]} (~40 tokens, nothing to compress)", d, p, n_small))

            if not args.small_only:
                large = _large_request()
                warm = json.dumps(large).encode()
                measured = client.post(proxied + "/v1/compress", content=warm).json()["stats"]
                tokens, saved = measured["tokens_before"], 100 * (1 - measured["ratio"])
                _timed(client, proxied, warm, 2)  # first sight fills the unit cache
                d, p = _interleaved(client, direct, proxied, lambda i: warm, n_large)
                rows.append(_row(f"{tokens // 1000}k-token agent request, warm (history re-sent)", d, p, n_large))
                d, p = _interleaved(
                    client, direct, proxied, lambda i: json.dumps(_large_request(f"n{i}")).encode(), n_large
                )
                rows.append(_row(f"{tokens // 1000}k-token agent request, cold (all new content)", d, p, n_large))

        if not args.small_only:
            concurrency, waves = 200, 3 if args.quick else 5
            memory = [_rss_mb(proxy.pid)]
            errors, events, first_bytes, elapsed = asyncio.run(_load(direct, concurrency))
            load_rows = [
                f"| direct | {concurrency} | {errors} | {events} | {_pct(first_bytes, 0.5):.1f} | "
                f"{_pct(first_bytes, 0.99):.1f} | {elapsed:.2f} | - |"
            ]
            for wave in range(1, waves + 1):
                errors, events, first_bytes, elapsed = asyncio.run(_load(proxied, concurrency))
                memory.append(_rss_mb(proxy.pid))
                load_rows.append(
                    f"| {wave} | {concurrency} | {errors} | {events} | {_pct(first_bytes, 0.5):.1f} | "
                    f"{_pct(first_bytes, 0.99):.1f} | {elapsed:.2f} | {memory[-1]:.0f} |"
                )
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        peer_home.cleanup()

    print("## Proxy overhead (loopback, headroom proxy vs calling the upstream directly)\n")
    print(
        f"Machine: {os.cpu_count()} cores (load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after); "
        "client, upstream and proxy are separate processes; latency is the full request/response round trip.\n"
    )
    print(
        "| request | n | direct p50 ms | proxy p50 ms | overhead p50 ms | direct p99 ms | proxy p99 ms "
        "| overhead p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    if args.peer:
        _print_peer_table(small, n_small, args.peer, args.peer_arg)
    if args.small_only:
        return
    print(f"\nThe large request ({tokens:,} tokens, o200k) is {saved:.1f}% smaller on its way upstream.\n")
    print(f"### Load: {concurrency} concurrent streaming requests per wave (~50 SSE events each, ~0.5 s)\n")
    print(
        "| wave | streams | errors | events relayed | first byte p50 ms | first byte p99 ms | wave s | proxy RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(load_rows))
    print(f"\nProxy RSS before the first wave: {memory[0]:.0f} MB; after the last: {memory[-1]:.0f} MB.")


def _peer_version(executable: str) -> str:
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown version"
    return out.strip().splitlines()[-1] if out.strip() else "unknown version"


def _print_peer_table(small: dict[str, dict[str, list[float]]], n: int, peer: str, extra: list[str]) -> None:
    print(f"\n### Small requests side by side: direct, headroom, peer ({_peer_version(peer)})\n")
    flags = " ".join(["--no-cache", "--no-rate-limit", "--no-telemetry", *extra])
    print(
        "Each round sends the same new request to all three, in rotating order, against the same upstream; "
        f"n = {n} per cell; ms. Overhead = proxy minus direct. Peer started as `proxy {flags}`.\n"
    )
    print(
        "| request | direct p50 | headroom p50 | peer p50 | headroom - peer p50 | direct p99 | headroom p99 "
        "| peer p99 | headroom overhead p50 | peer overhead p50 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, samples in small.items():
        d50, h50, p50 = (_pct(samples[k], 0.5) for k in ("direct", "headroom", "peer"))
        d99, h99, p99 = (_pct(samples[k], 0.99) for k in ("direct", "headroom", "peer"))
        print(
            f"| {name} | {d50:.2f} | {h50:.2f} | {p50:.2f} | {h50 - p50:+.2f} | {d99:.2f} | {h99:.2f} | {p99:.2f} "
            f"| {h50 - d50:+.2f} | {p50 - d50:+.2f} |"
        )


def _row(name: str, direct: list[float], proxy: list[float], n: int) -> str:
    d50, p50, d99, p99 = _pct(direct, 0.5), _pct(proxy, 0.5), _pct(direct, 0.99), _pct(proxy, 0.99)
    return f"| {name} | {n} | {d50:.2f} | {p50:.2f} | {p50 - d50:+.2f} | {d99:.2f} | {p99:.2f} | {p99 - d99:+.2f} |"


if __name__ == "__main__":
    main()
