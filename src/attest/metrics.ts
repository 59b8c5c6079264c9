// What the attestor reports to operators, and the port it reports through.
// The plugin layer forwards it to spire-agent's Metrics host service; the
// CLI and tests use NO_METRICS. Emitting never waits and never fails: an
// implementation drops what it cannot send.

export interface MetricLabel {
  readonly name: string;
  readonly value: string;
}

export interface AttestMetrics {
  incrCounter(key: readonly string[], value: number, labels: readonly MetricLabel[]): void;
  addSample(key: readonly string[], value: number, labels: readonly MetricLabel[]): void;
}

export const NO_METRICS: AttestMetrics = {
  incrCounter: () => undefined,
  addSample: () => undefined,
};

const PREFIX = 'sigstore_attestor';

// Every series the plugin emits (README "Metrics"). spire-agent joins a key
// with "_" under its own service name (Prometheus: spire_agent_<key>).
export const METRIC_KEYS = {
  attestations: [PREFIX, 'attestations'],
  attestationLatencyMs: [PREFIX, 'attestation_latency_ms'],
  cache: [PREFIX, 'cache'],
  registryRequests: [PREFIX, 'registry_requests'],
  verificationFailures: [PREFIX, 'verification_failures'],
  trustRootRefreshes: [PREFIX, 'trust_root_refreshes'],
  prefetches: [PREFIX, 'prefetches'],
} as const satisfies Record<string, readonly string[]>;

export type AttestationOutcome = 'host' | 'unsupported_runtime' | 'container' | 'bound' | 'signed' | 'denied';

export const NO_LABELS: readonly MetricLabel[] = Object.freeze([]);

// Label lists are built once per distinct value: the warm path allocates
// none.
export class LabelSets {
  readonly #sets = new Map<string, readonly MetricLabel[]>();

  of(...pairs: readonly (readonly [string, string])[]): readonly MetricLabel[] {
    const key = pairs.map(([n, v]) => `${n}=${v}`).join('\u0000');
    let set = this.#sets.get(key);
    if (set === undefined) {
      set = Object.freeze(pairs.map(([name, value]) => Object.freeze({ name, value })));
      this.#sets.set(key, set);
    }
    return set;
  }
}

// The caches counted in `sigstore_attestor_cache`.
export type CacheName = 'container' | 'binding' | 'signatures';
export type CacheResult = 'hit' | 'miss' | 'refresh';

// A cache's onLookup: each result counted under its own, prebuilt labels.
export function countLookups(metrics: AttestMetrics, cache: CacheName): (result: CacheResult) => void {
  const labels = new LabelSets();
  const byResult: Readonly<Record<CacheResult, readonly MetricLabel[]>> = {
    hit: labels.of(['cache', cache], ['result', 'hit']),
    miss: labels.of(['cache', cache], ['result', 'miss']),
    refresh: labels.of(['cache', cache], ['result', 'refresh']),
  };
  return (result) => metrics.incrCounter(METRIC_KEYS.cache, 1, byResult[result]);
}
