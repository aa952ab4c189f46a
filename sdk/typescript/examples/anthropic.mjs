// headroom with the official `@anthropic-ai/sdk` client: compress a conversation, send it
// through the headroom proxy, and get an omitted original back by its ref.
//
//   headroom proxy &                     # pip install headroom-context; listens on 127.0.0.1:8787
//   npm install headroom-context @anthropic-ai/sdk
//   ANTHROPIC_API_KEY=sk-ant-... node node_modules/headroom-context/examples/anthropic.mjs
import Anthropic from "@anthropic-ai/sdk";
import { compress, retrieve, withHeadroom } from "headroom-context";

import { TASK, serviceLog } from "./tool-output.mjs";

const model = "claude-sonnet-4-6";
const messages = [
  { role: "user", content: TASK },
  { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "bash", input: { command: "cat app.log" } }] },
  { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: serviceLog() }] },
];

// 1. Compress on the headroom server (HEADROOM_URL, default http://127.0.0.1:8787).
const { messages: compressed, stats } = await compress(messages, { model });
console.log(`compressed: ${stats.tokens_before} -> ${stats.tokens_after} tokens`);

// 2. Send them with the official client: routed through the proxy, which compresses what it sends too.
const client = withHeadroom(new Anthropic());
const reply = await client.messages.create({ model, max_tokens: 1024, messages: compressed });
console.log(`messages: ${reply.content.find((block) => block.type === "text")?.text}`);

const stream = client.messages.stream({ model, max_tokens: 1024, messages: compressed });
let streamed = "";
stream.on("text", (delta) => {
  streamed += delta;
});
await stream.finalMessage();
console.log(`messages (streamed): ${streamed}`);

// 3. Anything omitted is marked with a ref; the original comes back whole or narrowed.
for (const ref of stats.refs) {
  const errors = await retrieve(ref, { query: "ERROR" });
  console.log(`retrieve: ${errors.message}`);
  console.log(errors.text);
}
