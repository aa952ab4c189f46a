/**
 * The three wire formats headroom compresses, as plain structural types: enough to type a
 * conversation by hand, and loose enough that the official SDKs' own message types (`openai`'s
 * `ChatCompletionMessageParam` / `ResponseInputItem`, `@anthropic-ai/sdk`'s `MessageParam`) can be
 * passed instead. `compress()` is generic over the message type, so what you pass is what you get.
 */

/** Which wire format a request is in. `auto` lets the server tell from its shape. */
export type Format = "openai" | "responses" | "anthropic";

// -- OpenAI Chat Completions ----------------------------------------------------------------

export interface ChatTextPart {
  type: "text";
  text: string;
}

export interface ChatImagePart {
  type: "image_url";
  image_url: { url: string; detail?: "auto" | "low" | "high" };
}

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: "system" | "developer"; content: string | ChatTextPart[]; name?: string }
  | { role: "user"; content: string | Array<ChatTextPart | ChatImagePart>; name?: string }
  | { role: "assistant"; content?: string | ChatTextPart[] | null; tool_calls?: ChatToolCall[]; name?: string }
  | { role: "tool"; tool_call_id: string; content: string | ChatTextPart[] };

export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  [key: string]: unknown;
}

// -- OpenAI Responses -----------------------------------------------------------------------

export interface ResponseInputText {
  type: "input_text";
  text: string;
}

export type ResponseInputItem =
  | { type?: "message"; role: "system" | "developer" | "user"; content: string | ResponseInputText[] }
  | { type?: "message"; role: "assistant"; content: string }
  | { type: "function_call"; call_id: string; name: string; arguments: string; id?: string }
  | { type: "function_call_output"; call_id: string; output: string }
  | { type: "custom_tool_call"; call_id: string; name: string; input: string; id?: string }
  | { type: "custom_tool_call_output"; call_id: string; output: string };

export interface ResponsesRequest {
  model: string;
  input: string | ResponseInputItem[];
  instructions?: string;
  [key: string]: unknown;
}

// -- Anthropic Messages ---------------------------------------------------------------------

export interface AnthropicTextBlock {
  type: "text";
  text: string;
}

export type AnthropicContentBlock =
  | AnthropicTextBlock
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
  | { type: "tool_result"; tool_use_id: string; content?: string | AnthropicTextBlock[]; is_error?: boolean };

export interface AnthropicMessage {
  role: "user" | "assistant";
  content: string | AnthropicContentBlock[];
}

export interface AnthropicMessagesRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string | AnthropicTextBlock[];
  [key: string]: unknown;
}

/** Any of the three request bodies. */
export type CompressibleRequest = ChatCompletionRequest | ResponsesRequest | AnthropicMessagesRequest;

// -- What the server answers ----------------------------------------------------------------

/** One compressed unit (a tool output, a document). Never holds the text itself. */
export interface UnitReport {
  /** Where it is, e.g. `messages[3].content`. */
  location: string;
  kind: string;
  compressor: string;
  tokens_before: number;
  tokens_after: number;
  /** Set when the original was stored (lossy compression): `retrieve(ref)` gives it back. */
  ref: string | null;
  diagnostic: string | null;
  time_ms: number;
  notes: Record<string, number>;
}

/**
 * What compression did, as the server reports it (snake_case, as on the wire). Token counts are
 * exact o200k_base counts of what the model reads. When the server left the input unchanged (or
 * `failOpen` did), the counts may be missing and `diagnostics` says why; `refs` and `diagnostics`
 * are always lists.
 */
export interface CompressionStats {
  tokens_before?: number;
  tokens_after?: number;
  /** tokens_before - tokens_after */
  saved?: number;
  /** tokens_after / tokens_before (1 = nothing saved) */
  ratio?: number;
  time_ms?: number;
  format?: string;
  tokenizer?: string;
  transforms?: Record<string, { name: string; units: number; tokens_before: number; tokens_after: number }>;
  units?: UnitReport[];
  /** The refs of the originals stored, one per lossily compressed unit: each resolves with `retrieve()`. */
  refs: string[];
  /** Why something was left as it was (a shape not understood, a timeout, no server with `failOpen`). */
  diagnostics: string[];
}

export interface CompressResult<M> {
  /** The messages to send: the same shape as the input, tool outputs compressed. */
  messages: M[];
  stats: CompressionStats;
  format: Format;
  /** True when `failOpen` returned the input because the server could not be used. */
  failedOpen: boolean;
}

export interface CompressRequestResult<R> {
  /** The request body to send, compressed. */
  request: R;
  stats: CompressionStats;
  format: Format;
  failedOpen: boolean;
}

export interface RetrieveResult {
  /** The ref resolved to a stored original. */
  found: boolean;
  ref: string;
  /** The original, or the requested slice of it ("" when not found). */
  text: string;
  /** What `text` is, or why there is none. */
  message: string;
}
