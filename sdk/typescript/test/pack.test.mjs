// `npm pack` gives a tarball that installs into an empty folder, where its examples run against a
// real headroom proxy (ESM) and `require()` works (CommonJS).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { startStack } from "./stack.mjs";

const run = promisify(execFile);
const PACKAGE_DIR = new URL("..", import.meta.url).pathname;
const installed = (name) => JSON.parse(readFileSync(join(PACKAGE_DIR, "node_modules", name, "package.json"), "utf8")).version;

let stack;
let folder;
let packed;
before(async () => {
  folder = mkdtempSync(join(tmpdir(), "headroom-pack-"));
  // The proxy starts (seconds) while npm packs and installs.
  const starting = startStack();
  // `npm test` has just built dist/; packing without scripts keeps prepack's rebuild from rewriting
  // it under sdk.test.mjs, which node --test runs at the same time.
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", folder], {
    cwd: PACKAGE_DIR,
  });
  [packed] = JSON.parse(stdout);
  const app = join(folder, "app");
  await run("mkdir", [app]);
  // The SDK versions the tests use, from npm's cache when it has them.
  const sdks = [`openai@${installed("openai")}`, `@anthropic-ai/sdk@${installed("@anthropic-ai/sdk")}`];
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(folder, packed.filename), ...sdks], {
    cwd: app,
  });
  stack = await starting;
});
after(async () => {
  await stack?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

test("the tarball holds the ESM and CommonJS builds with their .d.ts, and no dependencies", () => {
  const files = packed.files.map((file) => file.path);
  for (const path of ["dist/esm/index.js", "dist/esm/index.d.ts", "dist/cjs/index.js", "dist/cjs/index.d.ts", "dist/cjs/package.json"]) {
    assert.ok(files.includes(path), path);
  }
  assert.ok(files.includes("examples/openai.mjs") && files.includes("examples/anthropic.mjs"));
  assert.ok(!files.some((path) => path.startsWith("src/") || path.startsWith("test/")));
  const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8"));
  assert.equal(manifest.dependencies, undefined, "no runtime dependencies");
});

for (const example of ["openai", "anthropic"]) {
  test(`the installed ${example} example runs`, async () => {
    const app = join(folder, "app");
    const env = { ...process.env, HEADROOM_URL: stack.url, OPENAI_API_KEY: "sk-test-pack", ANTHROPIC_API_KEY: "sk-ant-test-pack" };
    const { stdout } = await run("node", [join("node_modules", "headroom-context", "examples", `${example}.mjs`)], {
      cwd: app,
      env,
    });
    const [, before, after] = /^compressed: (\d+) -> (\d+) tokens$/m.exec(stdout) ?? [];
    assert.ok(Number(after) < Number(before) / 4, stdout);
    assert.match(stdout, /^(chat|messages): Hello from the fake upstream\.$/m);
    assert.match(stdout, /^(chat|messages) \(streamed\): Hello from the fake upstream\.$/m);
    assert.match(stdout, /^retrieve: h_[0-9a-f]+: 4 of 400 lines match all of 'ERROR'/m);
    assert.equal(stdout.match(/ ERROR upload-worker-/g)?.length, 4);
  });
}

test("the installed package loads with require()", async () => {
  const script = "const h = require('headroom-context'); console.log(typeof h.compress, typeof h.withHeadroom, h.DEFAULT_BASE_URL)";
  const { stdout } = await run("node", ["-e", script], { cwd: join(folder, "app") });
  assert.equal(stdout.trim(), "function function http://127.0.0.1:8787");
});
