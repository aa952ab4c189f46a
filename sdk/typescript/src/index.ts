/**
 * headroom for Node: compress agent context (OpenAI chat, OpenAI Responses, Anthropic messages)
 * on a headroom server, get originals back by ref, and route the official SDK clients through
 * the headroom proxy.
 */
export {
  DEFAULT_BASE_URL,
  HeadroomError,
  HeadroomUnavailableError,
  compress,
  compressRequest,
  resolveBaseUrl,
  retrieve,
} from "./client.js";
export type { CompressOptions, RetrieveOptions, ServerOptions } from "./client.js";
export { withHeadroom } from "./with-headroom.js";
export type { ConfigurableClient, Provider, WithHeadroomOptions } from "./with-headroom.js";
export type * from "./types.js";
