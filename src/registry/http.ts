// One HTTP exchange with a registry (or its token service, or the blob store
// it redirects to), with everything the client relies on:
//
// - a per-attempt timeout combined with the caller's AbortSignal, covering
//   the body as well as the headers;
// - bounded retries (default 2) only for network errors, 429 and 5xx, with a
//   small backoff, or a 429/503's Retry-After capped to a few seconds. A
//   timeout is not retried: it already spent the whole per-request budget;
// - bodies read through a stream reader that stops as soon as more than
//   maxBytes arrived (TOO_LARGE; rejected up front when Content-Length says
//   so), so nothing is ever buffered beyond the cap;
// - redirects followed by hand (GET/HEAD, at most a few hops, http(s) only,
//   never from https down to http, and the Authorization header dropped as
//   soon as the origin changes);
// - a request counter (`stats.requests`, every attempt and every hop), and
//   an optional observer told each attempt's kind and outcome.
//
// It uses undici's fetch and an undici Agent (a custom CA is added to, not
// substituted for, the system roots).

import { rootCertificates } from 'node:tls';

import { AttestorError } from '../errors.js';
import { abortError, sleep } from '../util/abort.js';

import type * as Undici from 'undici';
import type { Agent, Dispatcher, Response } from 'undici';

export interface HttpStats {
  requests: number;
}

// What a request is for, as counted by an observer.
export type RequestKind = 'ping' | 'token' | 'manifest' | 'blob' | 'referrers';

// One attempt's outcome: the HTTP status, or why there was none.
export type RequestOutcome = number | 'network_error' | 'timeout' | 'aborted' | 'too_large';

export type RequestObserver = (kind: RequestKind, method: HttpMethod, outcome: RequestOutcome) => void;

export interface HttpOptions {
  readonly stats: HttpStats;
  readonly observe?: RequestObserver;
  readonly timeoutMs: number;
  readonly retries: number;
  // First backoff (doubled per retry); default 100 ms.
  readonly backoffMs?: number;
  // Longest Retry-After honoured; longer ones wait this long. Default 2 s.
  readonly retryAfterCapMs?: number;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST';

export interface HttpRequest {
  readonly method: HttpMethod;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  // Form or JSON body (token service only).
  readonly body?: string;
  // Cap for a 2xx body; larger is TOO_LARGE.
  readonly maxBytes: number;
  readonly dispatcher: Dispatcher;
  // Redirect hops to follow (GET/HEAD); 0 returns the 3xx itself.
  readonly maxRedirects?: number;
  // For messages: what is being fetched ("manifest ghcr.io/acme/app:1").
  readonly what: string;
  readonly kind: RequestKind;
}

// The part of a response's headers we read (case-insensitive get).
export interface HeaderBag {
  get(name: string): string | null;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: HeaderBag;
  // 2xx: the whole body (≤ maxBytes). Other statuses: at most the first
  // ERROR_BODY_BYTES, for error details. HEAD: empty.
  readonly body: Buffer;
  // Where the response finally came from (after redirects).
  readonly url: URL;
}

// Enough for a distribution error document; the rest is dropped.
const ERROR_BODY_BYTES = 16 * 1024;
const DEFAULT_BACKOFF_MS = 100;
const DEFAULT_RETRY_AFTER_CAP_MS = 2_000;
const USER_AGENT = 'spire-sigstore-attestor';

// A dispatcher for one registry: the system roots plus, optionally, a CA
// bundle (PEM text). Connections are kept alive between requests.
export async function createDispatcher(caPem?: string): Promise<Agent> {
  const { Agent } = await undici();
  if (caPem === undefined) return new Agent({ connections: 8 });
  return new Agent({ connections: 8, connect: { ca: [...rootCertificates, caPem] } });
}

// undici (about 9 MB of RSS with its HTTP parser) is loaded by the first
// registry request, not at start: a node whose workloads are all cached, or
// that never attests, does not carry it.
let undiciModule: Promise<typeof Undici> | undefined;
function undici(): Promise<typeof Undici> {
  undiciModule ??= import('undici');
  return undiciModule;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

// Retry-After as milliseconds (delta-seconds or HTTP date); undefined if absent/unparsable.
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

// The root cause's message of a fetch failure ("fetch failed" says nothing).
function networkDetail(err: unknown): string {
  let current: unknown = err;
  let message = 'network error';
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = 'code' in current && typeof current.code === 'string' ? `${current.code}: ` : '';
    message = `${code}${current.message}`;
    current = current.cause;
  }
  return message;
}

// Reads a body through its stream reader. Over `limit` bytes: with
// `truncate`, keeps the first `limit` and stops; without, throws TOO_LARGE
// the moment the limit is passed.
async function readBody(res: Response, limit: number, truncate: boolean, what: string): Promise<Buffer> {
  const stream = res.body;
  if (stream === null) return Buffer.alloc(0);
  const reader = (stream as ReadableStream<Uint8Array>).getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.byteLength > limit) {
        if (truncate) {
          chunks.push(Buffer.from(value.buffer, value.byteOffset, limit - total));
          total = limit;
          break;
        }
        throw new AttestorError('TOO_LARGE', `${what}: response body exceeds the ${limit}-byte limit`);
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      total += value.byteLength;
    }
  } finally {
    // Stops the transfer when we left early; a no-op after `done`.
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks, total);
}

async function discardBody(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

type Attempt =
  | { readonly kind: 'response'; readonly response: HttpResponse }
  | { readonly kind: 'retryable'; readonly message: string; readonly waitMs?: number; readonly status?: number };

// One request on the wire, told to the observer (if any).
async function attempt(req: HttpRequest, url: URL, headers: Record<string, string>, opts: HttpOptions, signal: AbortSignal): Promise<Attempt> {
  const observe = opts.observe;
  if (!observe) return attemptOnce(req, url, headers, opts, signal);
  try {
    const result = await attemptOnce(req, url, headers, opts, signal);
    observe(req.kind, req.method, result.kind === 'response' ? result.response.status : (result.status ?? 'network_error'));
    return result;
  } catch (err) {
    observe(req.kind, req.method, signal.aborted ? 'aborted' : err instanceof AttestorError && err.code === 'TOO_LARGE' ? 'too_large' : 'timeout');
    throw err;
  }
}

// One request on the wire, body included, under its own timeout.
async function attemptOnce(req: HttpRequest, url: URL, headers: Record<string, string>, opts: HttpOptions, signal: AbortSignal): Promise<Attempt> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), opts.timeoutMs);
  const combined = AbortSignal.any([signal, timeout.signal]);
  opts.stats.requests++;
  try {
    const { fetch } = await undici();
    let res: Response;
    try {
      res = await fetch(url, {
        method: req.method,
        headers,
        redirect: 'manual',
        signal: combined,
        dispatcher: req.dispatcher,
        ...(req.body !== undefined ? { body: req.body } : {}),
      });
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      if (timeout.signal.aborted) throw timedOut(req, url, opts);
      return { kind: 'retryable', message: `${req.what}: ${req.method} ${url.origin}: ${networkDetail(err)}` };
    }
    if (isRetryableStatus(res.status)) {
      await discardBody(res);
      const retryAfter = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
      return {
        kind: 'retryable',
        status: res.status,
        message: `${req.what}: ${req.method} ${url.origin}${url.pathname} answered ${res.status}`,
        ...(retryAfter !== undefined ? { waitMs: retryAfter } : {}),
      };
    }
    const ok = res.status >= 200 && res.status < 300;
    try {
      if (ok && req.method !== 'HEAD') {
        const length = Number(res.headers.get('content-length') ?? '');
        if (Number.isFinite(length) && length > req.maxBytes) {
          await discardBody(res);
          throw new AttestorError('TOO_LARGE', `${req.what}: Content-Length ${length} exceeds the ${req.maxBytes}-byte limit`);
        }
      }
      const body =
        req.method === 'HEAD'
          ? (await discardBody(res), Buffer.alloc(0))
          : ok
            ? await readBody(res, req.maxBytes, false, req.what)
            : await readBody(res, ERROR_BODY_BYTES, true, req.what);
      return { kind: 'response', response: { status: res.status, headers: res.headers, body, url } };
    } catch (err) {
      if (err instanceof AttestorError) throw err;
      if (signal.aborted) throw abortError(signal);
      if (timeout.signal.aborted) throw timedOut(req, url, opts);
      return { kind: 'retryable', message: `${req.what}: reading the body from ${url.origin}: ${networkDetail(err)}` };
    }
  } finally {
    clearTimeout(timer);
  }
}

function timedOut(req: HttpRequest, url: URL, opts: HttpOptions): AttestorError {
  return new AttestorError('REGISTRY_UNAVAILABLE', `${req.what}: ${req.method} ${url.origin} timed out after ${opts.timeoutMs} ms`);
}

// One hop with retries: a response (any status but 429/5xx), or
// REGISTRY_UNAVAILABLE once the retries are spent.
async function withRetries(req: HttpRequest, url: URL, headers: Record<string, string>, opts: HttpOptions, signal: AbortSignal): Promise<HttpResponse> {
  const backoff = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
  const cap = opts.retryAfterCapMs ?? DEFAULT_RETRY_AFTER_CAP_MS;
  const attempts = 1 + Math.max(0, Math.floor(opts.retries));
  let last = `${req.what}: no attempt made`;
  for (let i = 0; i < attempts; i++) {
    const result = await attempt(req, url, headers, opts, signal);
    if (result.kind === 'response') return result.response;
    last = result.message;
    if (i + 1 < attempts) await sleep(Math.min(result.waitMs ?? backoff * 2 ** i, cap), signal);
  }
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  return Promise.reject(new AttestorError('REGISTRY_UNAVAILABLE', `${last} (after ${tries})`));
}

// Where a redirect may lead: http(s) only, no downgrade from https.
function redirectTarget(from: URL, location: string | null, what: string): URL {
  if (location === null) throw new AttestorError('REGISTRY_RESPONSE', `${what}: redirect from ${from.origin} without a Location`);
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new AttestorError('REGISTRY_RESPONSE', `${what}: redirect to an invalid URL`);
  }
  if (to.protocol !== 'https:' && to.protocol !== 'http:') {
    throw new AttestorError('REGISTRY_RESPONSE', `${what}: refusing redirect to a ${to.protocol} URL`);
  }
  if (from.protocol === 'https:' && to.protocol === 'http:') {
    throw new AttestorError('REGISTRY_RESPONSE', `${what}: refusing redirect from https to http (${to.origin})`);
  }
  return to;
}

export async function httpRequest(req: HttpRequest, opts: HttpOptions, signal: AbortSignal): Promise<HttpResponse> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...req.headers };
  const maxRedirects = req.method === 'POST' ? 0 : (req.maxRedirects ?? 0);
  let url = req.url;
  for (let hop = 0; ; hop++) {
    const res = await withRetries(req, url, headers, opts, signal);
    if (!isRedirect(res.status) || maxRedirects === 0) return res;
    if (hop >= maxRedirects) {
      throw new AttestorError('REGISTRY_RESPONSE', `${req.what}: more than ${maxRedirects} redirects`);
    }
    const next = redirectTarget(url, res.headers.get('location'), req.what);
    if (next.origin !== url.origin) delete headers['authorization'];
    url = next;
  }
}
