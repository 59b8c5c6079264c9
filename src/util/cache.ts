// A bounded verdict cache with time-to-live and single-flight loading:
// concurrent requests for the same key share one computation; successes live
// `ttlMs`, failures (rejections) `failureTtlMs` - short, so an outage is not
// remembered for long but a stampede during one does not hammer the
// registry. Oldest entries are evicted beyond `maxEntries`.

export interface CacheOptions<V = unknown> {
  ttlMs: number;
  // Per-value TTL, overriding ttlMs (e.g. shorter for "could not tell").
  ttlOf?: (value: V) => number;
  failureTtlMs: number;
  maxEntries: number;
  // The clock, in ms (default: monotonic, performance.now()).
  now?: () => number;
  // Told about every lookup: answered from the cache (a load in flight
  // included), or a miss that starts a load.
  onLookup?: (result: 'hit' | 'miss') => void;
}

interface Entry<V> {
  promise: Promise<V>;
  // undefined while loading.
  expiresAt: number | undefined;
  // The value, once loaded (for peek()).
  loaded: { value: V } | undefined;
}

export class VerdictCache<V> {
  readonly #options: CacheOptions<V>;
  readonly #entries = new Map<string, Entry<V>>();
  #loads = 0;

  constructor(options: CacheOptions<V>) {
    this.#options = options;
  }

  // How many times a loader actually ran (for tests and the benchmark).
  get loads(): number {
    return this.#loads;
  }

  get size(): number {
    return this.#entries.size;
  }

  // Monotonic unless told otherwise: a wall clock set back would keep
  // entries past their TTL.
  #now(): number {
    return this.#options.now?.() ?? performance.now();
  }

  // The cached value for `key`, or the result of `load()`, shared by every
  // caller that asks while it runs.
  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit && (hit.expiresAt === undefined || hit.expiresAt > this.#now())) {
      this.#hit(key, hit);
      return hit.promise;
    }
    this.#options.onLookup?.('miss');
    this.#loads++;
    const entry: Entry<V> = { promise: load(), expiresAt: undefined, loaded: undefined };
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#evict();
    entry.promise.then(
      (value) => {
        entry.expiresAt = this.#now() + (this.#options.ttlOf?.(value) ?? this.#options.ttlMs);
        entry.loaded = { value };
      },
      () => {
        entry.expiresAt = this.#now() + this.#options.failureTtlMs;
      },
    );
    return entry.promise;
  }

  // A value known from elsewhere (persisted before a restart), with the TTL
  // a loaded one would get.
  seed(key: string, value: V): void {
    const entry: Entry<V> = {
      promise: Promise.resolve(value),
      expiresAt: this.#now() + (this.#options.ttlOf?.(value) ?? this.#options.ttlMs),
      loaded: { value },
    };
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#evict();
  }

  // The loaded, unexpired value for `key`, without waiting or loading
  // (undefined when there is none: not loaded, loading, failed or expired;
  // get() then does what is needed). Not counted: a caller that uses the
  // value says so with hit().
  peek(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry?.loaded === undefined || entry.expiresAt === undefined || entry.expiresAt <= this.#now()) return undefined;
    return entry.loaded.value;
  }

  // A value peek() gave was used: counted as a hit, and recent.
  hit(key: string): void {
    const entry = this.#entries.get(key);
    if (entry) this.#hit(key, entry);
  }

  // Recency for eviction order, and the lookup counted.
  #hit(key: string, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#options.onLookup?.('hit');
  }

  // Forget `key` (e.g. facts found stale by a later check).
  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  #evict(): void {
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) return;
      this.#entries.delete(oldest.value);
    }
  }
}
