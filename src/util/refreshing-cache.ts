// A bounded cache of verdicts that are refreshed in the background
// (stale-while-revalidate): a caller gets the value it has at once while a
// refresh runs, never waits on the source for a key that already has a
// value, and never gets a value older than `maxStaleMs`. Concurrent callers
// of a key share one load and one refresh. When a refresh fails (the source
// is down), the old value stays in use until it is `maxStaleMs` old, then
// the key fails like one never loaded: nothing is used past the bound.
//
// Each value carries a stamp (e.g. what the trust it was reached under
// trusts); a value whose stamp is not the caller's is never served: the
// caller waits for a load under its own stamp (trust changed, say a CA was
// removed: nothing verified under the old trust counts any more).

export interface RefreshingOptions<V> {
  // Age after which a value is refreshed (less a random share, `jitter`,
  // so that values loaded together are not refreshed together).
  readonly refreshMs: number;
  readonly jitter: number;
  // Age beyond which a value is never used.
  readonly maxStaleMs: number;
  // After a failed refresh, try again after this long, doubled after each
  // further failure up to `refreshMs` (an outage is not hammered).
  readonly retryMs: number;
  // A failed load of a key without a value is remembered this long.
  readonly failureTtlMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
  readonly random?: () => number;
  // Told about every refresh that failed (the old value stays in use).
  readonly onRefreshError?: (key: string, err: unknown) => void;
  // Which refresh failures the old value survives (default: all), e.g.
  // only the source being unreachable; after any other, the key fails like
  // one that failed its first load.
  readonly keepsValue?: (err: unknown) => boolean;
  // Told about every value loaded or refreshed (e.g. to persist it).
  readonly onValue?: (key: string, value: Known<V>) => void;
  // Told about every lookup: answered from the cache (a value, a load in
  // flight or a remembered failure), a miss that starts a first load, and
  // (besides that hit) each background refresh it starts.
  readonly onLookup?: (result: 'hit' | 'miss' | 'refresh') => void;
}

// A value and when it was reached.
export interface Known<V> {
  readonly value: V;
  readonly stamp: string;
  // When the load that produced it started (ms since the epoch).
  readonly verifiedAt: number;
}

interface Entry<V> {
  known: Known<V> | undefined;
  // The same value, as a settled promise: the warm path allocates nothing.
  resolved: Promise<V> | undefined;
  refreshAt: number;
  // Refreshes failed in a row (for the retry backoff).
  failedRefreshes: number;
  // A load in flight: the first one (callers wait) or a refresh (they
  // don't), and the stamp it loads under.
  loading: Promise<V> | undefined;
  loadingStamp: string | undefined;
  // A failed first load, until when it is remembered.
  failure: { promise: Promise<V>; until: number } | undefined;
}

export class RefreshingCache<V> {
  readonly #o: RefreshingOptions<V>;
  readonly #entries = new Map<string, Entry<V>>();
  #loads = 0;
  #refreshes = 0;

  constructor(options: RefreshingOptions<V>) {
    this.#o = options;
  }

  // Loads that ran: first loads and refreshes.
  get loads(): number {
    return this.#loads;
  }

  get refreshes(): number {
    return this.#refreshes;
  }

  get size(): number {
    return this.#entries.size;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  #refreshAt(verifiedAt: number): number {
    const share = Math.min(Math.max(this.#o.jitter, 0), 1) * (this.#o.random ?? Math.random)();
    return verifiedAt + this.#o.refreshMs * (1 - share);
  }

  // A value known from elsewhere (persisted before a restart); ignored when
  // too old or when the key already has a newer one.
  seed(key: string, known: Known<V>): void {
    if (this.#now() - known.verifiedAt > this.#o.maxStaleMs) return;
    const entry = this.#entries.get(key);
    if (entry?.known && entry.known.verifiedAt >= known.verifiedAt) return;
    this.#set(key, {
      known,
      resolved: Promise.resolve(known.value),
      refreshAt: this.#refreshAt(known.verifiedAt),
      loading: undefined,
      loadingStamp: undefined,
      failure: undefined,
      failedRefreshes: 0,
    });
  }

  // The value for `key` reached under `stamp`: the one known (refreshed in
  // the background when due), else a shared load.
  get(key: string, stamp: string, load: () => Promise<V>): Promise<V> {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry?.resolved && this.#usable(entry, stamp, now)) {
      if (this.#due(entry, now)) this.#refresh(key, entry, stamp, load);
      this.#hit(key, entry);
      return entry.resolved;
    }
    if (entry?.loading && entry.loadingStamp === stamp) {
      this.#o.onLookup?.('hit');
      return entry.loading;
    }
    if (entry?.failure && entry.failure.until > now && entry.loadingStamp === stamp) {
      this.#o.onLookup?.('hit');
      return entry.failure.promise;
    }
    this.#o.onLookup?.('miss');
    return this.#firstLoad(key, stamp, load);
  }

  // The value get() would answer with at once, when no refresh is due
  // (undefined otherwise: get() then waits, or starts the refresh). Not
  // counted: a caller that uses the value says so with hit().
  peek(key: string, stamp: string): V | undefined {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry?.known === undefined || !this.#usable(entry, stamp, now) || this.#due(entry, now)) return undefined;
    return entry.known.value;
  }

  // A value peek() gave was used: counted as a hit, and recent.
  hit(key: string): void {
    const entry = this.#entries.get(key);
    if (entry) this.#hit(key, entry);
  }

  // Is the known value one reached under `stamp`, and young enough to use?
  #usable(entry: Entry<V>, stamp: string, now: number): boolean {
    return entry.known !== undefined && entry.known.stamp === stamp && now - entry.known.verifiedAt <= this.#o.maxStaleMs;
  }

  // Is a refresh of the value due (and none running)?
  #due(entry: Entry<V>, now: number): boolean {
    return entry.loading === undefined && now >= entry.refreshAt;
  }

  // Recency for eviction order (least recently used goes first), and the
  // lookup counted.
  #hit(key: string, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#o.onLookup?.('hit');
  }

  #firstLoad(key: string, stamp: string, load: () => Promise<V>): Promise<V> {
    const entry: Entry<V> = {
      known: undefined,
      resolved: undefined,
      refreshAt: 0,
      loading: undefined,
      loadingStamp: undefined,
      failure: undefined,
      failedRefreshes: 0,
    };
    const promise = this.#start(key, entry, stamp, load, (failed) => {
      entry.failure = { promise: failed, until: this.#now() + this.#o.failureTtlMs };
    });
    this.#set(key, entry);
    return promise;
  }

  #refresh(key: string, entry: Entry<V>, stamp: string, load: () => Promise<V>): void {
    this.#refreshes++;
    this.#o.onLookup?.('refresh');
    void this.#start(key, entry, stamp, load, (failed, err) => {
      this.#o.onRefreshError?.(key, err);
      if (this.#o.keepsValue?.(err) ?? true) {
        entry.failedRefreshes++;
        entry.refreshAt = this.#now() + Math.min(this.#o.retryMs * 2 ** (entry.failedRefreshes - 1), this.#o.refreshMs);
      } else {
        entry.known = undefined;
        entry.resolved = undefined;
        entry.failure = { promise: failed, until: this.#now() + this.#o.failureTtlMs };
      }
    });
  }

  // One load for `entry` under `stamp`: its value learned on success,
  // `failed` told on failure (with the rejected promise, to remember).
  #start(key: string, entry: Entry<V>, stamp: string, load: () => Promise<V>, failed: (promise: Promise<V>, err: unknown) => void): Promise<V> {
    this.#loads++;
    const startedAt = this.#now();
    const promise: Promise<V> = load().then(
      (value) => {
        entry.loading = undefined;
        this.#learn(key, entry, { value, stamp, verifiedAt: startedAt });
        return value;
      },
      (err: unknown) => {
        entry.loading = undefined;
        failed(promise, err);
        throw err;
      },
    );
    // The failure is the callers' to handle; an unawaited copy must not be
    // reported as unhandled.
    promise.catch(() => undefined);
    entry.loading = promise;
    entry.loadingStamp = stamp;
    return promise;
  }

  #learn(key: string, entry: Entry<V>, known: Known<V>): void {
    entry.known = known;
    entry.resolved = Promise.resolve(known.value);
    entry.failure = undefined;
    entry.failedRefreshes = 0;
    entry.refreshAt = this.#refreshAt(known.verifiedAt);
    // Still ours (not evicted or replaced meanwhile)?
    if (this.#entries.get(key) === entry) this.#o.onValue?.(key, known);
  }

  #set(key: string, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#o.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) return;
      this.#entries.delete(oldest.value);
    }
  }

  // Every known value, for persisting.
  *known(): IterableIterator<[string, Known<V>]> {
    for (const [key, entry] of this.#entries) if (entry.known) yield [key, entry.known];
  }
}
