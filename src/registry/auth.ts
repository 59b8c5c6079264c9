// Authentication with one registry, driven by its challenges.
//
// Requests go out anonymously until the registry answers 401. The client
// then runs exactly one auth round from that response's WWW-Authenticate and
// retries once; a second 401 (or a 403) is REGISTRY_AUTH. The challenge is
// remembered, so later requests authenticate up front (a cached token, or a
// token fetched before the request) instead of paying another 401.
//
// - Basic: the registry's credentials on every request.
// - Bearer: a token from the challenge's realm for
//   `repository:<repo>:pull` (GET realm?service=&scope=, with Basic
//   credentials when there are any, anonymous otherwise; an identity token is
//   exchanged with POST grant_type=refresh_token). `token` or `access_token`
//   is accepted. Tokens are cached per scope until `expires_in` (default 60 s)
//   minus a margin. A configured bearer token is sent as is.
//
// Credentials never go over plain http unless the registry is configured
// insecure; when they do, the header says so (`plainHttp`) for a warning.

import { AttestorError } from '../errors.js';
import { parseWwwAuthenticate } from './challenge.js';
import { httpRequest } from './http.js';

import type { Dispatcher } from 'undici';

import type { Challenge } from './challenge.js';
import type { Credential } from './credentials.js';
import type { HttpOptions } from './http.js';

export interface AuthHeader {
  // The Authorization header value.
  readonly value: string;
  // True when it carries a secret over plain http (insecure registry).
  readonly plainHttp: boolean;
}

export interface RegistryAuthContext {
  // As in references (for messages and scope).
  readonly registry: string;
  // Registry origin, e.g. https://ghcr.io.
  readonly baseUrl: URL;
  readonly insecure: boolean;
  readonly dispatcher: Dispatcher;
  readonly http: HttpOptions;
  readonly credentials: (signal: AbortSignal) => Promise<Credential | undefined>;
  readonly now?: () => number;
}

type KnownScheme = { readonly scheme: 'basic' } | { readonly scheme: 'bearer'; readonly realm: URL; readonly service: string | undefined };

interface CachedToken {
  readonly token: string;
  readonly until: number;
}

const TOKEN_RESPONSE_MAX_BYTES = 64 * 1024;
const DEFAULT_TOKEN_LIFETIME_S = 60;
const TOKEN_MARGIN_S = 10;
const OAUTH_CLIENT_ID = 'spire-sigstore-attestor';

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

function authError(message: string): AttestorError {
  return new AttestorError('REGISTRY_AUTH', message);
}

function basicValue(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

// How long a token is used: expires_in (default 60 s) minus a margin of
// 10 s, or of half the lifetime for short-lived tokens.
export function tokenLifetimeMs(expiresIn: unknown): number {
  const seconds = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_LIFETIME_S;
  const margin = Math.min(TOKEN_MARGIN_S, seconds / 2);
  return Math.floor((seconds - margin) * 1000);
}

export function parseTokenResponse(body: Buffer, realm: string): { token: string; lifetimeMs: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AttestorError('REGISTRY_RESPONSE', `token service ${realm} answered with something that is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AttestorError('REGISTRY_RESPONSE', `token service ${realm} answered with a non-object`);
  }
  const record = parsed as Record<string, unknown>;
  const token = [record['token'], record['access_token']].find((t): t is string => typeof t === 'string' && t !== '');
  if (token === undefined) throw new AttestorError('REGISTRY_RESPONSE', `token service ${realm} answered without a token`);
  if (/[\s\u0000-\u001f]/.test(token)) throw new AttestorError('REGISTRY_RESPONSE', `token service ${realm} answered with a malformed token`);
  return { token, lifetimeMs: tokenLifetimeMs(record['expires_in']) };
}

// The challenge we can answer: Bearer with a realm first, else Basic.
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer' && (c.params['realm'] ?? '') !== '') ?? challenges.find((c) => c.scheme === 'basic');
}

export class RegistryAuth {
  readonly #ctx: RegistryAuthContext;
  readonly #now: () => number;
  #known: KnownScheme | undefined;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inflight = new Map<string, Promise<AuthHeader>>();
  // Token-service round trips made (for tests and diagnostics).
  tokenFetches = 0;

  constructor(ctx: RegistryAuthContext) {
    this.#ctx = ctx;
    this.#now = ctx.now ?? Date.now;
  }

  get knownScheme(): 'basic' | 'bearer' | undefined {
    return this.#known?.scheme;
  }

  // The header to send before any 401, when an earlier challenge told us how.
  async headerFor(repository: string, signal: AbortSignal): Promise<AuthHeader | undefined> {
    const known = this.#known;
    if (known === undefined) return undefined;
    if (known.scheme === 'basic') return this.#basic(await this.#ctx.credentials(signal));
    const cached = this.#cachedToken(pullScope(repository));
    if (cached !== undefined) return cached;
    return this.#bearer(known, repository, signal);
  }

  // One auth round after a 401 carrying `wwwAuthenticate`.
  async authenticate(wwwAuthenticate: string | null, repository: string, signal: AbortSignal): Promise<AuthHeader> {
    const challenge = pickChallenge(parseWwwAuthenticate(wwwAuthenticate ?? ''));
    if (challenge === undefined) {
      throw authError(`${this.#ctx.registry} answered 401 without a Basic or Bearer challenge (WWW-Authenticate: ${JSON.stringify(wwwAuthenticate ?? '')})`);
    }
    if (challenge.scheme === 'basic') {
      this.#known = { scheme: 'basic' };
      return this.#basic(await this.#ctx.credentials(signal));
    }
    const realmText = challenge.params['realm'] ?? '';
    let realm: URL;
    try {
      realm = new URL(realmText);
    } catch {
      throw new AttestorError('REGISTRY_RESPONSE', `${this.#ctx.registry}: Bearer challenge with an invalid realm ${JSON.stringify(realmText)}`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new AttestorError('REGISTRY_RESPONSE', `${this.#ctx.registry}: Bearer realm must be an http(s) URL, got ${realm.protocol}`);
    }
    const known: KnownScheme = { scheme: 'bearer', realm, service: challenge.params['service'] };
    this.#known = known;
    // The token we sent (if any) was refused: forget it.
    this.#tokens.delete(pullScope(repository));
    return this.#bearer(known, repository, signal);
  }

  #plainHttp(url: URL, what: string): boolean {
    if (url.protocol === 'https:') return false;
    if (!this.#ctx.insecure) {
      throw authError(`refusing to send ${what} for ${this.#ctx.registry} over plain http to ${url.origin} (the registry is not configured insecure)`);
    }
    return true;
  }

  #basic(credential: Credential | undefined): AuthHeader {
    const registry = this.#ctx.registry;
    if (credential === undefined) throw authError(`${registry} requires authentication (Basic) and no credentials are configured for it`);
    if (credential.kind !== 'basic') {
      throw authError(`${registry} requires Basic authentication; the credentials from ${credential.source} are a token`);
    }
    const plainHttp = this.#plainHttp(this.#ctx.baseUrl, 'credentials');
    return { value: basicValue(credential.username, credential.password), plainHttp };
  }

  #cachedToken(scope: string): AuthHeader | undefined {
    const hit = this.#tokens.get(scope);
    if (hit === undefined) return undefined;
    if (hit.until <= this.#now()) {
      this.#tokens.delete(scope);
      return undefined;
    }
    return { value: `Bearer ${hit.token}`, plainHttp: this.#ctx.baseUrl.protocol === 'http:' };
  }

  // A bearer header for the repository's pull scope; concurrent callers for
  // the same scope share one token fetch.
  #bearer(known: Extract<KnownScheme, { scheme: 'bearer' }>, repository: string, signal: AbortSignal): Promise<AuthHeader> {
    const scope = pullScope(repository);
    const running = this.#inflight.get(scope);
    if (running !== undefined) return running;
    const fetching = this.#fetchBearer(known, scope, signal).finally(() => this.#inflight.delete(scope));
    this.#inflight.set(scope, fetching);
    return fetching;
  }

  async #fetchBearer(known: Extract<KnownScheme, { scheme: 'bearer' }>, scope: string, signal: AbortSignal): Promise<AuthHeader> {
    const credential = await this.#ctx.credentials(signal);
    const registryPlain = this.#ctx.baseUrl.protocol === 'http:';
    if (credential?.kind === 'bearer') {
      return { value: `Bearer ${credential.token}`, plainHttp: this.#plainHttp(this.#ctx.baseUrl, 'a bearer token') };
    }
    const realmText = known.realm.origin + known.realm.pathname;
    const headers: Record<string, string> = { accept: 'application/json' };
    let sentSecret = false;
    let url: URL;
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (credential?.kind === 'identityToken') {
      sentSecret = this.#plainHttp(known.realm, 'an identity token');
      url = new URL(known.realm);
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.token, client_id: OAUTH_CLIENT_ID, scope });
      if (known.service !== undefined) form.set('service', known.service);
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      url = new URL(known.realm);
      if (known.service !== undefined) url.searchParams.set('service', known.service);
      url.searchParams.set('scope', scope);
      if (credential?.kind === 'basic') {
        sentSecret = this.#plainHttp(known.realm, 'credentials');
        headers['authorization'] = basicValue(credential.username, credential.password);
        url.searchParams.set('account', credential.username);
      }
    }
    this.tokenFetches++;
    const res = await httpRequest(
      {
        method,
        url,
        headers,
        ...(body !== undefined ? { body } : {}),
        maxBytes: TOKEN_RESPONSE_MAX_BYTES,
        dispatcher: this.#ctx.dispatcher,
        maxRedirects: 3,
        what: `token for ${this.#ctx.registry} (${scope})`,
        kind: 'token',
      },
      this.#ctx.http,
      signal,
    );
    if (res.status === 401 || res.status === 403) {
      const who = credential === undefined ? 'anonymous access' : `the credentials from ${credential.source}`;
      throw authError(`token service ${realmText} refused ${who} for ${this.#ctx.registry} (${res.status})`);
    }
    if (res.status !== 200) {
      throw new AttestorError('REGISTRY_RESPONSE', `token service ${realmText} answered ${res.status}`);
    }
    const { token, lifetimeMs } = parseTokenResponse(res.body, realmText);
    this.#tokens.set(scope, { token, until: this.#now() + lifetimeMs });
    return { value: `Bearer ${token}`, plainHttp: sentSecret || registryPlain };
  }
}

export interface PingResult {
  readonly status: number;
  // "registry/2.0" when the server says it speaks the distribution API.
  readonly apiVersion: string | undefined;
  readonly challenges: readonly Challenge[];
}

// GET /v2/: is this a registry, and how does it want to be authenticated?
export async function pingRegistry(baseUrl: URL, dispatcher: Dispatcher, http: HttpOptions, signal: AbortSignal): Promise<PingResult> {
  const res = await httpRequest(
    { method: 'GET', url: new URL('/v2/', baseUrl), maxBytes: 64 * 1024, dispatcher, what: `ping ${baseUrl.host}`, kind: 'ping' },
    http,
    signal,
  );
  return {
    status: res.status,
    apiVersion: res.headers.get('docker-distribution-api-version') ?? undefined,
    challenges: parseWwwAuthenticate(res.headers.get('www-authenticate') ?? ''),
  };
}
