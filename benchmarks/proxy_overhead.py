"""Proxy overhead benchmark (not a test): latency added by `headroom proxy` on loopback.

Three processes, as deployed: this client, a fake upstream (tests/proxy/fake_upstream.py,
the providers' wire formats) and `headroom proxy` itself. It measures, for the same requests
sent directly to the upstream and through the proxy:

- a small request (nothing to compress): the proxy's pure overhead;
- a ~100k-token agent request, cold (new content every time: full compression) and warm
  (the same history re-sent, as agents do every turn: the pipeline's unit cache hits);
- a load run: 200 concurrent streaming requests, several waves, errors and proxy memory.

Prints a markdown table. Usage: `python benchmarks/proxy_overhead.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT.parent / "shared" / "bench" / "cases"
HEADERS = {"x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01", "content-type": "application/json"}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
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
            "--compress-timeout-ms",
            "30000",
        ],
        env=env,
        stderr=subprocess.PIPE,
    )
    rows: list[str] = []
    try:
        _wait(direct, upstream)
        _wait(proxied, proxy)
        n_small = 200 if args.quick else 1000
        n_large = 10 if args.quick else 30
        with httpx.Client(timeout=120) as client:
            small = json.dumps(_small_request()).encode()
            _timed(client, direct, small, 50), _timed(client, proxied, small, 50)  # warm up both paths
            d, p = _interleaved(client, direct, proxied, lambda i: small, n_small)
            rows.append(_row("small request (~40 tokens, nothing to compress)", d, p, n_small))

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
        for process in (proxy, upstream):
            process.terminate()
            process.wait(10)

    print("## Proxy overhead (loopback, headroom proxy vs calling the upstream directly)\n")
    print(
        f"Machine: {os.cpu_count()} cores; client, upstream and proxy are separate processes; "
        "latency is the full request/response round trip.\n"
    )
    print(
        "| request | n | direct p50 ms | proxy p50 ms | overhead p50 ms | direct p99 ms | proxy p99 ms "
        "| overhead p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nThe large request ({tokens:,} tokens, o200k) is {saved:.1f}% smaller on its way upstream.\n")
    print(f"### Load: {concurrency} concurrent streaming requests per wave (~50 SSE events each, ~0.5 s)\n")
    print(
        "| wave | streams | errors | events relayed | first byte p50 ms | first byte p99 ms | wave s | proxy RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(load_rows))
    print(f"\nProxy RSS before the first wave: {memory[0]:.0f} MB; after the last: {memory[-1]:.0f} MB.")


def _row(name: str, direct: list[float], proxy: list[float], n: int) -> str:
    d50, p50, d99, p99 = _pct(direct, 0.5), _pct(proxy, 0.5), _pct(direct, 0.99), _pct(proxy, 0.99)
    return f"| {name} | {n} | {d50:.2f} | {p50:.2f} | {p50 - d50:+.2f} | {d99:.2f} | {p99:.2f} | {p99 - d99:+.2f} |"


if __name__ == "__main__":
    main()
