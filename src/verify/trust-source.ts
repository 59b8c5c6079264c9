// Where the trust in use comes from, over the plugin's lifetime: the
// configured trusted_root_file, else (with tuf { }) the last refreshed root
// from the TUF cache when it verifies against the cached signed metadata,
// else the embedded public-good root; then, with tuf { }, a background
// refresh that replaces it. A refresh is never required and never fails an
// attestation: a failure only logs.

import { messageOf } from '../errors.js';
import { isSignatureError } from './errors.js';
import { createTrust, loadTrust } from './trust.js';
import { fetchTrustedRoot, prepareTufCache, readCachedTrustedRoot } from './tuf.js';

import type { Logger } from '../log.js';
import type { TrustContext } from './trust.js';
import type { TufSettings } from './tuf.js';
import type { KeyRule } from './types.js';

export interface TrustSourceConfig {
  readonly trustedRootFile: string | undefined;
  readonly keys: readonly KeyRule[];
  readonly tuf: TufSettings | undefined;
}

export class TrustSource {
  readonly #config: TrustSourceConfig;
  readonly #log: Logger;
  #trust: Promise<TrustContext>;
  #loaded: TrustContext | undefined;
  #generation = 0;
  readonly #generations = new WeakMap<TrustContext, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(config: TrustSourceConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#trust = this.#initial();
    this.#trust.then(
      (trust) => {
        this.#loaded = trust;
        this.#generations.set(trust, this.#generation);
        const tuf = config.tuf;
        if (tuf) {
          // In the background: attestations go on with the root we have.
          void this.refresh();
          this.#timer = setInterval(() => void this.refresh(), tuf.intervalMs);
          this.#timer.unref();
        }
      },
      () => undefined,
    );
  }

  // Resolves when the trusted root and keys are loaded; rejects with the
  // SignatureError (TRUST_ROOT_INVALID, KEY_INVALID) that says why not.
  async ready(): Promise<void> {
    await this.#trust;
  }

  current(): Promise<TrustContext> {
    return this.#trust;
  }

  // The generation a trust context belongs to. It changes whenever a
  // refresh replaces the trust: verdicts reached under an older generation
  // are not reused.
  generationOf(trust: TrustContext): number {
    return this.#generations.get(trust) ?? -1;
  }

  // The trust in use, once loaded.
  get loaded(): TrustContext | undefined {
    return this.#loaded;
  }

  // Where the trusted root in use came from.
  get source(): string | undefined {
    return this.#loaded?.rootSource;
  }

  // One TUF refresh; true when a new trusted root is now in use. Never
  // throws: a failure keeps the current root.
  async refresh(): Promise<boolean> {
    const tuf = this.#config.tuf;
    if (!tuf) return false;
    const fetched = await fetchTrustedRoot(tuf);
    if ('error' in fetched) {
      this.#log.warn('TUF refresh of the trusted root failed; keeping the current one', { mirror: tuf.mirrorUrl, error: fetched.error });
      return false;
    }
    try {
      const current = await this.#trust;
      const next = createTrust(fetched.root, `TUF ${tuf.mirrorUrl}`, [...current.keys.values()]);
      this.#trust = Promise.resolve(next);
      this.#loaded = next;
      this.#generation++;
      this.#generations.set(next, this.#generation);
      this.#log.info('trusted root refreshed through TUF', { mirror: tuf.mirrorUrl });
      return true;
    } catch (err) {
      this.#log.warn('TUF delivered an unusable trusted root; keeping the current one', { error: messageOf(err) });
      return false;
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  // The cached TUF root is used only when it verifies against the cached,
  // signed TUF metadata, in a cache directory nobody else can write.
  async #initial(): Promise<TrustContext> {
    const { tuf, keys, trustedRootFile } = this.#config;
    if (tuf) {
      prepareTufCache(tuf);
      const cached = await readCachedTrustedRoot(tuf);
      if (cached.kind === 'verified') {
        if (cached.expired.length > 0) {
          this.#log.warn('cached TUF metadata has expired; using its trusted root until a refresh succeeds', {
            path: cached.path,
            expired: cached.expired.join(','),
          });
        }
        try {
          return await loadTrust({ root: { json: cached.root, source: cached.path }, trustedRootFile: undefined, keys });
        } catch (err) {
          if (isSignatureError(err) && err.code === 'KEY_INVALID') throw err;
          this.#log.warn('cached TUF trusted root unusable; starting from the embedded root', { error: messageOf(err) });
        }
      } else if (cached.kind === 'invalid') {
        this.#log.warn('cached TUF trusted root does not verify; starting from the embedded root', { error: cached.error });
      }
    }
    return loadTrust({ trustedRootFile, keys });
  }
}
