import { describe, expect, it } from 'vitest';

import { BoundedMap } from '../../../src/util/bounded-map.js';

describe('BoundedMap', () => {
  it('holds at most maxEntries keys, dropping the oldest set first', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 3); // set again: now the newest
    m.set('c', 4); // drops b
    expect(m.size).toBe(2);
    expect([m.get('a'), m.get('b'), m.get('c')]).toEqual([3, undefined, 4]);
  });

  it('holds at least one key', () => {
    const m = new BoundedMap<string, number>(0);
    m.set('a', 1);
    m.set('b', 2);
    expect([m.size, m.get('b')]).toEqual([1, 2]);
  });
});
