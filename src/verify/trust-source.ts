// Where the trust in use comes from, over the plugin's lifetime: every
// configured trusted root (trust-roots.ts), loaded at start-up, then kept
// current through TUF in the background where the root has a TUF
// repository (the public-good root by default, unless offline).
//
// Start-up fails closed: a root that cannot be loaded is a configuration
// error. A root with a TUF repository starts from the last refreshed root in
// the TUF cache when it verifies against the cached signed metadata; else
// the public-good root starts from the embedded one, and a root with only
// its own TUF repository is fetched once, and fails start-up when it cannot
// be. A refresh never fails an attestation: a failure keeps the old root and
// only logs. Every refresh that replaces a root starts a new generation, so
// verdicts reached under the old roots are not reused.

import { messageOf } from '../errors.js';
import { SignatureError, isSignatureError } from './errors.js';
import { EMBEDDED_ROOT_SOURCE, createTrust, embeddedTrustedRoot, loadKeys, readTrustedRootFile } from './trust.js';
import { rootRequirements, weakens } from './trust-roots.js';
import { fetchTrustedRoot, prepareTufCache, readCachedTrustedRoot } from './tuf.js';

import type { Logger } from '../log.js';
import type { ConfiguredKey, TrustContext } from './trust.js';
import type { TrustRootSpec, TrustRoots } from './trust-roots.js';
import type { TufSettings } from './tuf.js';
import type { KeyRule } from './types.js';

export interface TrustSourceConfig {
  readonly trustRoots: readonly TrustRootSpec[];
  readonly keys: readonly KeyRule[];
}

export class TrustSource {
  readonly #config: TrustSourceConfig;
  readonly #log: Logger;
  #trust: Promise<TrustRoots>;
  #loaded: TrustRoots | undefined;
  #generation = 0;
  readonly #generations = new WeakMap<TrustRoots, number>();
  readonly #timers: NodeJS.Timeout[] = [];
  #closed = false;
  readonly #onRefresh: ((ok: boolean) => void) | undefined;

  // `onRefresh` hears the result of every background TUF refresh.
  constructor(config: TrustSourceConfig, log: Logger, onRefresh?: (ok: boolean) => void) {
    this.#config = config;
    this.#log = log;
    this.#onRefresh = onRefresh;
    const initial = this.#initial();
    this.#trust = initial.then((loaded) => loaded.trust);
    initial.then(
      ({ trust, fetched }) => {
        this.#loaded = trust;
        this.#generations.set(trust, this.#generation);
        if (this.#closed) return;
        for (const spec of config.trustRoots) {
          const tuf = spec.tuf;
          if (!tuf || !spec.refresh || spec.refreshFirst === true) continue;
          // In the background: attestations go on with the root we have.
          if (!fetched.has(spec.name)) void this.#refreshRoot(spec);
          const timer = setInterval(() => void this.#refreshRoot(spec), tuf.intervalMs);
          timer.unref();
          this.#timers.push(timer);
        }
      },
      () => undefined,
    );
  }

  // Resolves when every trusted root and key is loaded; rejects with the
  // SignatureError (TRUST_ROOT_INVALID, KEY_INVALID) that says why not.
  async ready(): Promise<void> {
    await this.#trust;
  }

  current(): Promise<TrustRoots> {
    return this.#trust;
  }

  // The generation the trust belongs to. It changes whenever a refresh
  // replaces a root: verdicts reached under an older generation are not
  // reused.
  generationOf(trust: TrustRoots): number {
    return this.#generations.get(trust) ?? -1;
  }

  // The trust in use, once loaded.
  get loaded(): TrustRoots | undefined {
    return this.#loaded;
  }

  // Where the trusted root(s) in use came from: the one root's source, or
  // `name: source` for each of several.
  get source(): string | undefined {
    const roots = this.#loaded?.roots;
    if (roots === undefined) return undefined;
    const [only] = roots;
    return only !== undefined && roots.length === 1 ? only.rootSource : roots.map((r) => `${r.name}: ${r.rootSource}`).join(', ');
  }

  // One TUF refresh of every root that has a TUF repository (offline: none);
  // true when a new trusted root is now in use. Never throws: a failure
  // keeps the current root.
  async refresh(): Promise<boolean> {
    const results = await Promise.all(this.#config.trustRoots.filter((s) => s.tuf && s.refresh).map((s) => this.#refreshRoot(s)));
    return results.includes(true);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
  }

  async #refreshRoot(spec: TrustRootSpec): Promise<boolean> {
    const tuf = spec.tuf;
    if (!tuf || !spec.refresh) return false;
    const ok = await this.#replaceFromTuf(spec, tuf);
    this.#onRefresh?.(ok);
    return ok;
  }

  async #replaceFromTuf(spec: TrustRootSpec, tuf: TufSettings): Promise<boolean> {
    const fetched = await fetchTrustedRoot(tuf);
    const root = { trusted_root: spec.label === '' ? undefined : spec.name, mirror: tuf.mirrorUrl };
    if ('error' in fetched) {
      this.#log.warn('TUF refresh of the trusted root failed; keeping the current one', { ...root, error: fetched.error });
      return false;
    }
    try {
      const current = await this.#trust;
      const old = current.roots.find((r) => r.name === spec.name);
      if (old === undefined) return false;
      const next = toContext(spec, fetched.root, `TUF ${tuf.mirrorUrl}`, [...old.keys.values()]);
      const weaker = weakens(old, next);
      if (weaker !== undefined) throw new SignatureError('TRUST_ROOT_INVALID', weaker);
      // Replaced in the roots in use now (another root may have been
      // refreshed meanwhile), synchronously: no refresh is lost.
      const latest = this.#loaded ?? current;
      const replaced: TrustRoots = Object.freeze({ roots: Object.freeze(latest.roots.map((r) => (r.name === spec.name ? next : r))) });
      this.#trust = Promise.resolve(replaced);
      this.#loaded = replaced;
      this.#generation++;
      this.#generations.set(replaced, this.#generation);
      this.#log.info('trusted root refreshed through TUF', root);
      return true;
    } catch (err) {
      this.#log.warn('TUF delivered an unusable trusted root; keeping the current one', { ...root, error: messageOf(err) });
      return false;
    }
  }

  // One refresh while loading (refreshFirst): the refreshed root, else,
  // when it fails, the one we have (the failure only logs).
  async #refreshed(spec: TrustRootSpec, current: TrustContext): Promise<TrustContext> {
    const tuf = spec.tuf;
    if (!tuf || !spec.refresh) return current;
    const fetched = await fetchTrustedRoot(tuf);
    try {
      if ('error' in fetched) throw new SignatureError('TRUST_ROOT_INVALID', fetched.error);
      const next = toContext(spec, fetched.root, `TUF ${tuf.mirrorUrl}`, [...current.keys.values()]);
      const weaker = weakens(current, next);
      if (weaker !== undefined) throw new SignatureError('TRUST_ROOT_INVALID', weaker);
      return next;
    } catch (err) {
      this.#log.warn('TUF refresh of the trusted root failed; keeping the current one', { mirror: tuf.mirrorUrl, error: messageOf(err) });
      return current;
    }
  }

  // Every root and key, loaded; the names of roots fetched just now.
  async #initial(): Promise<{ trust: TrustRoots; fetched: ReadonlySet<string> }> {
    const keys = await loadKeys(this.#config.keys);
    const fetched = new Set<string>();
    const roots = await Promise.all(
      this.#config.trustRoots.map(async (spec) => {
        const initial = await this.#initialRoot(spec, keys).catch((err: unknown) => {
          throw labelled(spec, err);
        });
        if (initial.fetched) fetched.add(spec.name);
        return initial.fetched || spec.refreshFirst !== true ? initial.context : await this.#refreshed(spec, initial.context);
      }),
    );
    checkKeyRoots(this.#config.keys, roots);
    return { trust: Object.freeze({ roots: Object.freeze(roots) }), fetched };
  }

  // The cached TUF root is used only when it verifies against the cached,
  // signed TUF metadata, in a cache directory nobody else can write.
  async #initialRoot(spec: TrustRootSpec, keys: readonly ConfiguredKey[]): Promise<{ context: TrustContext; fetched: boolean }> {
    const { tuf, start } = spec;
    if (start.kind === 'file') return { context: toContext(spec, await readTrustedRootFile(start.path), start.path, keys), fetched: false };
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
          return { context: toContext(spec, cached.root, cached.path, keys), fetched: false };
        } catch (err) {
          if (isSignatureError(err) && err.code === 'KEY_INVALID') throw err;
          this.#log.warn('cached TUF trusted root unusable; not using it', { path: cached.path, error: messageOf(err) });
        }
      } else if (cached.kind === 'invalid') {
        this.#log.warn('cached TUF trusted root does not verify; not using it', { error: cached.error });
      }
      if (start.kind === 'tuf') return { context: toContext(spec, ...(await firstFetch(spec, tuf)), keys), fetched: true };
    }
    return { context: toContext(spec, await embeddedTrustedRoot(), EMBEDDED_ROOT_SOURCE, keys), fetched: false };
  }
}

// A root with only its own TUF repository and nothing usable cached: fetch
// it now. Offline, or when the fetch fails, there is no root to start from.
async function firstFetch(spec: TrustRootSpec, tuf: TufSettings): Promise<[json: unknown, source: string]> {
  const where = `${spec.label || 'trusted root'} (TUF ${tuf.mirrorUrl}, cache ${tuf.cacheDir})`;
  if (!spec.refresh) throw new SignatureError('TRUST_ROOT_INVALID', `${where}: offline, and the TUF cache holds no verified trusted root`);
  const fetched = await fetchTrustedRoot(tuf);
  if ('error' in fetched)
    throw new SignatureError('TRUST_ROOT_INVALID', `${where}: no verified trusted root cached, and fetching one failed: ${fetched.error}`);
  return [fetched.root, `TUF ${tuf.mirrorUrl}`];
}

// A TrustContext for one spec, its requirements fixed from the root.
function toContext(spec: TrustRootSpec, json: unknown, source: string, keys: readonly ConfiguredKey[]): TrustContext {
  const probe = createTrust(json, source, keys, { name: spec.name, requireTlog: undefined, requireSct: undefined });
  const requirements = rootRequirements(spec, { tlogs: probe.material.tlogs.length, ctlogs: probe.material.ctlogs.length });
  if (requirements.requireTlog === undefined && requirements.requireSct === undefined) return probe;
  return createTrust(json, source, keys, { name: spec.name, ...requirements });
}

// A load error, naming the root when it is one of trusted_root blocks.
function labelled(spec: TrustRootSpec, err: unknown): unknown {
  if (spec.label === '' || !isSignatureError(err) || err.message.startsWith(spec.label)) return err;
  return new SignatureError(err.code, `${spec.label}: ${err.message}`, { cause: err });
}

// A key-based signature takes nothing from a root but its transparency logs
// and timestamp authorities, so a key accepted under every root would need a
// tlog entry only as much as the weakest root requires. When the roots
// differ in require_tlog, each key must say which roots it accepts.
function checkKeyRoots(keys: readonly KeyRule[], roots: readonly TrustContext[]): void {
  const requiring = roots.filter((r) => r.requireTlog === true).map((r) => r.name);
  const notRequiring = roots.filter((r) => r.requireTlog === false).map((r) => r.name);
  if (requiring.length === 0 || notRequiring.length === 0) return;
  const unrestricted = keys.filter((k) => k.trustedRoots === undefined).map((k) => JSON.stringify(k.name));
  if (unrestricted.length === 0) return;
  throw new SignatureError(
    'KEY_INVALID',
    `key ${unrestricted.join(', ')}: name its trusted_roots: the trusted roots differ in require_tlog (${requiring.join(', ')} require a transparency log, ${notRequiring.join(', ')} do not), and a key-based signature accepted under every root would need no transparency-log entry at all`,
  );
}
