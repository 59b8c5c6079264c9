// What the attestor remembers about images, so that the registry is asked as
// little as the facts allow (README "Verdict caches"):
//  - registry bindings, content-addressed: kept until evicted, never re-checked;
//  - signature / attestation reports per image, stamped with what the trust
//    they were reached under trusts: refreshed in the background, used
//    through a registry outage up to the staleness bound, never under other
//    trust;
//  - both persisted across restarts (verdict-store.ts) when configured.

import { AttestorError, codeInfo, isAttestorError, messageOf } from '../errors.js';
import { VerdictCache } from '../util/cache.js';
import { RefreshingCache } from '../util/refreshing-cache.js';
import { packageVersion } from '../util/version.js';
import { VerdictStore } from './verdict-store.js';
import { countLookups, NO_METRICS } from './metrics.js';
import { signatureKey } from './cache-keys.js';

import type { Logger } from '../log.js';
import type { TrustRoots } from '../verify/trust-roots.js';
import type { BindingReport } from './binding-step.js';
import type { SignatureReport } from './signature-step.js';
import type { PluginConfig } from './types.js';
import type { AttestMetrics } from './metrics.js';

// Bindings: "could not tell" answers (registry down under `prefer`, not
// bound) and failures are kept briefly, a held binding until evicted.
const BINDINGS = { shortMs: 5_000, maxEntries: 4096 } as const;

// Signature reports: failed first loads remembered 5 s, a failed refresh
// retried after a minute (doubling), 10 % jitter on the refresh interval.
const SIGNATURES = { failureTtlMs: 5_000, retryMs: 60_000, jitter: 0.1, maxEntries: 1024 } as const;

// Only the registry being unreachable (or slow) keeps a verdict alive;
// anything else fails closed.
function bridgesOutage(err: unknown): boolean {
  return codeInfo(err)?.outage === true || (isAttestorError(err) && err.code === 'DEADLINE_EXCEEDED');
}

export class Verdicts {
  readonly #now: () => number;
  readonly #store: VerdictStore | undefined;
  readonly #bindings: VerdictCache<BindingReport>;
  readonly #signatures: RefreshingCache<SignatureReport>;
  readonly #fingerprints = new WeakMap<TrustRoots, string>();

  constructor(config: PluginConfig, log: Logger, now: (() => number) | undefined, metrics: AttestMetrics = NO_METRICS) {
    this.#now = now ?? Date.now;
    const { verdicts } = config;
    this.#store = verdicts.cacheDir === undefined ? undefined : new VerdictStore(verdicts.cacheDir, config.fingerprint, packageVersion(), log);
    this.#bindings = new VerdictCache<BindingReport>({
      ttlMs: Number.POSITIVE_INFINITY,
      ttlOf: (b) => (b.outcome === 'bound' || b.outcome === 'skipped' ? Number.POSITIVE_INFINITY : BINDINGS.shortMs),
      failureTtlMs: BINDINGS.shortMs,
      maxEntries: BINDINGS.maxEntries,
      now: this.#now,
      onLookup: countLookups(metrics, 'binding'),
    });
    this.#signatures = new RefreshingCache<SignatureReport>({
      ...SIGNATURES,
      refreshMs: verdicts.refreshMs,
      maxStaleMs: verdicts.maxStaleMs,
      now: this.#now,
      onRefreshError: (key, err) => log.warn('signature refresh failed', { image: key, error: messageOf(err), keeps_last_verdict: bridgesOutage(err) }),
      keepsValue: bridgesOutage,
      onValue: (key, known) => this.#store?.save('signatures', key, known),
      onLookup: countLookups(metrics, 'signatures'),
    });
  }

  // Signature discoveries + verifications actually performed.
  get signatureLoads(): number {
    return this.#signatures.loads;
  }

  // The verdicts persisted before a restart; CONFIG_INVALID when the
  // directory cannot be used safely.
  restore(): void {
    const store = this.#store;
    if (!store) return;
    try {
      store.open();
    } catch (err) {
      throw new AttestorError('CONFIG_INVALID', `invalid plugin_data: ${messageOf(err)}`, { cause: err });
    }
    for (const v of store.load()) {
      if (v.kind === 'binding') this.#bindings.seed(v.key, v.known.value as BindingReport);
      else this.#signatures.seed(v.key, { ...v.known, value: v.known.value as SignatureReport });
    }
  }

  // The binding for `key`, or `load`'s (shared while it runs; a held one is
  // persisted for the next start).
  binding(key: string, load: () => Promise<BindingReport>): Promise<BindingReport> {
    return this.#bindings.get(key, async () => {
      const verifiedAt = this.#now();
      const report = await load();
      if (report.outcome === 'bound') this.#store?.save('binding', key, { value: report, stamp: '', verifiedAt });
      return report;
    });
  }

  // The signature report of image `key` reached under `trust`.
  signatures(key: string, trust: TrustRoots, load: () => Promise<SignatureReport>): Promise<SignatureReport> {
    return this.#signatures.get(key, this.#fingerprintOf(trust), load);
  }

  // The binding of `key` and, when it is bound, its signature report under
  // `trust` (undefined: not loaded yet), when both can be used now: loaded,
  // not expired, no refresh due. Counted as lookups only then; otherwise
  // binding() and signatures() do what is needed, and count.
  known(key: string, trust: TrustRoots | undefined): { binding: BindingReport; signatures: SignatureReport | undefined } | undefined {
    const binding = this.#bindings.peek(key);
    if (binding === undefined) return undefined;
    let signatures: SignatureReport | undefined;
    if (binding.outcome === 'bound') {
      if (trust === undefined) return undefined;
      const imageKey = signatureKey(binding);
      signatures = this.#signatures.peek(imageKey, this.#fingerprintOf(trust));
      if (signatures === undefined) return undefined;
      this.#signatures.hit(imageKey);
    }
    this.#bindings.hit(key);
    return { binding, signatures };
  }

  // What the trust trusts (stable across restarts), per trust object.
  #fingerprintOf(trust: TrustRoots): string {
    let fp = this.#fingerprints.get(trust);
    if (fp === undefined) {
      fp = trust.roots.map((r) => `${r.name}:${r.fingerprint}`).join(',');
      this.#fingerprints.set(trust, fp);
    }
    return fp;
  }
}
