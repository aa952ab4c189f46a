import { HeadroomError, resolveBaseUrl } from "./client.js";

/** The SDK a client comes from: `openai` (Chat Completions, Responses) or `@anthropic-ai/sdk`. */
export type Provider = "openai" | "anthropic";

export interface WithHeadroomOptions {
  /** The headroom proxy. Default: HEADROOM_URL, else http://127.0.0.1:8787. */
  baseUrl?: string;
  /** Which SDK the client is from; told from the client's shape when left out. */
  provider?: Provider;
}

/** What both official SDKs' clients have: `withOptions()` makes a copy with some options changed. */
export interface ConfigurableClient {
  withOptions(options: { baseURL?: string | null }): unknown;
}

function providerOf(client: object): Provider | undefined {
  if ("chat" in client && "responses" in client) return "openai";
  if ("messages" in client) return "anthropic";
  return undefined;
}

/**
 * A copy of an `openai` or `@anthropic-ai/sdk` client that sends its requests through a running
 * headroom proxy, which compresses them and forwards them to the provider (the upstream the proxy
 * was started with). Keys, options and retries stay as the client had them; the client passed in
 * is not changed. OpenAI clients get `<proxy>/v1`, Anthropic clients `<proxy>`, as each SDK expects.
 */
export function withHeadroom<C extends ConfigurableClient>(client: C, options: WithHeadroomOptions = {}): C {
  if (typeof client?.withOptions !== "function") {
    throw new HeadroomError("withHeadroom() takes a client of the openai or @anthropic-ai/sdk package");
  }
  const provider = options.provider ?? providerOf(client);
  if (provider === undefined) {
    throw new HeadroomError("withHeadroom() could not tell the client's SDK: pass { provider: 'openai' | 'anthropic' }");
  }
  const proxy = resolveBaseUrl(options.baseUrl);
  return client.withOptions({ baseURL: provider === "openai" ? `${proxy}/v1` : proxy }) as C;
}
