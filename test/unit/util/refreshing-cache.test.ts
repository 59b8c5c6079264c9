// The stale-while-revalidate verdict cache, on an injected clock: no load at
// steady state, refresh in the background when due, an outage bridged up to
// the staleness bound and never past it, seeded values after a restart.

import { describe, expect, it } from 'vitest';

import { RefreshingCache } from '../../../src/util/refreshing-cache.js';

const HOUR = 3_600_000;
// Refresh hourly, never past a day, retry after a minute, no jitter.
const TIMES = { refreshMs: HOUR, jitter: 0, maxStaleMs: 24 * HOUR, retryMs: 60_000, failureTtlMs: 5_000 } as const;

function setup(overrides: { jitter?: number; random?: () => number } = {}) {
  let now = 1_000_000;
  const errors: string[] = [];
  const stored: [string, number][] = [];
  const cache = new RefreshingCache<string>({
    refreshMs: HOUR,
    jitter: overrides.jitter ?? 0,
    maxStaleMs: 24 * HOUR,
    retryMs: 60_000,
    failureTtlMs: 5_000,
    maxEntries: 3,
    now: () => now,
    random: overrides.random ?? (() => 0.5),
    onRefreshError: (key) => void errors.push(key),
    onValue: (key, known) => void stored.push([key, known.verifiedAt]),
  });
  let calls = 0;
  let answer: () => Promise<string> = async () => `v${calls}`;
  const load = (): Promise<string> => {
    calls++;
    return answer();
  };
  return {
    cache,
    load,
    errors,
    stored,
    calls: () => calls,
    advance: (ms: number) => void (now += ms),
    now: () => now,
    fail: () => void (answer = async () => Promise.reject(new Error('registry down'))),
    recover: () => void (answer = async () => `v${calls}`),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('RefreshingCache', () => {
  it('loads once for concurrent callers, then serves the value without loading again until it is due', async () => {
    const t = setup();
    const values = await Promise.all(Array.from({ length: 50 }, () => t.cache.get('img', 'g1', t.load)));
    expect(new Set(values)).toEqual(new Set(['v1']));
    for (let i = 0; i < 1000; i++) {
      t.advance(2_000);
      if (t.now() - 1_000_000 >= HOUR) break;
      expect(await t.cache.get('img', 'g1', t.load)).toBe('v1');
    }
    expect(t.calls()).toBe(1);
  });

  it('when due, answers with the value it has at once and refreshes once in the background', async () => {
    const t = setup();
    await t.cache.get('img', 'g1', t.load);
    t.advance(HOUR + 1);
    const during = await Promise.all(Array.from({ length: 20 }, () => t.cache.get('img', 'g1', t.load)));
    expect(new Set(during)).toEqual(new Set(['v1']));
    expect(t.calls()).toBe(2);
    await settle();
    expect(await t.cache.get('img', 'g1', t.load)).toBe('v2');
    expect(t.cache.refreshes).toBe(1);
    expect(t.stored.map(([k]) => k)).toEqual(['img', 'img']);
  });

  it('bridges a registry outage with the last value up to the staleness bound, retrying, then fails closed', async () => {
    const t = setup();
    await t.cache.get('img', 'g1', t.load);
    t.fail();
    let failedAttestations = 0;
    // 24 hours of attestations every 2 s, the registry down throughout.
    for (let elapsed = 0; elapsed < 24 * HOUR - 10_000; elapsed += 2_000) {
      t.advance(2_000);
      await t.cache.get('img', 'g1', t.load).then(
        (v) => expect(v).toBe('v1'),
        () => failedAttestations++,
      );
      await settle();
    }
    expect(failedAttestations).toBe(0);
    // Retries back off (1, 2, 4 ... minutes, then hourly), never one per attestation.
    expect(t.calls()).toBeLessThanOrEqual(2 + 6 + 24);
    expect(t.errors.length).toBe(t.calls() - 1);
    // Past the bound: the old value is not used; the load fails, and so does the caller.
    t.advance(20_000);
    await expect(t.cache.get('img', 'g1', t.load)).rejects.toThrow('registry down');
    // ... and once the registry is back, the next attestation loads afresh.
    t.advance(6_000);
    t.recover();
    await expect(t.cache.get('img', 'g1', t.load)).resolves.toMatch(/^v\d+$/);
  });

  it('a value reached under another stamp (the trust changed) is never served: the caller waits for a load under its own', async () => {
    const t = setup();
    await t.cache.get('img', 'g1', t.load);
    expect(await t.cache.get('img', 'g2', t.load)).toBe('v2');
    expect(t.calls()).toBe(2);
    expect(await t.cache.get('img', 'g2', t.load)).toBe('v2');
    expect(t.calls()).toBe(2);
    // A persisted value from other trust is not served either.
    t.cache.seed('other', { value: 'old trust', stamp: 'g1', verifiedAt: t.now() });
    expect(await t.cache.get('other', 'g2', t.load)).toBe('v3');
  });

  it('seeded values (persisted before a restart) are served without a load; too old ones are ignored', async () => {
    const t = setup();
    t.cache.seed('fresh', { value: 'persisted', stamp: 'g1', verifiedAt: t.now() - HOUR / 2 });
    t.cache.seed('old', { value: 'too old', stamp: 'g1', verifiedAt: t.now() - 25 * HOUR });
    expect(await t.cache.get('fresh', 'g1', t.load)).toBe('persisted');
    expect(t.calls()).toBe(0);
    expect(await t.cache.get('old', 'g1', t.load)).toBe('v1');
    expect(t.calls()).toBe(1);
    // A seed older than what is known does not replace it.
    t.cache.seed('old', { value: 'older', stamp: 'g1', verifiedAt: t.now() - HOUR });
    expect(await t.cache.get('old', 'g1', t.load)).toBe('v1');
  });

  it('spreads refreshes with jitter, so values loaded together are not refreshed together', async () => {
    let r = 0;
    const randoms = [0, 0.5, 0.99];
    const t = setup({ jitter: 0.2, random: () => randoms[r++ % randoms.length] ?? 0 });
    for (const k of ['a', 'b', 'c']) await t.cache.get(k, 'g1', t.load);
    t.advance(HOUR * 0.81);
    for (const k of ['a', 'b', 'c']) await t.cache.get(k, 'g1', t.load);
    // Only c (refresh due at 0.802 h) was refreshed.
    expect(t.calls()).toBe(4);
  });

  it('remembers a failed first load briefly, so a stampede during an outage is one load', async () => {
    const t = setup();
    t.fail();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => t.cache.get('img', 'g1', t.load)));
    expect(results.every((x) => x.status === 'rejected')).toBe(true);
    await expect(t.cache.get('img', 'g1', t.load)).rejects.toThrow();
    expect(t.calls()).toBe(1);
    t.advance(5_001);
    t.recover();
    expect(await t.cache.get('img', 'g1', t.load)).toBe('v2');
  });

  it('evicts the least recently used beyond maxEntries', async () => {
    const t = setup();
    for (const k of ['a', 'b', 'c']) await t.cache.get(k, 'g1', t.load);
    await t.cache.get('a', 'g1', t.load);
    await t.cache.get('d', 'g1', t.load);
    expect(t.cache.size).toBe(3);
    expect([...t.cache.known()].map(([k]) => k).sort()).toEqual(['a', 'c', 'd']);
  });

  it('a refresh failure the value does not survive (not an outage) fails the key closed', async () => {
    let now = 0;
    let fail = false;
    const cache = new RefreshingCache<string>({
      ...TIMES,
      maxEntries: 10,
      now: () => now,
      keepsValue: (err) => err instanceof Error && err.message === 'outage',
    });
    const load = async (): Promise<string> => {
      if (fail) throw new Error('malformed answer');
      return 'v';
    };
    await cache.get('img', 'g', load);
    now += HOUR + 1;
    fail = true;
    expect(await cache.get('img', 'g', load)).toBe('v');
    await settle();
    await expect(cache.get('img', 'g', load)).rejects.toThrow('malformed answer');
  });

  it('peek() gives what get() would answer at once, only while no refresh is due, under the same stamp and staleness rules', async () => {
    const t = setup();
    expect(t.cache.peek('img', 'g1')).toBeUndefined();
    const first = t.cache.get('img', 'g1', t.load);
    expect(t.cache.peek('img', 'g1')).toBeUndefined();
    await first;
    expect(t.cache.peek('img', 'g1')).toBe('v1');
    expect(t.cache.peek('img', 'g2')).toBeUndefined();
    t.advance(HOUR + 1);
    // Due: left to get(), which answers at once and starts the refresh.
    expect(t.cache.peek('img', 'g1')).toBeUndefined();
    let release: (v: string) => void = () => undefined;
    const refresh = new Promise<string>((r) => (release = r));
    expect(await t.cache.get('img', 'g1', () => refresh)).toBe('v1');
    // While the refresh runs, the old value is still the answer.
    expect(t.cache.peek('img', 'g1')).toBe('v1');
    release('v2');
    await settle();
    expect(t.cache.peek('img', 'g1')).toBe('v2');
    expect(t.calls()).toBe(1);
    // Past the staleness bound nothing is given, refresh failing or not.
    t.fail();
    t.advance(25 * HOUR);
    expect(t.cache.peek('img', 'g1')).toBeUndefined();
  });

  it('peek() does not count a lookup; hit() does, and keeps the key recent', async () => {
    const lookups: string[] = [];
    let now = 0;
    const cache = new RefreshingCache<string>({
      ...TIMES,
      maxEntries: 2,
      now: () => now,
      onLookup: (r) => void lookups.push(r),
    });
    await cache.get('a', 's', async () => 'a');
    await cache.get('b', 's', async () => 'b');
    expect(cache.peek('a', 's')).toBe('a');
    expect(lookups).toEqual(['miss', 'miss']);
    cache.hit('a');
    expect(lookups).toEqual(['miss', 'miss', 'hit']);
    // 'a' is the most recent: a third key evicts 'b'.
    now += 1;
    await cache.get('c', 's', async () => 'c');
    expect(cache.peek('a', 's')).toBe('a');
    expect(cache.peek('b', 's')).toBeUndefined();
  });
});
