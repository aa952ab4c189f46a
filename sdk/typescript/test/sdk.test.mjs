// The package against a real `headroom proxy` (started here) in front of the local fake upstream,
// with the real `openai` and `@anthropic-ai/sdk` clients calling through it.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";

import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

import {
  HeadroomError,
  HeadroomUnavailableError,
  compress,
  compressRequest,
  retrieve,
  withHeadroom,
} from "headroom-context";
import { HDFS_LOG, refsIn, startStack } from "./stack.mjs";

const FAKE_REPLY = "Hello from the fake upstream.";
const TASK = "Why did block replication fail?";

const chatMessages = () => [
  { role: "system", content: "You are an SRE assistant." },
  { role: "user", content: TASK },
  {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "call_1", type: "function", function: { name: "Bash", arguments: '{"command":"cat hdfs.log"}' } }],
  },
  { role: "tool", tool_call_id: "call_1", content: HDFS_LOG },
];
const responsesItems = () => [
  { role: "user", content: [{ type: "input_text", text: TASK }] },
  { type: "function_call", call_id: "call_1", name: "Bash", arguments: '{"command":"cat hdfs.log"}' },
  { type: "function_call_output", call_id: "call_1", output: HDFS_LOG },
];
const anthropicMessages = () => [
  { role: "user", content: TASK },
  { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "cat hdfs.log" } }] },
  { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: HDFS_LOG }] },
];
const toolOutput = {
  openai: (messages) => messages.at(-1).content,
  responses: (items) => items.at(-1).output,
  anthropic: (messages) => messages.at(-1).content[0].content,
};

let stack;
let openai;
let anthropic;
before(async () => {
  stack = await startStack();
  // Their own base URLs are never contacted: withHeadroom() points them at the proxy.
  openai = withHeadroom(new OpenAI({ apiKey: "sk-test-node", maxRetries: 0 }), { baseUrl: stack.url });
  anthropic = withHeadroom(new Anthropic({ apiKey: "sk-ant-test-node", maxRetries: 0 }), { baseUrl: stack.url });
});
after(async () => stack?.stop());

/** The tool output the upstream last received, as the model would read it. */
async function lastToolOutputUpstream(format) {
  const received = await stack.received();
  const last = received.at(-1).body;
  return toolOutput[format](format === "responses" ? last.input : last.messages);
}

describe("compress() round trips, retrieve() gets the originals back", () => {
  for (const [format, build] of [
    ["openai", chatMessages],
    ["responses", responsesItems],
    ["anthropic", anthropicMessages],
  ]) {
    test(format, async () => {
      const messages = build();
      const before = structuredClone(messages);
      const result = await compress(messages, { baseUrl: stack.url, model: "gpt-4o" });
      assert.deepEqual(messages, before, "the input is not modified");
      assert.equal(result.format, format);
      assert.equal(result.failedOpen, false);
      assert.equal(result.messages.length, messages.length);
      assert.deepEqual(result.messages.slice(0, -1), messages.slice(0, -1), "only the tool output changes");
      const compressed = toolOutput[format](result.messages);
      assert.ok(compressed.length < HDFS_LOG.length / 4, `compressed to ${compressed.length} chars`);
      assert.ok(result.stats.tokens_after < result.stats.tokens_before / 4);
      const refs = [...new Set(refsIn(compressed))]; // one original may be cited by several markers
      assert.ok(refs.length > 0);
      assert.deepEqual(refs, [...new Set(result.stats.refs)]);

      for (const ref of refs) {
        const original = await retrieve(ref, { baseUrl: stack.url });
        assert.equal(original.found, true, original.message);
        assert.ok(HDFS_LOG.includes(original.text) && original.text.length > HDFS_LOG.length / 2);
        const slice = await retrieve(ref, { baseUrl: stack.url, lines: "2-3" });
        assert.equal(slice.text, original.text.split("\n").slice(1, 3).join("\n"));
        const matching = await retrieve(ref, { baseUrl: stack.url, query: "PacketResponder" });
        assert.ok(matching.text.includes("PacketResponder") && matching.text.length < original.text.length);
      }
    });
  }

  test("the SDKs accept the compressed messages as they are", async () => {
    const chat = await compress(chatMessages(), { baseUrl: stack.url });
    const reply = await openai.chat.completions.create({ model: "gpt-4o", messages: chat.messages });
    assert.equal(reply.choices[0].message.content, FAKE_REPLY);

    const items = await compress(responsesItems(), { baseUrl: stack.url });
    const response = await openai.responses.create({ model: "gpt-4o", input: items.messages });
    assert.equal(response.output_text, FAKE_REPLY);

    const claude = await compress(anthropicMessages(), { baseUrl: stack.url });
    const message = await anthropic.messages.create({ model: "claude-sonnet-4-6", max_tokens: 256, messages: claude.messages });
    assert.equal(message.content[0].text, FAKE_REPLY);
  });

  test("compressRequest() compresses a whole body and keeps every other field", async () => {
    const body = {
      model: "claude-sonnet-4-6",
      max_tokens: 512,
      system: "You are an SRE assistant.",
      tools: [{ name: "Bash", description: "run a command", input_schema: { type: "object", properties: {} } }],
      messages: anthropicMessages(),
    };
    const result = await compressRequest(body, { baseUrl: stack.url });
    assert.equal(result.format, "anthropic");
    const { messages, ...rest } = result.request;
    const { messages: _, ...sent } = body;
    assert.deepEqual(rest, sent);
    const refs = refsIn(toolOutput.anthropic(messages));
    assert.ok(refs.length > 0);
    assert.equal((await retrieve(refs[0], { baseUrl: stack.url })).found, true);
  });

  test("an unknown ref is found: false with a message", async () => {
    const missing = await retrieve("h_0123456789ab", { baseUrl: stack.url });
    assert.deepEqual(
      { found: missing.found, text: missing.text },
      { found: false, text: "" },
    );
    assert.match(missing.message, /not found/);
  });
});

describe("withHeadroom(): the official clients through the proxy", () => {
  test("OpenAI chat, not streaming and streaming", async () => {
    const reply = await openai.chat.completions.create({ model: "gpt-4o", messages: chatMessages() });
    assert.equal(reply.choices[0].message.content, FAKE_REPLY);
    const upstreamSaw = await lastToolOutputUpstream("openai");
    assert.ok(refsIn(upstreamSaw).length > 0 && upstreamSaw.length < HDFS_LOG.length / 4, "the proxy compressed it");

    const stream = await openai.chat.completions.create({ model: "gpt-4o", messages: chatMessages(), stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    assert.equal(text, FAKE_REPLY);
    assert.ok(refsIn(await lastToolOutputUpstream("openai")).length > 0);
  });

  test("OpenAI Responses, not streaming and streaming", async () => {
    const response = await openai.responses.create({ model: "gpt-4o", input: responsesItems() });
    assert.equal(response.output_text, FAKE_REPLY);
    assert.ok(refsIn(await lastToolOutputUpstream("responses")).length > 0);

    const stream = await openai.responses.create({ model: "gpt-4o", input: responsesItems(), stream: true });
    let text = "";
    let completed = false;
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") completed = true;
    }
    assert.equal(text, FAKE_REPLY);
    assert.ok(completed);
  });

  test("Anthropic messages, not streaming and streaming", async () => {
    const message = await anthropic.messages.create({ model: "claude-sonnet-4-6", max_tokens: 256, messages: anthropicMessages() });
    assert.equal(message.content[0].text, FAKE_REPLY);
    assert.ok(refsIn(await lastToolOutputUpstream("anthropic")).length > 0);

    const stream = anthropic.messages.stream({ model: "claude-sonnet-4-6", max_tokens: 256, messages: anthropicMessages() });
    let text = "";
    stream.on("text", (delta) => {
      text += delta;
    });
    const final = await stream.finalMessage();
    assert.equal(text, FAKE_REPLY);
    assert.equal(final.content[0].text, FAKE_REPLY);
    assert.equal(final.stop_reason, "end_turn");
  });

  test("the client passed in is left as it was", () => {
    const original = new OpenAI({ apiKey: "sk-test-node", baseURL: "https://gateway.example/v1" });
    const routed = withHeadroom(original, { baseUrl: "http://127.0.0.1:9999/" });
    assert.equal(routed.baseURL, "http://127.0.0.1:9999/v1");
    assert.equal(original.baseURL, "https://gateway.example/v1");
    assert.equal(routed.apiKey, "sk-test-node");
    const claude = withHeadroom(new Anthropic({ apiKey: "sk-ant-x" }), { baseUrl: "http://127.0.0.1:9999" });
    assert.equal(claude.baseURL, "http://127.0.0.1:9999");
    assert.throws(() => withHeadroom({}), HeadroomError);
  });
});

describe("no server running", () => {
  let nowhere; // a loopback port that was free a moment ago: nothing of ours listens there
  before(async () => {
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    nowhere = `http://127.0.0.1:${probe.address().port}`;
    probe.close();
    await once(probe, "close");
  });

  test("compress() says how to start one", async () => {
    await assert.rejects(compress(chatMessages(), { baseUrl: nowhere }), (error) => {
      assert.ok(error instanceof HeadroomUnavailableError);
      assert.ok(error.message.startsWith(`No headroom server at ${nowhere} (ECONNREFUSED).`), error.message);
      assert.match(error.message, /headroom proxy/);
      return true;
    });
    await assert.rejects(retrieve("h_0123456789ab", { baseUrl: nowhere }), HeadroomUnavailableError);
  });

  test("failOpen: true returns the original messages", async () => {
    const messages = chatMessages();
    const result = await compress(messages, { baseUrl: nowhere, failOpen: true });
    assert.equal(result.failedOpen, true);
    assert.deepEqual(result.messages, messages);
    assert.match(result.stats.diagnostics[0], /failOpen.*No headroom server/);
    assert.deepEqual(result.stats.refs, []);
    const body = { model: "gpt-4o", messages };
    const whole = await compressRequest(body, { baseUrl: nowhere, failOpen: true });
    assert.equal(whole.request, body);
    assert.equal(whole.failedOpen, true);
  });

  test("a server error fails open too, and throws without failOpen", async () => {
    const notMessages = [true];
    await assert.rejects(compress(notMessages, { baseUrl: stack.url, format: "bogus" }), (error) => {
      assert.ok(error instanceof HeadroomError && error.status === 400, String(error));
      return true;
    });
    const result = await compress(notMessages, { baseUrl: stack.url, format: "bogus", failOpen: true });
    assert.deepEqual(result.messages, notMessages);
    assert.match(result.stats.diagnostics[0], /400/);
  });
});

test("CommonJS require() gets the same API", () => {
  const require = createRequire(import.meta.url);
  const cjs = require("headroom-context");
  for (const name of ["compress", "compressRequest", "retrieve", "withHeadroom", "HeadroomError"]) {
    assert.equal(typeof cjs[name], "function", name);
  }
  assert.equal(cjs.DEFAULT_BASE_URL, "http://127.0.0.1:8787");
});
