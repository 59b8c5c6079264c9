// Verdicts persisted across restarts, so that an agent restart (or a
// fleet-wide rollout) is not a registry stampede: registry bindings and
// signature / attestation reports, one file each, in a directory the plugin
// owns (created 0700; refused, like every directory we read from, when
// anyone but root could write to it).
//
// A file is used only when it is exactly what this plugin wrote for this
// configuration: its HMAC-SHA256 (keyed by a random key kept 0600 in the
// same directory) must verify, and it must name this schema, this plugin
// version and this configuration's fingerprint. Anything else - edited,
// truncated, from another configuration or version - is ignored (and
// removed), never trusted; the verdict is then reached afresh. Staleness
// rules are the caches': a persisted signature verdict older than the
// staleness bound is not used.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { messageOf } from '../errors.js';
import { checkTrustedPath, readTrustedFile } from '../util/trusted-path.js';

import type { Logger } from '../log.js';
import type { Known } from '../util/refreshing-cache.js';

const SCHEMA = 1;
const KEY_FILE = 'hmac.key';
const MAX_FILE_BYTES = 1024 * 1024;
// At most this many verdict files are read at start-up.
const MAX_FILES = 8192;

export type VerdictKind = 'binding' | 'signatures';

export interface StoredVerdict {
  readonly kind: VerdictKind;
  readonly key: string;
  readonly known: Known<unknown>;
}

interface FileBody {
  readonly schema: number;
  readonly version: string;
  readonly config: string;
  readonly kind: VerdictKind;
  readonly key: string;
  readonly stamp: string;
  readonly verifiedAt: number;
  readonly value: unknown;
}

export class VerdictStore {
  readonly #dir: string;
  readonly #config: string;
  readonly #version: string;
  readonly #log: Logger;
  #key: Buffer | undefined;

  // `config`: a fingerprint of the configuration in force; `version`: the
  // plugin's (a newer plugin may read reports differently).
  constructor(dir: string, config: string, version: string, log: Logger) {
    this.#dir = dir;
    this.#config = config;
    this.#version = version;
    this.#log = log;
  }

  // Creates the directory and key when missing; throws when the directory
  // cannot be used safely (Configure fails: a misconfigured cache directory
  // is an operator's mistake, not something to silently work around).
  open(): void {
    try {
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(`verdict_cache_dir ${this.#dir}: cannot create: ${messageOf(err)}`, { cause: err });
    }
    const dir = checkTrustedPath(this.#dir, { kind: 'directory' });
    if (!dir.ok) throw new Error(`refusing verdict_cache_dir ${this.#dir}: ${dir.reason}`);
    const keyPath = join(this.#dir, KEY_FILE);
    const read = readTrustedFile(keyPath, 64);
    if (read.ok && read.bytes.length === 32) {
      this.#key = read.bytes;
      return;
    }
    if (read.ok || read.problem !== 'missing')
      this.#log.warn('verdict cache key unusable; starting a new one (persisted verdicts are dropped)', { path: keyPath });
    this.#key = randomBytes(32);
    this.#writeAtomically(keyPath, this.#key);
    for (const name of this.#verdictFiles()) rmSync(join(this.#dir, name), { force: true });
  }

  // Every persisted verdict that verifies for this configuration; the
  // others are removed.
  load(): StoredVerdict[] {
    const key = this.#key;
    if (key === undefined) return [];
    const out: StoredVerdict[] = [];
    let ignored = 0;
    for (const name of this.#verdictFiles().slice(0, MAX_FILES)) {
      const path = join(this.#dir, name);
      const body = this.#verified(path, key);
      if (body === undefined) {
        ignored++;
        rmSync(path, { force: true });
        continue;
      }
      out.push({ kind: body.kind, key: body.key, known: { value: body.value, stamp: body.stamp, verifiedAt: body.verifiedAt } });
    }
    if (ignored > 0) this.#log.info('persisted verdicts ignored (another configuration or version, or not as written)', { count: ignored, dir: this.#dir });
    return out;
  }

  save(kind: VerdictKind, cacheKey: string, known: Known<unknown>): void {
    const key = this.#key;
    if (key === undefined) return;
    const body: FileBody = {
      schema: SCHEMA,
      version: this.#version,
      config: this.#config,
      kind,
      key: cacheKey,
      stamp: known.stamp,
      verifiedAt: known.verifiedAt,
      value: known.value,
    };
    const text = JSON.stringify(body);
    const mac = createHmac('sha256', key).update(text).digest('hex');
    try {
      this.#writeAtomically(join(this.#dir, this.#fileName(kind, cacheKey)), Buffer.from(`${mac}\n${text}`));
    } catch (err) {
      // The verdict stays in memory; only a restart loses it.
      this.#log.warn('could not persist a verdict', { dir: this.#dir, error: messageOf(err) });
    }
  }

  #fileName(kind: VerdictKind, cacheKey: string): string {
    return `${createHash('sha256').update(`${this.#config}\n${kind}\n${cacheKey}`).digest('hex')}.verdict`;
  }

  #verdictFiles(): string[] {
    try {
      return readdirSync(this.#dir).filter((n) => n.endsWith('.verdict'));
    } catch {
      return [];
    }
  }

  // The file's body when its MAC verifies and it is this configuration's.
  #verified(path: string, key: Buffer): FileBody | undefined {
    const read = readTrustedFile(path, MAX_FILE_BYTES);
    if (!read.ok) return undefined;
    const text = read.bytes.toString('utf8');
    const newline = text.indexOf('\n');
    if (newline !== 64) return undefined;
    const mac = Buffer.from(text.slice(0, 64), 'hex');
    const expected = createHmac('sha256', key).update(text.slice(65)).digest();
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(text.slice(65));
    } catch {
      return undefined;
    }
    if (!isBody(body) || body.schema !== SCHEMA || body.version !== this.#version || body.config !== this.#config) return undefined;
    if (path !== join(this.#dir, this.#fileName(body.kind, body.key))) return undefined;
    return body;
  }

  #writeAtomically(path: string, bytes: Buffer): void {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o600, flag: 'w' });
    renameSync(tmp, path);
  }
}

function isBody(value: unknown): value is FileBody {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['schema'] === 'number' &&
    typeof v['version'] === 'string' &&
    typeof v['config'] === 'string' &&
    (v['kind'] === 'binding' || v['kind'] === 'signatures') &&
    typeof v['key'] === 'string' &&
    typeof v['stamp'] === 'string' &&
    typeof v['verifiedAt'] === 'number' &&
    'value' in v
  );
}
