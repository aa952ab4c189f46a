// headroom with the official `openai` client: compress a conversation, send it through the
// headroom proxy, and get an omitted original back by its ref.
//
//   headroom proxy &                     # pip install headroom-context; listens on 127.0.0.1:8787
//   npm install headroom-context openai
//   OPENAI_API_KEY=sk-... node node_modules/headroom-context/examples/openai.mjs
import OpenAI from "openai";
import { compress, retrieve, withHeadroom } from "headroom-context";

import { TASK, serviceLog } from "./tool-output.mjs";

const messages = [
  { role: "user", content: TASK },
  {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "call_1", type: "function", function: { name: "bash", arguments: '{"command":"cat app.log"}' } }],
  },
  { role: "tool", tool_call_id: "call_1", content: serviceLog() },
];

// 1. Compress on the headroom server (HEADROOM_URL, default http://127.0.0.1:8787).
const { messages: compressed, stats } = await compress(messages, { model: "gpt-4o" });
console.log(`compressed: ${stats.tokens_before} -> ${stats.tokens_after} tokens`);

// 2. Send them with the official client: routed through the proxy, which compresses what it sends too.
const client = withHeadroom(new OpenAI());
const reply = await client.chat.completions.create({ model: "gpt-4o", messages: compressed });
console.log(`chat: ${reply.choices[0].message.content}`);

const stream = await client.chat.completions.create({ model: "gpt-4o", messages: compressed, stream: true });
let streamed = "";
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";
console.log(`chat (streamed): ${streamed}`);

// 3. Anything omitted is marked with a ref; the original comes back whole or narrowed.
for (const ref of stats.refs) {
  const errors = await retrieve(ref, { query: "ERROR" });
  console.log(`retrieve: ${errors.message}`);
  console.log(errors.text);
}
