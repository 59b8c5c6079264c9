// Test registries and peers, all on 127.0.0.1, all bounded in time:
//
// - startRegistry: a real Debian `docker-registry` (distribution 2.8) with its
//   own storage, config and log in a temp dir; no auth, htpasswd (bcrypt via
//   bcryptjs) or token auth.
// - startTokenIssuer: a small token service for distribution's `auth.token`:
//   checks Basic credentials (or an OAuth2 refresh token), grants the
//   configured actions on the requested repository scopes, and signs ES256
//   JWTs with a P-256 key whose self-signed certificate (made with the
//   openssl CLI) is the registry's rootcertbundle. The JWT header carries a
//   `kid` in libtrust fingerprint form, which is how distribution 2.x finds
//   the signing key among the rootcertbundle's keys.
// - startTestServer: a bare node:http server for fault cases (wrong bytes,
//   stalls, 5xx, redirects).
// - putBlob / putManifest / copyImage: test-only pushes (the product client
//   is read-only).
// - writeCredentialHelper: a real `docker-credential-<name>` shell script.

import { execFileSync, spawn } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import bcrypt from 'bcryptjs';

import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { RegistryClient } from '../../src/registry/client.js';
import type { Digest, ImageReference } from '../../src/registry/types.js';

const REGISTRY_BINARY = '/usr/bin/docker-registry';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const PUSH_TIMEOUT_MS = 20_000;

export function registryBinaryAvailable(): boolean {
  return existsSync(REGISTRY_BINARY);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

// ------------------------------------------------------------ docker-registry

export type RegistryAuthConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'htpasswd'; readonly users: Readonly<Record<string, string>>; readonly realm?: string }
  | { readonly kind: 'token'; readonly issuer: TokenIssuer };

export interface StartedRegistry {
  /** host:port, as in image references. */
  readonly host: string;
  readonly port: number;
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly dir: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

function htpasswdFile(users: Readonly<Record<string, string>>): string {
  // Cost 4: the lowest bcrypt allows, plenty for a test.
  return Object.entries(users)
    .map(([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}\n`)
    .join('');
}

function registryConfig(dir: string, port: number, auth: RegistryAuthConfig): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (auth.kind === 'htpasswd') {
    const path = join(dir, 'htpasswd');
    writeFileSync(path, htpasswdFile(auth.users));
    lines.push('auth:', '  htpasswd:', `    realm: ${auth.realm ?? 'ssa-test'}`, `    path: ${path}`);
  } else if (auth.kind === 'token') {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${auth.issuer.realm}`,
      `    service: ${auth.issuer.service}`,
      `    issuer: ${auth.issuer.issuer}`,
      `    rootcertbundle: ${auth.issuer.certFile}`,
    );
  }
  return lines.join('\n') + '\n';
}

async function answersV2(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

function lastLines(path: string, n: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = delay(STOP_TIMEOUT_MS).then(() => 'timeout' as const);
  if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
    child.kill('SIGKILL');
    await Promise.race([exited, delay(STOP_TIMEOUT_MS)]);
  }
}

async function startRegistryOnce(auth: RegistryAuthConfig, name: string): Promise<StartedRegistry> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `ssa-reg-${name}-`));
  mkdirSync(join(dir, 'data'));
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, registryConfig(dir, port, auth));
  const logFile = join(dir, 'registry.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn(REGISTRY_BINARY, ['serve', configFile], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await answersV2(url)) return { host: `127.0.0.1:${port}`, port, url, dir, logFile, stop };
    await delay(100);
  }
  const log = lastLines(logFile, 15);
  await stop();
  throw new Error(`docker-registry (${name}) did not come up on ${url} within ${START_TIMEOUT_MS} ms:\n${log}`);
}

/** Starts a docker-registry; retries once on a lost port race. */
export async function startRegistry(auth: RegistryAuthConfig = { kind: 'none' }, name: string = auth.kind): Promise<StartedRegistry> {
  try {
    return await startRegistryOnce(auth, name);
  } catch (first) {
    try {
      return await startRegistryOnce(auth, name);
    } catch {
      throw first;
    }
  }
}

// ---------------------------------------------------------------- token issuer

// A throw-away P-256 key and self-signed certificate (2 days) made by openssl.
export function selfSignedCert(keyFile: string, certFile: string, subject: string, ...extensions: string[]): void {
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2'];
  execFileSync('openssl', [...args, '-subj', subject, ...extensions.flatMap((e) => ['-addext', e])], { stdio: 'ignore', timeout: 10_000 });
}

export interface IssuerUser {
  readonly password: string;
  /** Actions granted on every repository, e.g. ['pull', 'push']. */
  readonly actions: readonly string[];
}

export interface TokenIssuerOptions {
  readonly users: Readonly<Record<string, IssuerUser>>;
  /** Refresh token -> user name (for identity-token logins). */
  readonly refreshTokens?: Readonly<Record<string, string>>;
  /** Actions for anonymous requests; default none. */
  readonly anonymousActions?: readonly string[];
  readonly expiresIn?: number;
  readonly service?: string;
  readonly issuer?: string;
}

export interface IssuedRequest {
  readonly method: string;
  /** User name, 'anonymous', or 'denied'. */
  readonly subject: string;
  readonly scopes: readonly string[];
}

export interface TokenIssuer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certFile: string;
  readonly requests: IssuedRequest[];
  /** A token for `subject` with exactly these grants (for test pushes). */
  mint(subject: string, access: readonly Access[]): string;
  stop(): Promise<void>;
}

export interface Access {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** libtrust key ID: base32 of the first 240 bits of SHA-256(SPKI DER), in groups of 4 joined by ':'. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const bytes = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return (out.match(/.{4}/g) ?? []).join(':');
}

function parseScopes(values: readonly string[]): Access[] {
  const out: Access[] = [];
  for (const value of values) {
    for (const scope of value.split(' ')) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first <= 0 || last <= first) continue;
      out.push({ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') });
    }
  }
  return out;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > limit) {
        reject(new Error('body too large'));
        req.destroy();
      }
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const dir = mkdtempSync(join(tmpdir(), 'ssa-issuer-'));
  const keyFile = join(dir, 'issuer.key');
  const certFile = join(dir, 'issuer.crt');
  selfSignedCert(keyFile, certFile, '/CN=ssa-test-token-issuer');

  const privateKey = createPrivateKey(readFileSync(keyFile));
  const kid = libtrustKeyId(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const service = options.service ?? 'ssa-test-registry';
  const issuer = options.issuer ?? 'ssa-test-issuer';
  const expiresIn = options.expiresIn ?? 300;
  const requests: IssuedRequest[] = [];

  const mint = (subject: string, access: readonly Access[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid }));
    const claims = base64url(
      JSON.stringify({ iss: issuer, sub: subject, aud: service, exp: now + expiresIn, nbf: now - 5, iat: now, jti: randomUUID(), access }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${header}.${claims}.${base64url(signature)}`;
  };

  const grant = (subject: string, actions: readonly string[], scopes: readonly string[]): Access[] =>
    parseScopes(scopes)
      .filter((a) => a.type === 'repository')
      .map((a) => ({ type: a.type, name: a.name, actions: a.actions.filter((x) => actions.includes(x)) }))
      .filter((a) => a.actions.length > 0 || subject === 'anonymous');

  const answer = (res: ServerResponse, subject: string, actions: readonly string[], scopes: readonly string[], method: string): void => {
    requests.push({ method, subject, scopes });
    const token = mint(subject, grant(subject, actions, scopes));
    res.writeHead(200, { 'content-type': 'application/json' });
    // Both names, as Docker's token services do.
    res.end(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  };

  const deny = (res: ServerResponse, method: string, scopes: readonly string[]): void => {
    requests.push({ method, subject: 'denied', scopes });
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="ssa-test-issuer"' });
    res.end('{"details":"invalid credentials"}');
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    if (req.method === 'GET') {
      const scopes = url.searchParams.getAll('scope');
      const auth = req.headers.authorization;
      if (auth === undefined) {
        answer(res, 'anonymous', options.anonymousActions ?? [], scopes, 'GET');
        return;
      }
      const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      const user = colon > 0 ? options.users[decoded.slice(0, colon)] : undefined;
      if (user === undefined || user.password !== decoded.slice(colon + 1)) {
        deny(res, 'GET', scopes);
        return;
      }
      answer(res, decoded.slice(0, colon), user.actions, scopes, 'GET');
      return;
    }
    if (req.method === 'POST') {
      readBody(req, 64 * 1024).then(
        (body) => {
          const form = new URLSearchParams(body);
          const scopes = form.getAll('scope');
          const name = form.get('grant_type') === 'refresh_token' ? options.refreshTokens?.[form.get('refresh_token') ?? ''] : undefined;
          const user = name !== undefined ? options.users[name] : undefined;
          if (name === undefined || user === undefined) {
            deny(res, 'POST', scopes);
            return;
          }
          answer(res, name, user.actions, scopes, 'POST');
        },
        () => res.writeHead(400).end(),
      );
      return;
    }
    res.writeHead(405).end();
  });
  const port = await listen(server);
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    mint,
    stop: async () => {
      await closeServer(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --------------------------------------------------------------- test server

export type TestHandler = (req: IncomingMessage, res: ServerResponse, seen: number) => void;

export interface TestServer {
  /** host:port, as in references. */
  readonly host: string;
  readonly url: string;
  /** Every request: method, path+query, headers. */
  readonly requests: { method: string; path: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

function listen(server: ReturnType<typeof createServer>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address !== null && typeof address === 'object') resolve(address.port);
      else reject(new Error('no port'));
    });
  });
}

function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A node:http server on 127.0.0.1; `handler` gets the 1-based request count. */
export async function startTestServer(handler: TestHandler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    handler(req, res, requests.length);
  });
  const port = await listen(server);
  return { host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, requests, close: () => closeServer(server) };
}

// ------------------------------------------------------------- test pushes

export interface PushTarget {
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly repository: string;
  /** Authorization header value, if the registry needs one. */
  readonly authorization?: string;
}

function sha256(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function pushHeaders(target: PushTarget, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, ...(target.authorization !== undefined ? { authorization: target.authorization } : {}) };
}

async function expectStatus(res: Response, want: number, what: string): Promise<void> {
  if (res.status !== want) {
    const text = await res.text().catch(() => '');
    throw new Error(`${what}: HTTP ${res.status} (want ${want}) ${text.slice(0, 300)}`);
  }
}

/** Monolithic blob upload (POST then PUT ?digest=). */
export async function putBlob(target: PushTarget, bytes: Buffer): Promise<Digest> {
  const digest = sha256(bytes);
  const start = await fetch(`${target.url}/v2/${target.repository}/blobs/uploads/`, {
    method: 'POST',
    headers: pushHeaders(target),
    signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
  });
  await expectStatus(start, 202, `start upload to ${target.repository}`);
  await start.body?.cancel();
  const location = new URL(start.headers.get('location') ?? '', target.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: pushHeaders(target, { 'content-type': 'application/octet-stream' }),
    body: bytes,
    signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
  });
  await expectStatus(put, 201, `upload ${digest}`);
  await put.body?.cancel();
  return digest;
}

export async function putManifest(target: PushTarget, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
  const res = await fetch(`${target.url}/v2/${target.repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: pushHeaders(target, { 'content-type': mediaType }),
    body: bytes,
    signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
  });
  await expectStatus(res, 201, `put manifest ${target.repository}:${reference}`);
  await res.body?.cancel();
  return sha256(bytes);
}

/** Deletes a manifest by digest (the registry needs storage.delete.enabled, as ours have). */
export async function deleteManifest(target: PushTarget, digest: Digest): Promise<void> {
  const res = await fetch(`${target.url}/v2/${target.repository}/manifests/${digest}`, {
    method: 'DELETE',
    headers: pushHeaders(target),
    signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
  });
  await res.body?.cancel();
  if (res.status !== 202 && res.status !== 404) throw new Error(`delete ${target.repository}@${digest}: HTTP ${res.status}`);
}

/** Copies an image (manifest or index, with all blobs) with the product client as reader. */
export async function copyImage(client: RegistryClient, from: ImageReference, to: PushTarget, tag: string, signal: AbortSignal): Promise<Digest> {
  const fetched = await client.getManifest(from, signal);
  if (fetched === undefined) throw new Error(`copyImage: ${from.original} not found`);
  const m = fetched.manifest;
  if (m.kind === 'manifest') {
    for (const d of [m.config, ...m.layers]) {
      const blob = await client.getBlob(from, d.digest, 256 * 1024 * 1024, signal);
      await putBlob(to, blob);
    }
  } else {
    for (const d of m.manifests) {
      const child: ImageReference = { registry: from.registry, repository: from.repository, digest: d.digest, original: `${from.original}@${d.digest}` };
      await copyImage(client, child, to, d.digest, signal);
    }
  }
  return putManifest(to, tag, fetched.bytes, fetched.mediaType);
}

// ------------------------------------------------------- credential helper

export type HelperAnswer = { readonly username: string; readonly secret: string } | { readonly raw: string } | { readonly sleepSeconds: number };

export interface CredentialHelper {
  /** Directory to put first on PATH. */
  readonly dir: string;
  readonly path: string;
  /** Each run appends the server URL it was asked about. */
  readonly logFile: string;
  calls(): string[];
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes `docker-credential-<name>` into `dir`: `get` reads the server URL on
 * stdin and answers from `answers`; unknown servers get "credentials not
 * found" and exit 1, like the real helpers.
 */
export function writeCredentialHelper(dir: string, name: string, answers: Readonly<Record<string, HelperAnswer>>): CredentialHelper {
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `docker-credential-${name}.log`);
  writeFileSync(logFile, '');
  const cases = Object.entries(answers).map(([server, a]) => {
    let body: string;
    if ('sleepSeconds' in a) body = `exec sleep ${a.sleepSeconds}`;
    else if ('raw' in a) body = `printf '%s\\n' ${shellQuote(a.raw)}`;
    else body = `printf '%s\\n' ${shellQuote(JSON.stringify({ ServerURL: server, Username: a.username, Secret: a.secret }))}`;
    return `  ${shellQuote(server)}) ${body} ;;`;
  });
  const script = [
    '#!/bin/sh',
    '# test credential helper written by test/support/registries.ts',
    '[ "$1" = get ] || { echo "unsupported: $1" >&2; exit 2; }',
    'IFS= read -r server || true',
    `printf '%s\\n' "$server" >> ${shellQuote(logFile)}`,
    'case "$server" in',
    ...cases,
    '  *) echo "credentials not found in native keychain"; exit 1 ;;',
    'esac',
    '',
  ].join('\n');
  const path = join(dir, `docker-credential-${name}`);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return {
    dir,
    path,
    logFile,
    calls: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
  };
}
