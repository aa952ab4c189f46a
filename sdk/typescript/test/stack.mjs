// A real headroom proxy (the repository's .venv `headroom proxy`) in front of the fake provider
// upstream (tests/proxy/fake_upstream.py, the providers' real wire formats), both started here on
// free loopback ports. Readiness is awaited on events (each process's first line), never sleeps.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const PYTHON = process.env.HEADROOM_PYTHON ?? join(REPO, ".venv/bin/python");
const HEADROOM = join(dirname(PYTHON), "headroom");
const START_BOUND_MS = 120_000;

/** The first line `stream` prints that matches `pattern`; rejects if the process ends first. */
function lineMatching(child, stream, pattern, what) {
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: stream });
    const seen = [];
    const bound = AbortSignal.timeout(START_BOUND_MS); // a bound on a hung start, not a timing assertion
    const settle = () => {
      bound.removeEventListener("abort", onAbort);
      child.off("exit", onExit);
      lines.off("line", onLine);
    };
    const fail = (why) => {
      settle();
      reject(new Error(`${what} ${why}:\n${seen.join("\n")}`));
    };
    const onAbort = () => fail(`did not start within ${START_BOUND_MS} ms`);
    const onExit = (code) => fail(`exited (${code}) before it was ready`);
    const onLine = (line) => {
      seen.push(line);
      const match = pattern.exec(line);
      if (match) {
        settle();
        resolvePromise(match);
      }
    };
    bound.addEventListener("abort", onAbort, { once: true });
    child.once("exit", onExit);
    lines.on("line", onLine);
  });
}

export async function startStack() {
  const store = mkdtempSync(join(tmpdir(), "headroom-node-"));
  const upstream = spawn(PYTHON, ["-m", "tests.proxy.serve_fake_upstream"], {
    cwd: REPO,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const [, upstreamUrl] = await lineMatching(upstream, upstream.stdout, /^(http:\/\/\S+)$/, "fake upstream");
  const proxy = spawn(
    HEADROOM,
    ["proxy", "--port", "0", "--store", join(store, "ccr.db"), "--anthropic-upstream", upstreamUrl, "--openai-upstream", upstreamUrl],
    { cwd: store, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, HEADROOM_URL: "" } },
  );
  // The banner comes once the proxy answers (see tests/proxy/test_cli.py).
  const [, url] = await lineMatching(proxy, proxy.stderr, /^headroom proxy \(\w+\) on (http:\/\/\S+)$/, "headroom proxy");
  proxy.stderr.resume(); // keep draining its log, so it never blocks on a full pipe
  const health = await (await fetch(`${url}/health`)).json();
  if (health.status !== "ok") throw new Error(`proxy /health: ${JSON.stringify(health)}`);

  return {
    url,
    upstreamUrl,
    /** The JSON bodies the upstream received, in order. */
    async received() {
      return (await fetch(`${upstreamUrl}/__test__/received`)).json();
    },
    async stop() {
      const exited = (child) => (child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", r)));
      proxy.kill("SIGTERM");
      upstream.stdin.end(); // it serves until its stdin closes
      await Promise.all([exited(proxy), exited(upstream)]);
      rmSync(store, { recursive: true, force: true });
    },
  };
}

/** The HDFS log fixture the Python tests use: compresses lossily (markers with refs). */
export const HDFS_LOG = readFileSync(join(REPO, "tests/fixtures/logs/hdfs.log"), "utf8");

export const REF = /ref=(h_[0-9a-f]+)/g;
export const refsIn = (text) => [...text.matchAll(REF)].map((m) => m[1]);
