/**
 * The client side of a headroom server (`headroom proxy`): compression and retrieval happen
 * there, in the one engine the Python library, the proxy and the MCP server share. This module
 * only speaks its HTTP API (`POST /v1/compress`, `POST /v1/retrieve`) with the global `fetch`.
 */
import type {
  CompressionStats,
  CompressRequestResult,
  CompressResult,
  CompressibleRequest,
  Format,
  RetrieveResult,
} from "./types.js";

/** Where `headroom proxy` listens unless told otherwise. */
export const DEFAULT_BASE_URL = "http://127.0.0.1:8787";

const START_HINT =
  "Start one with `headroom proxy` (pip install headroom-context), point HEADROOM_URL or the " +
  "baseUrl option at a running one, or pass failOpen: true to send the messages uncompressed.";

export interface ServerOptions {
  /** The headroom server. Default: the HEADROOM_URL environment variable, else http://127.0.0.1:8787. */
  baseUrl?: string;
  /** Cancels the call (e.g. `AbortSignal.timeout(5000)`). */
  signal?: AbortSignal;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface CompressOptions extends ServerOptions {
  /** The wire format of the messages; by default the server tells from their shape. */
  format?: Format | "auto";
  /** The model the messages are for: picks the tokenizer the stats count with. */
  model?: string;
  /**
   * When the server cannot be used (not running, an error, a timeout), return the input unchanged
   * with the reason in `stats.diagnostics` instead of throwing.
   */
  failOpen?: boolean;
}

export interface RetrieveOptions extends ServerOptions {
  /** Only the JSON rows / text lines containing these words. */
  query?: string;
  /** Only this line range, e.g. "120-164". */
  lines?: string;
}

/** The server answered with an error (`status`), or with something that is not its API. */
export class HeadroomError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HeadroomError";
    this.status = status;
  }
}

/** No headroom server answered at `baseUrl`: the message says how to start one. */
export class HeadroomUnavailableError extends HeadroomError {
  readonly baseUrl: string;
  constructor(baseUrl: string, reason: string, options?: { cause?: unknown }) {
    super(`No headroom server at ${baseUrl} (${reason}). ${START_HINT}`, undefined, options);
    this.name = "HeadroomUnavailableError";
    this.baseUrl = baseUrl;
  }
}

/** The server's base URL from the options, HEADROOM_URL, or the default; no trailing slash. */
export function resolveBaseUrl(baseUrl?: string): string {
  const env = typeof process === "undefined" ? undefined : process.env["HEADROOM_URL"];
  return (baseUrl || env || DEFAULT_BASE_URL).replace(/\/+$/, "");
}

function describe(error: unknown): string {
  // fetch() rejects with "fetch failed" and puts the system error (ECONNREFUSED...) in `cause`.
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function post(path: string, body: unknown, options: ServerOptions): Promise<{ status: number; data: unknown }> {
  const baseUrl = resolveBaseUrl(options.baseUrl);
  const doFetch = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(baseUrl + path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw error; // the caller's own cancellation: theirs to handle
    throw new HeadroomUnavailableError(baseUrl, describe(error), { cause: error });
  }
  const text = await response.text();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new HeadroomError(
      `${baseUrl}${path} answered ${response.status} with no JSON: is it a headroom server? (${text.slice(0, 120)})`,
      response.status,
      { cause: error },
    );
  }
  return { status: response.status, data };
}

function errorMessage(data: unknown): string {
  const error = (data as { error?: { message?: unknown } } | null)?.error;
  return typeof error?.message === "string" ? error.message : JSON.stringify(data).slice(0, 200);
}

interface CompressAnswer {
  request: Record<string, unknown>;
  stats: CompressionStats;
  format: Format;
}

async function callCompress(body: Record<string, unknown>, options: ServerOptions): Promise<CompressAnswer> {
  const { status, data } = await post("/v1/compress", body, options);
  const answer = data as Partial<CompressAnswer> | null;
  if (status !== 200) {
    throw new HeadroomError(`headroom /v1/compress: ${status} ${errorMessage(data)}`, status);
  }
  if (!answer || typeof answer.request !== "object" || answer.request === null || typeof answer.format !== "string") {
    throw new HeadroomError(`headroom /v1/compress answered an unexpected body: ${JSON.stringify(data).slice(0, 200)}`);
  }
  const stats = { ...answer.stats, refs: answer.stats?.refs ?? [], diagnostics: answer.stats?.diagnostics ?? [] };
  return { request: answer.request, stats, format: answer.format };
}

function failedOpenStats(error: unknown): CompressionStats {
  const reason = error instanceof Error ? error.message : String(error);
  return { refs: [], diagnostics: [`headroom not used (failOpen): ${reason}`] };
}

/**
 * Compress a conversation's tool outputs (and other bulky content) on the headroom server.
 *
 * `messages` are OpenAI chat messages, OpenAI Responses input items or Anthropic messages; the
 * result has the same shape and type, ready for `client.chat.completions.create({messages})`,
 * `client.responses.create({input})` or `client.messages.create({messages})`. Omitted content is
 * marked in place with a `ref=h_...` that `retrieve()` resolves. The input is never modified.
 */
export async function compress<M>(messages: readonly M[], options: CompressOptions = {}): Promise<CompressResult<M>> {
  const format = options.format ?? "auto";
  try {
    if (!Array.isArray(messages)) {
      throw new HeadroomError("compress() takes an array of messages (or Responses input items)");
    }
    const body: Record<string, unknown> = { request: messages, provider: format };
    if (options.model) body["model"] = options.model;
    const answer = await callCompress(body, options);
    const key = answer.format === "responses" ? "input" : "messages";
    const compressed = answer.request[key];
    if (!Array.isArray(compressed)) {
      throw new HeadroomError(`headroom /v1/compress answered a ${answer.format} request without ${key}`);
    }
    return { messages: compressed as M[], stats: answer.stats, format: answer.format, failedOpen: false };
  } catch (error) {
    if (!options.failOpen || options.signal?.aborted) throw error;
    const fallback: Format = format === "auto" ? "openai" : format;
    return { messages: [...messages], stats: failedOpenStats(error), format: fallback, failedOpen: true };
  }
}

/**
 * Compress a whole request body (model, system, tools, messages or input...): what the proxy does
 * to a request before forwarding it, without forwarding. Every other field comes back as sent.
 */
export async function compressRequest<R extends CompressibleRequest | Record<string, unknown>>(
  body: R,
  options: Omit<CompressOptions, "model"> = {},
): Promise<CompressRequestResult<R>> {
  const format = options.format ?? "auto";
  try {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HeadroomError("compressRequest() takes a request body object (with messages or input)");
    }
    const answer = await callCompress({ request: body, provider: format }, options);
    return { request: answer.request as R, stats: answer.stats, format: answer.format, failedOpen: false };
  } catch (error) {
    if (!options.failOpen || options.signal?.aborted) throw error;
    const fallback: Format = format === "auto" ? "openai" : format;
    return { request: body, stats: failedOpenStats(error), format: fallback, failedOpen: true };
  }
}

/**
 * The original behind a `ref=h_...` marker, whole or narrowed by `query` / `lines`, from the
 * server's store. An unknown or expired ref is `found: false` with a message (not an exception);
 * a server that cannot be reached throws `HeadroomUnavailableError`.
 */
export async function retrieve(ref: string, options: RetrieveOptions = {}): Promise<RetrieveResult> {
  const body: Record<string, unknown> = { ref };
  if (options.query !== undefined) body["query"] = options.query;
  if (options.lines !== undefined) body["lines"] = options.lines;
  const { status, data } = await post("/v1/retrieve", body, options);
  const answer = data as Partial<RetrieveResult> | null;
  if ((status === 200 || status === 404) && typeof answer?.found === "boolean") {
    return { found: answer.found, ref: String(answer.ref ?? ref), text: answer.text ?? "", message: answer.message ?? "" };
  }
  throw new HeadroomError(`headroom /v1/retrieve: ${status} ${errorMessage(data)}`, status);
}
