import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { chainId, proveImage } from '../../../src/runtime/containerd/image-proof.js';

import type { ContentSource, ImageTarget, ProofInput } from '../../../src/runtime/containerd/image-proof.js';
import type { Digest } from '../../../src/util/digest.js';

const sha = (text: string): Digest => `sha256:${createHash('sha256').update(text).digest('hex')}`;

// A content store in memory: blobs by digest, labels, image names.
class Store implements ContentSource {
  readonly blobs = new Map<Digest, Buffer>();
  readonly labels = new Map<Digest, Record<string, string>>();
  readonly images = new Map<string, ImageTarget>();

  put(doc: unknown, labels: Record<string, string> = {}): Digest {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    this.blobs.set(digest, bytes);
    this.labels.set(digest, labels);
    return digest;
  }

  async read(digest: Digest): Promise<Buffer | undefined> {
    return this.blobs.get(digest);
  }

  async withLabel(key: string, value: string): Promise<Digest[]> {
    return [...this.labels].filter(([, l]) => l[key] === value).map(([d]) => d);
  }

  async image(name: string): Promise<ImageTarget | undefined> {
    return this.images.get(name);
  }
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const LAYERS_A = [sha('layer a1'), sha('layer a2')];
const LAYERS_B = [sha('layer b1')];

// The container was created at t=100; names pulled at 50, re-pointed at 200.
const CREATED = 100n;
const BEFORE = 50n;
const AFTER = 200n;
const input = (imageName: string, layers: readonly Digest[], snapshotter = 'overlayfs'): ProofInput => ({
  imageName,
  snapshotter,
  parent: chainId(layers),
  createdAtNs: CREATED,
  containerLabels: {},
});

// An unpacked image: config (labelled with its snapshot chain), manifest
// (labelled with its config), as containerd leaves them after a pull.
function image(store: Store, diffIds: readonly Digest[], extra: Record<string, unknown> = {}): { config: Digest; manifest: Digest } {
  const config = store.put(
    { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, ...extra },
    { 'containerd.io/gc.ref.snapshot.overlayfs': chainId(diffIds) },
  );
  const manifest = store.put(
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 1 }, layers: [] },
    { 'containerd.io/gc.ref.content.config': config },
  );
  return { config, manifest };
}

describe('chainId', () => {
  it('is the diff ID for one layer and the hash chain for more', () => {
    expect(chainId([LAYERS_A[0]!])).toBe(LAYERS_A[0]);
    expect(chainId(LAYERS_A)).toBe(sha(`${LAYERS_A[0]} ${LAYERS_A[1]}`));
    const three = [...LAYERS_A, sha('layer a3')];
    expect(chainId(three)).toBe(sha(`${chainId(LAYERS_A)} ${three[2]}`));
  });
});

describe('proveImage', () => {
  it('proves the image the name points to when its layers are the snapshot parent', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    store.images.set('reg/app:1', { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: BEFORE });
    const proven = await proveImage(store, input('reg/app:1', LAYERS_A));
    expect(proven).toEqual({
      outcome: 'proven',
      configDigest: a.config,
      platform: { os: 'linux', architecture: 'amd64' },
      digests: [a.manifest],
      via: 'image-name',
    });
  });

  it('finds the platform manifest of an index, skipping entries that are not images', async () => {
    const store = new Store();
    const arm = image(store, LAYERS_B, { architecture: 'arm64', variant: 'v8' });
    const amd = image(store, LAYERS_A);
    const attestation = store.put({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { digest: sha('not stored') }, layers: [] });
    const index = store.put({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: attestation },
        { mediaType: OCI_MANIFEST, digest: sha('a platform never pulled') },
        { mediaType: OCI_MANIFEST, digest: arm.manifest },
        { mediaType: OCI_MANIFEST, digest: amd.manifest },
      ],
    });
    store.images.set('reg/app:1', { digest: index, mediaType: OCI_INDEX, updatedAtNs: BEFORE });
    const proven = await proveImage(store, input('reg/app:1', LAYERS_B));
    expect(proven).toMatchObject({ outcome: 'proven', configDigest: arm.config, digests: [index, arm.manifest], via: 'image-name' });
    expect(proven).toMatchObject({ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  });

  it('a name re-pointed after the container started does not move the proof: the content labels find the original', async () => {
    const store = new Store();
    const original = image(store, LAYERS_A);
    const other = image(store, LAYERS_B);
    store.images.set('reg/app:1', { digest: other.manifest, mediaType: OCI_MANIFEST, updatedAtNs: AFTER });
    const proven = await proveImage(store, input('reg/app:1', LAYERS_A));
    expect(proven).toMatchObject({ outcome: 'proven', configDigest: original.config, digests: [original.manifest], via: 'content-labels' });
  });

  it('several configs with the same layers: the name decides while it is what the container was created from', async () => {
    const store = new Store();
    const signed = image(store, LAYERS_A, { Labels: { build: 'release' } });
    const other = image(store, LAYERS_A, { Labels: { build: 'local' } });
    store.images.set('reg/app:1', { digest: signed.manifest, mediaType: OCI_MANIFEST, updatedAtNs: CREATED });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'proven', configDigest: signed.config, via: 'image-name' });
    // Re-pointed (to either of them) after the container was created: the
    // name no longer counts, and the labels cannot tell the two apart.
    for (const target of [signed, other]) {
      store.images.set('reg/app:1', { digest: target.manifest, mediaType: OCI_MANIFEST, updatedAtNs: AFTER });
      expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({
        outcome: 'unproven',
        reason: expect.stringContaining('2 image configs share the layers'),
      });
    }
  });

  it('a name without a time, or a container without one, is not trusted to be the original', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    image(store, LAYERS_A, { Labels: { x: 'y' } });
    store.images.set('reg/app:1', { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: undefined });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'unproven' });
    store.images.set('reg/app:1', { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: BEFORE });
    expect(await proveImage(store, { ...input('reg/app:1', LAYERS_A), createdAtNs: undefined })).toMatchObject({ outcome: 'unproven' });
  });

  it('after a re-point, a same-layer config whose image labels the container does not carry is another image', async () => {
    const store = new Store();
    const twin = image(store, LAYERS_A, { config: { Labels: { app: 'twin' } } });
    store.images.set('reg/app:1', { digest: twin.manifest, mediaType: OCI_MANIFEST, updatedAtNs: AFTER });
    const created = { ...input('reg/app:1', LAYERS_A), containerLabels: { app: 'original' } };
    expect(await proveImage(store, created)).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('no image config') });
    expect(await proveImage(store, { ...created, containerLabels: { app: 'twin', extra: 'x' } })).toMatchObject({
      outcome: 'proven',
      configDigest: twin.config,
    });
  });

  it('labels are only hints: a config whose layers are not the parent does not count', async () => {
    const store = new Store();
    // A config labelled with chain A that really has chain B's layers.
    store.put({ os: 'linux', architecture: 'amd64', rootfs: { diff_ids: LAYERS_B } }, { 'containerd.io/gc.ref.snapshot.overlayfs': chainId(LAYERS_A) });
    expect(await proveImage(store, input('', LAYERS_A))).toMatchObject({ outcome: 'unproven' });
  });

  it('a manifest labelled with a config it does not name does not count', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    const b = image(store, LAYERS_B);
    store.labels.set(b.manifest, { 'containerd.io/gc.ref.content.config': a.config });
    store.labels.set(a.manifest, {});
    expect(await proveImage(store, input('', LAYERS_A))).toMatchObject({ outcome: 'unproven' });
  });

  it('labels of another snapshotter are not looked at', async () => {
    const store = new Store();
    image(store, LAYERS_A);
    expect(await proveImage(store, input('', LAYERS_A, 'native'))).toMatchObject({ outcome: 'unproven' });
  });

  it('nothing matches: undefined (the caller fails closed)', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    store.images.set('reg/app:1', { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: BEFORE });
    const proof = await proveImage(store, { ...input('reg/app:1', LAYERS_A), parent: sha('another rootfs') });
    expect(proof).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('no image config in the content store has the layers') });
  });

  it('malformed documents are not candidates, and do not stop the search', async () => {
    const store = new Store();
    const junkIndex = store.put({ manifests: 'not a list' });
    store.images.set('reg/app:1', { digest: junkIndex, mediaType: OCI_INDEX, updatedAtNs: BEFORE });
    store.put({ rootfs: { diff_ids: ['not a digest'] } }, { 'containerd.io/gc.ref.snapshot.overlayfs': chainId(LAYERS_A) });
    const a = image(store, LAYERS_A);
    const proven = await proveImage(store, input('reg/app:1', LAYERS_A));
    expect(proven).toMatchObject({ outcome: 'proven', configDigest: a.config, via: 'content-labels' });
  });

  it('a failing content store is an error, not "no image"', async () => {
    const store = new Store();
    image(store, LAYERS_A);
    store.read = () => Promise.reject(new Error('containerd went away'));
    await expect(proveImage(store, input('', LAYERS_A))).rejects.toThrow('containerd went away');
  });
});
