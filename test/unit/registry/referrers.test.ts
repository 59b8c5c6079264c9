import { describe, expect, it } from 'vitest';

import { MissingReferrersApi, referrersTag, tagIndexEntries } from '../../../src/registry/referrers.js';

import type { FetchedManifest } from '../../../src/registry/types.js';

describe('referrers helpers', () => {
  it('remembers a repository without the API for the TTL only, per repository', () => {
    const missing = new MissingReferrersApi(1000);
    missing.add('r/a', 10_000);
    expect(missing.has('r/a', 10_999)).toBe(true);
    expect(missing.has('r/a', 11_000)).toBe(false);
    expect(missing.has('r/b', 10_500)).toBe(false);
  });

  it('stays bounded: past 4096 repositories it forgets them all', () => {
    const missing = new MissingReferrersApi(60_000);
    for (let i = 0; i < 4096; i++) missing.add(`r/${i}`, 0);
    expect(missing.has('r/0', 1)).toBe(true);
    missing.add('r/new', 0);
    expect(missing.has('r/0', 1)).toBe(false);
    expect(missing.has('r/new', 1)).toBe(true);
  });

  it('names the tag after the digest and refuses an image manifest under it', () => {
    const hex = 'a'.repeat(64);
    expect(referrersTag(`sha256:${hex}`)).toBe(`sha256-${hex}`);
    expect(tagIndexEntries(undefined, 't', 'w')).toEqual([]);
    const image = { manifest: { kind: 'image' } } as unknown as FetchedManifest;
    expect(() => tagIndexEntries(image, 't', 'w')).toThrow(/holds an image manifest/);
  });
});
