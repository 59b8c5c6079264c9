// The binding rules over a hand-written in-memory registry.

import { describe, expect, it } from 'vitest';

import { checkBinding } from '../../../src/registry/binding.js';

import { MemoryRegistry, digestOf, image } from '../../support/memory-registry.js';

const CONFIG_A = digestOf('config-a');
const CONFIG_B = digestOf('config-b');
const REPO = '127.0.0.1:5000/acme/app';

const amd64 = { os: 'linux', architecture: 'amd64' };
const signal = AbortSignal.timeout(5_000);

describe('checkBinding', () => {
  it('binds through a local repo digest and notes that the tag still points there', async () => {
    const reg = new MemoryRegistry();
    const d = reg.put(image(CONFIG_A), '1');
    const result = await checkBinding(reg, { imageRef: `${REPO}:1`, imageId: CONFIG_A, repoDigests: [`${REPO}@${d}`], platform: amd64 }, signal);
    expect(result).toMatchObject({ outcome: 'bound', digest: d, manifestDigest: d, via: 'repo-digest', tagDigest: d, tagMoved: false });
  });

  it('reports a tag that moved after the container started, and stays bound to its own digest', async () => {
    const reg = new MemoryRegistry();
    const old = reg.put(image(CONFIG_A));
    const moved = reg.put(image(CONFIG_B), '1');
    const result = await checkBinding(reg, { imageRef: `${REPO}:1`, imageId: CONFIG_A, repoDigests: [`${REPO}@${old}`], platform: amd64 }, signal);
    expect(result).toMatchObject({ outcome: 'bound', digest: old, via: 'repo-digest', tagDigest: moved, tagMoved: true });
  });

  it('is not bound when the local image differs from what the registry serves', async () => {
    const reg = new MemoryRegistry();
    reg.put(image(CONFIG_B), '1');
    const result = await checkBinding(reg, { imageRef: `${REPO}:1`, imageId: CONFIG_A, repoDigests: [], platform: amd64 }, signal);
    expect(result.outcome).toBe('not-bound');
    if (result.outcome === 'not-bound') {
      expect(result.reason).toMatch(/rebuilt, tampered or re-tagged locally/);
      expect(result.candidates).toEqual([expect.objectContaining({ via: 'tag', configDigest: CONFIG_B })]);
    }
  });

  it('ignores repo digests of other repositories (a re-tagged image)', async () => {
    const reg = new MemoryRegistry();
    const other = reg.put(image(CONFIG_A));
    reg.put(image(CONFIG_B), '1');
    const result = await checkBinding(
      reg,
      { imageRef: `${REPO}:1`, imageId: CONFIG_A, repoDigests: [`127.0.0.1:5000/acme/other@${other}`, 'garbage@@'], platform: amd64 },
      signal,
    );
    expect(result.outcome).toBe('not-bound');
  });

  it('binds through the right platform entry of an index', async () => {
    const reg = new MemoryRegistry();
    const arm = reg.put(image(CONFIG_B));
    const x86 = reg.put(image(CONFIG_A));
    const index = reg.put(
      {
        kind: 'index',
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm, size: 1, platform: { os: 'linux', architecture: 'arm64' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: x86, size: 1, platform: amd64 },
        ],
      },
      'multi',
    );
    const result = await checkBinding(reg, { imageRef: `${REPO}:multi`, imageId: CONFIG_A, repoDigests: [], platform: amd64 }, signal);
    expect(result).toMatchObject({ outcome: 'bound', digest: index, indexDigest: index, manifestDigest: x86, via: 'tag' });
    const onArm = await checkBinding(
      reg,
      { imageRef: `${REPO}:multi`, imageId: CONFIG_A, repoDigests: [], platform: { os: 'linux', architecture: 'arm64' } },
      signal,
    );
    expect(onArm.outcome).toBe('not-bound');
  });

  it('uses a digest pinned in the reference and does not resolve the tag', async () => {
    const reg = new MemoryRegistry();
    const d = reg.put(image(CONFIG_A));
    const result = await checkBinding(reg, { imageRef: `${REPO}@${d}`, imageId: CONFIG_A, repoDigests: [], platform: amd64 }, signal);
    expect(result).toMatchObject({ outcome: 'bound', via: 'reference-digest', tagMoved: false });
    expect(reg.calls).toBe(1);
  });

  it('is not bound for a tag the registry does not have and no local digest', async () => {
    const result = await checkBinding(new MemoryRegistry(), { imageRef: `${REPO}:nope`, imageId: CONFIG_A, repoDigests: [], platform: amd64 }, signal);
    expect(result).toMatchObject({ outcome: 'not-bound', candidates: [] });
  });

  it('is not bound when the container was started from a bare image ID', async () => {
    const result = await checkBinding(new MemoryRegistry(), { imageRef: CONFIG_A, imageId: CONFIG_A, repoDigests: [], platform: amd64 }, signal);
    expect(result.outcome).toBe('not-bound');
  });
});
