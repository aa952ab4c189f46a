// Compiled with `tsc --noEmit` by `npm test`: what compress() returns is accepted by the official
// SDKs' create() calls as it is, with their own message types in and out.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

import { compress, compressRequest, withHeadroom } from "headroom-context";
import type { AnthropicMessage, AnthropicMessagesRequest, ChatMessage, ResponseInputItem } from "headroom-context";

export async function typesFlowThrough(): Promise<void> {
  const openai: OpenAI = withHeadroom(new OpenAI({ apiKey: "sk-test" }));
  const anthropic: Anthropic = withHeadroom(new Anthropic({ apiKey: "sk-ant-test" }));

  const chat: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "hi" }];
  const chatOut = await compress(chat, { model: "gpt-4o" });
  await openai.chat.completions.create({ model: "gpt-4o", messages: chatOut.messages });

  const items: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "hi" }];
  const itemsOut = await compress(items, { format: "responses" });
  await openai.responses.create({ model: "gpt-4o", input: itemsOut.messages });

  const claude: Anthropic.MessageParam[] = [{ role: "user", content: "hi" }];
  const claudeOut = await compress(claude);
  await anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 64, messages: claudeOut.messages });

  const whole = await compressRequest({ model: "claude-sonnet-4-5", max_tokens: 64, messages: claude });
  await anthropic.messages.create(whole.request);

  // The package's own types, written by hand, are accepted by the SDKs too.
  const mine: ChatMessage[] = [{ role: "tool", tool_call_id: "call_1", content: "output" }];
  await openai.chat.completions.create({ model: "gpt-4o", messages: (await compress(mine)).messages });
  const mineItems: ResponseInputItem[] = [
    { role: "user", content: [{ type: "input_text", text: "list the files" }] },
    { type: "function_call", call_id: "call_1", name: "ls", arguments: "{}" },
    { type: "function_call_output", call_id: "call_1", output: "a.txt" },
  ];
  await openai.responses.create({ model: "gpt-4o", input: (await compress(mineItems)).messages });
  const mineClaude: AnthropicMessage[] = [
    { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "ls", input: {} }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "a.txt" }] }] },
  ];
  const claudeRequest: AnthropicMessagesRequest = { model: "claude-sonnet-4-5", max_tokens: 64, messages: mineClaude };
  await anthropic.messages.create((await compressRequest(claudeRequest)).request);
  await anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 64, messages: (await compress(mineClaude)).messages });
}
