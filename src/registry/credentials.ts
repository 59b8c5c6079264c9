// Where registry credentials come from, first match wins:
//
// 1. plugin config for the registry: `username` + `password_file` (Basic),
//    else `token_file` (a bearer token sent as is). Files are read on each
//    lookup, so rotated secrets are picked up; they are never logged.
// 2. the Docker config file ($DOCKER_CONFIG/config.json, ~/.docker/config.json
//    or a configured path), the way the docker CLI reads it:
//    a. `credHelpers[host]` -> `docker-credential-<name> get`;
//    b. `auths[host]`: `identitytoken` (an OAuth2 refresh token), else
//       `auth` (base64 "user:pass") or `username`/`password`, else
//       `registrytoken` (a bearer token);
//    c. `credsStore` -> `docker-credential-<name> get`.
//    Keys match by host: "https://ghcr.io", "ghcr.io/v2/" and "ghcr.io" are
//    the same; Docker Hub is "https://index.docker.io/v1/" (and its aliases).
//
// Credential helpers get the server URL on stdin and answer
// {"ServerURL","Username","Secret"} on stdout; Username "<token>" marks an
// identity token. A run is bounded (5 s); a non-zero exit (e.g. "credentials
// not found") or a missing helper means no credentials. Answers are cached
// for the store's lifetime.

import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { AttestorError } from '../errors.js';
import { findTrustedExecutable, readFailure, readTrustedFile } from '../util/trusted-path.js';
import { abortError, throwIfAborted } from '../util/abort.js';
import { DEFAULT_HELPER_TIMEOUT_MS } from './options.js';
import { isDockerHub } from './reference.js';

import type { RegistrySettings } from './options.js';

export type Credential =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string; readonly source: string }
  // OAuth2 refresh token, exchanged at the token service (POST, grant_type=refresh_token).
  | { readonly kind: 'identityToken'; readonly token: string; readonly source: string }
  // A registry token, sent as `Authorization: Bearer <token>`.
  | { readonly kind: 'bearer'; readonly token: string; readonly source: string };

export interface CredentialStoreOptions {
  readonly registries?: Readonly<Record<string, RegistrySettings>>;
  readonly dockerConfigPath?: string;
  readonly helperTimeoutMs?: number;
  // Environment for DOCKER_CONFIG/HOME lookups and helper processes (PATH).
  readonly env?: NodeJS.ProcessEnv;
}

const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const SECRET_FILE_MAX_BYTES = 64 * 1024;
const DOCKER_CONFIG_MAX_BYTES = 1024 * 1024;
// Where helpers are looked up when the environment has no PATH.
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const HELPER_OUTPUT_MAX_BYTES = 64 * 1024;
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function authError(message: string, cause?: unknown): AttestorError {
  return new AttestorError('REGISTRY_AUTH', message, cause !== undefined ? { cause } : undefined);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

// A secret from a file: trailing line breaks dropped, must not be empty.
async function readSecretFile(path: string, what: string): Promise<string> {
  const read = readTrustedFile(path, SECRET_FILE_MAX_BYTES);
  if (!read.ok) throw authError(`${what} ${path}: ${readFailure(read)}`);
  const text = read.bytes.toString('utf8');
  const secret = text.replace(/[\r\n]+$/, '');
  if (secret === '') throw authError(`${what} ${path} is empty`);
  return secret;
}

// "https://Host:5000/v2/" -> "host:5000"; Docker Hub aliases -> "docker.io".
export function normalizeServerKey(key: string): string {
  let host = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = host.indexOf('/');
  if (slash !== -1) host = host.slice(0, slash);
  host = host.toLowerCase();
  return isDockerHub(host) ? 'docker.io' : host;
}

// The value under the key matching `registry`; exact keys win over equivalent ones.
function lookupByHost<T>(table: Record<string, unknown>, registry: string, accept: (v: unknown) => T | undefined): T | undefined {
  const exact = isDockerHub(registry) ? [DOCKER_HUB_SERVER, registry] : [registry];
  for (const key of exact) {
    const hit = Object.hasOwn(table, key) ? accept(table[key]) : undefined;
    if (hit !== undefined) return hit;
  }
  const wanted = normalizeServerKey(registry);
  for (const [key, value] of Object.entries(table)) {
    if (normalizeServerKey(key) !== wanted) continue;
    const hit = accept(value);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

// The server URL a credential helper is asked about (what `docker login` stored).
export function helperServerUrl(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_SERVER : registry;
}

export function credentialFromAuthEntry(entry: unknown, source: string): Credential | undefined {
  if (!isRecord(entry)) return undefined;
  const identity = nonEmptyString(entry['identitytoken']);
  if (identity !== undefined) return { kind: 'identityToken', token: identity, source };
  const auth = nonEmptyString(entry['auth']);
  if (auth !== undefined) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw authError(`${source}: "auth" is not base64 of user:password`);
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
  }
  const username = nonEmptyString(entry['username']);
  const password = nonEmptyString(entry['password']);
  if (username !== undefined && password !== undefined) return { kind: 'basic', username, password, source };
  const registryToken = nonEmptyString(entry['registrytoken']);
  if (registryToken !== undefined) return { kind: 'bearer', token: registryToken, source };
  return undefined;
}

// Parses a helper's stdout.
export function credentialFromHelperOutput(stdout: string, source: string): Credential | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (err) {
    throw authError(`${source}: output is not JSON`, err);
  }
  if (!isRecord(parsed)) throw authError(`${source}: output is not a JSON object`);
  const username = typeof parsed['Username'] === 'string' ? parsed['Username'] : '';
  const secret = nonEmptyString(parsed['Secret']);
  if (secret === undefined) return undefined;
  if (username === '<token>') return { kind: 'identityToken', token: secret, source };
  if (username === '') throw authError(`${source}: answer has a secret but no user name`);
  return { kind: 'basic', username, password: secret, source };
}

interface HelperRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runHelper(command: string, input: string, env: NodeJS.ProcessEnv, timeoutMs: number, signal: AbortSignal): Promise<HelperRun | 'missing'> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const child = spawn(command, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      kill();
      finish(() => reject(authError(`credential helper ${command} did not answer within ${timeoutMs} ms`)));
    }, timeoutMs);
    const onAbort = (): void => {
      kill();
      finish(() => reject(abortError(signal)));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const collect = (which: 'out' | 'err') => (chunk: string) => {
      if (which === 'out') stdout += chunk;
      else stderr += chunk;
      if (stdout.length + stderr.length > HELPER_OUTPUT_MAX_BYTES) {
        kill();
        finish(() => reject(authError(`credential helper ${command} wrote more than ${HELPER_OUTPUT_MAX_BYTES} bytes`)));
      }
    };
    child.stdout.setEncoding('utf8').on('data', collect('out'));
    child.stderr.setEncoding('utf8').on('data', collect('err'));
    child.on('error', (err) => {
      if (errnoCode(err) === 'ENOENT') finish(() => resolve('missing'));
      else finish(() => reject(authError(`credential helper ${command}: ${err.message}`, err)));
    });
    child.on('close', (code) => finish(() => resolve({ code, stdout, stderr })));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

export class CredentialStore {
  readonly #registries: Readonly<Record<string, RegistrySettings>>;
  readonly #dockerConfigPath: string;
  readonly #helperTimeoutMs: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #helperAnswers = new Map<string, Promise<Credential | undefined>>();

  constructor(options: CredentialStoreOptions = {}) {
    this.#registries = options.registries ?? {};
    this.#env = options.env ?? process.env;
    this.#helperTimeoutMs = options.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
    this.#dockerConfigPath = options.dockerConfigPath ?? defaultDockerConfigPath(this.#env);
  }

  get dockerConfigPath(): string {
    return this.#dockerConfigPath;
  }

  // Credentials for `registry` (host[:port] as in references), or undefined.
  async lookup(registry: string, signal: AbortSignal): Promise<Credential | undefined> {
    const fromPlugin = await this.#fromPluginConfig(registry);
    if (fromPlugin !== undefined) return fromPlugin;
    return this.#fromDockerConfig(registry, signal);
  }

  async #fromPluginConfig(registry: string): Promise<Credential | undefined> {
    const settings = Object.hasOwn(this.#registries, registry) ? this.#registries[registry] : undefined;
    if (settings === undefined) return undefined;
    const source = `plugin config for ${registry}`;
    if (settings.username !== undefined) {
      if (settings.passwordFile === undefined) throw authError(`${source}: username without password_file`);
      const password = await readSecretFile(settings.passwordFile, 'password_file');
      return { kind: 'basic', username: settings.username, password, source };
    }
    if (settings.passwordFile !== undefined) throw authError(`${source}: password_file without username`);
    if (settings.tokenFile !== undefined) {
      return { kind: 'bearer', token: await readSecretFile(settings.tokenFile, 'token_file'), source };
    }
    return undefined;
  }

  async #readDockerConfig(): Promise<Record<string, unknown> | undefined> {
    const path = this.#dockerConfigPath;
    // It names the credential helper programs we run as root.
    const read = readTrustedFile(path, DOCKER_CONFIG_MAX_BYTES);
    if (!read.ok) {
      if (read.problem === 'missing') return undefined;
      throw authError(`docker config ${path}: ${readFailure(read)}`);
    }
    const bytes = read.bytes;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw authError(`docker config ${path} is not valid JSON`, err);
    }
    if (!isRecord(parsed)) throw authError(`docker config ${path} is not a JSON object`);
    return parsed;
  }

  async #fromDockerConfig(registry: string, signal: AbortSignal): Promise<Credential | undefined> {
    const config = await this.#readDockerConfig();
    if (config === undefined) return undefined;
    const path = this.#dockerConfigPath;

    const helpers = config['credHelpers'];
    if (isRecord(helpers)) {
      const helper = lookupByHost(helpers, registry, nonEmptyString);
      if (helper !== undefined) return this.#fromHelper(helper, registry, signal);
    }
    const auths = config['auths'];
    if (isRecord(auths)) {
      const found = lookupByHost(auths, registry, (entry) => credentialFromAuthEntry(entry, `${path} auths[${registry}]`));
      if (found !== undefined) return found;
    }
    const store = nonEmptyString(config['credsStore']);
    if (store !== undefined) return this.#fromHelper(store, registry, signal);
    return undefined;
  }

  #fromHelper(name: string, registry: string, signal: AbortSignal): Promise<Credential | undefined> {
    if (!HELPER_NAME_RE.test(name)) {
      return Promise.reject(authError(`docker config names an invalid credential helper ${JSON.stringify(name)}`));
    }
    const serverUrl = helperServerUrl(registry);
    const key = `${name}\u0000${serverUrl}`;
    const cached = this.#helperAnswers.get(key);
    if (cached !== undefined) return cached;
    const answer = this.#askHelper(name, serverUrl, signal);
    this.#helperAnswers.set(key, answer);
    // Failures (timeouts, garbage, aborts) are not remembered.
    answer.catch(() => this.#helperAnswers.delete(key));
    return answer;
  }

  async #askHelper(name: string, serverUrl: string, signal: AbortSignal): Promise<Credential | undefined> {
    const command = `docker-credential-${name}`;
    const lookup = findTrustedExecutable(command, this.#env['PATH'] ?? DEFAULT_PATH);
    if ('untrusted' in lookup) throw authError(`refusing credential helper ${command}: ${lookup.untrusted}`);
    if ('missing' in lookup) return undefined;
    const result = await runHelper(lookup.found, serverUrl, this.#env, this.#helperTimeoutMs, signal);
    // Not installed, or "credentials not found" / any failure exit: none.
    if (result === 'missing' || result.code !== 0) return undefined;
    return credentialFromHelperOutput(result.stdout, `${command} (${serverUrl})`);
  }
}

export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['DOCKER_CONFIG'];
  if (dir !== undefined && dir !== '') return join(dir, 'config.json');
  const home = env['HOME'];
  return join(home !== undefined && home !== '' ? home : homedir(), '.docker', 'config.json');
}
