import { describe, expect, it, vi } from 'vitest';

import { VerdictCache } from '../../../src/util/cache.js';

describe('VerdictCache', () => {
  it('shares one load among concurrent callers (a stampede loads once)', async () => {
    const cache = new VerdictCache<number>({ ttlMs: 1_000, failureTtlMs: 10, maxEntries: 10 });
    let release: (v: number) => void = () => undefined;
    const gate = new Promise<number>((r) => (release = r));
    let runs = 0;
    const all = Array.from({ length: 200 }, () => cache.get('k', () => (runs++, gate)));
    release(7);
    expect(await Promise.all(all)).toEqual(Array(200).fill(7));
    expect(runs).toBe(1);
    expect(cache.loads).toBe(1);
  });

  it('expires values after the TTL and failures after the shorter failure TTL', async () => {
    let now = 0;
    const cache = new VerdictCache<string>({ ttlMs: 100, failureTtlMs: 10, maxEntries: 10, now: () => now });
    await cache.get('ok', async () => 'v1');
    now = 99;
    expect(await cache.get('ok', async () => 'v2')).toBe('v1');
    now = 101;
    expect(await cache.get('ok', async () => 'v2')).toBe('v2');

    now = 200;
    await expect(cache.get('bad', async () => Promise.reject(new Error('outage')))).rejects.toThrow('outage');
    now = 205;
    await expect(cache.get('bad', async () => 'recovered')).rejects.toThrow('outage');
    now = 211;
    expect(await cache.get('bad', async () => 'recovered')).toBe('recovered');
  });

  it('keeps time on a monotonic clock by default: the wall clock set back keeps nothing past its TTL', async () => {
    const cache = new VerdictCache<string>({ ttlMs: 30, failureTtlMs: 0, maxEntries: 10 });
    const wall = vi.spyOn(Date, 'now');
    try {
      wall.mockReturnValue(1_000_000_000_000);
      await cache.get('k', async () => 'v1');
      // A day back.
      wall.mockReturnValue(1_000_000_000_000 - 86_400_000);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await cache.get('k', async () => 'v2')).toBe('v2');
    } finally {
      wall.mockRestore();
    }
  });

  it('evicts the least recently used entries beyond the size bound', async () => {
    const cache = new VerdictCache<string>({ ttlMs: 1_000, failureTtlMs: 10, maxEntries: 2 });
    await cache.get('a', async () => 'a');
    await cache.get('b', async () => 'b');
    await cache.get('a', async () => 'a2'); // a is now most recent
    await cache.get('c', async () => 'c'); // evicts b
    expect(cache.size).toBe(2);
    expect(await cache.get('a', async () => 'a3')).toBe('a');
    expect(await cache.get('b', async () => 'b2')).toBe('b2');
  });

  it('peek() gives a loaded, unexpired value without loading, waiting or counting; hit() counts it', async () => {
    let now = 0;
    const lookups: string[] = [];
    const cache = new VerdictCache<string>({ ttlMs: 100, failureTtlMs: 50, maxEntries: 10, now: () => now, onLookup: (r) => void lookups.push(r) });
    expect(cache.peek('k')).toBeUndefined();
    let release: (v: string) => void = () => undefined;
    const loading = cache.get('k', () => new Promise<string>((r) => (release = r)));
    expect(cache.peek('k')).toBeUndefined();
    release('v');
    await loading;
    expect(cache.peek('k')).toBe('v');
    expect(lookups).toEqual(['miss']);
    cache.hit('k');
    expect(lookups).toEqual(['miss', 'hit']);
    now = 100;
    expect(cache.peek('k')).toBeUndefined();
    await expect(cache.get('bad', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(cache.peek('bad')).toBeUndefined();
    expect(cache.loads).toBe(2);
  });

  it('seeded values can be peeked', () => {
    const cache = new VerdictCache<string>({ ttlMs: 100, failureTtlMs: 10, maxEntries: 10 });
    cache.seed('k', 'v');
    expect(cache.peek('k')).toBe('v');
  });
});
