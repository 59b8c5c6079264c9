import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { chainId, proveImage, RECENT_REPOINT_NS } from '../../../src/runtime/containerd/image-proof.js';

import type { ContentSource, ImageTarget, ProofInput } from '../../../src/runtime/containerd/image-proof.js';
import type { Digest } from '../../../src/util/digest.js';

const sha = (text: string): Digest => `sha256:${createHash('sha256').update(text).digest('hex')}`;

// A content store in memory: blobs by digest, labels, image names.
class Store implements ContentSource {
  readonly blobs = new Map<Digest, Buffer>();
  readonly labels = new Map<Digest, Record<string, string>>();
  readonly images = new Map<string, ImageTarget>();

  put(doc: unknown, labels: Record<string, string> = {}): Digest {
    return this.putText(JSON.stringify(doc), labels);
  }

  putText(text: string, labels: Record<string, string> = {}): Digest {
    const bytes = Buffer.from(text);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    this.blobs.set(digest, bytes);
    this.labels.set(digest, labels);
    return digest;
  }

  async read(digest: Digest): Promise<Buffer | undefined> {
    return this.blobs.get(digest);
  }

  // When each blob was first stored (default: long before everything).
  readonly created = new Map<Digest, bigint>();

  async withLabel(key: string, value: string, createdBeforeNs?: bigint): Promise<Digest[]> {
    return [...this.labels]
      .filter(([d, l]) => l[key] === value && (createdBeforeNs === undefined || (this.created.get(d) ?? 0n) < createdBeforeNs))
      .map(([d]) => d);
  }

  async image(name: string): Promise<ImageTarget | undefined> {
    return this.images.get(name);
  }
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const LAYERS_A = [sha('layer a1'), sha('layer a2')];
const LAYERS_B = [sha('layer b1')];

// The container was created at t=100 s; names pulled at 50 ns, re-pointed at 200 s.
const CREATED = 100_000_000_000n;
const BEFORE = 50n;
const AFTER = 200_000_000_000n;
const input = (imageName: string, layers: readonly Digest[], criImageRef?: Digest): ProofInput => ({
  imageName,
  snapshotter: 'overlayfs',
  parent: chainId(layers),
  createdAtNs: CREATED,
  criImageRef,
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

describe('proveImage without CRI metadata: the name, while unchanged since the container was created', () => {
  it('proves the manifest the name points to when its config has the snapshot parent as chain ID', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    store.images.set('reg/app:1', { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: BEFORE });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toEqual({
      outcome: 'proven',
      configDigest: a.config,
      platform: { os: 'linux', architecture: 'amd64' },
      digests: [a.manifest],
      via: 'image-name',
    });
  });

  it('an index: the platform whose layers the container has; platforms not pulled are skipped', async () => {
    const store = new Store();
    const arm = image(store, LAYERS_B, { architecture: 'arm64', variant: 'v8' });
    const amd = image(store, LAYERS_A);
    const index = store.put({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ digest: sha('a platform never pulled') }, { digest: arm.manifest }, { digest: amd.manifest }],
    });
    store.images.set('reg/app:1', { digest: index, mediaType: OCI_INDEX, updatedAtNs: BEFORE });
    const proven = await proveImage(store, input('reg/app:1', LAYERS_B));
    expect(proven).toMatchObject({ outcome: 'proven', configDigest: arm.config, digests: [index, arm.manifest], via: 'image-name' });
    expect(proven).toMatchObject({ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  });

  it('an index with two configs that share the container layers fails closed (which one runs cannot be told)', async () => {
    const store = new Store();
    const signed = image(store, LAYERS_A, { architecture: 's390x' });
    const other = image(store, LAYERS_A, { config: { Cmd: ['/evil'] } });
    const index = store.put({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ digest: signed.manifest }, { digest: other.manifest }] });
    store.images.set('reg/app:1', { digest: index, mediaType: OCI_INDEX, updatedAtNs: BEFORE });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('2 image configs') });
  });

  it('a name re-pointed after the container was created proves nothing, even where the original is still stored', async () => {
    const store = new Store();
    const original = image(store, LAYERS_A);
    store.images.set('reg/app:1', { digest: original.manifest, mediaType: OCI_MANIFEST, updatedAtNs: AFTER });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('re-pointed') });
  });

  it('a name updated just before the container was created: only if its config is the only one unpacked into those layers', async () => {
    const store = new Store();
    const signed = image(store, LAYERS_A);
    const justBefore = CREATED - RECENT_REPOINT_NS / 2n;
    store.images.set('reg/app:1', { digest: signed.manifest, mediaType: OCI_MANIFEST, updatedAtNs: justBefore });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'proven', configDigest: signed.config });
    // Another config was unpacked into the same layers (the one that ran,
    // with the name re-pointed while containerd created the container).
    image(store, LAYERS_A, { config: { Cmd: ['/evil'] } });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('just before') });
    // A config with those layers stored only after the container was
    // created cannot be the one that ran.
    store.labels.forEach((_l, d) => {
      if (d !== signed.config) store.created.set(d, CREATED + 1n);
    });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'proven', configDigest: signed.config });
    store.created.clear();
    // Long enough before, the name counts as it is.
    store.images.set('reg/app:1', { digest: signed.manifest, mediaType: OCI_MANIFEST, updatedAtNs: CREATED - 2n * RECENT_REPOINT_NS });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'proven' });
    // Updated at the very time of creation: not before it.
    store.images.set('reg/app:1', { digest: signed.manifest, mediaType: OCI_MANIFEST, updatedAtNs: CREATED });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('re-pointed') });
  });

  it('a name or a container without a time is not trusted to be the original', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    store.images.set('reg/app:1', { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: undefined });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'unproven' });
    store.images.set('reg/app:1', { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: BEFORE });
    expect(await proveImage(store, { ...input('reg/app:1', LAYERS_A), createdAtNs: undefined })).toMatchObject({ outcome: 'unproven' });
  });

  it('a config with other layers, a missing name, no name: unproven', async () => {
    const store = new Store();
    const b = image(store, LAYERS_B);
    store.images.set('reg/app:1', { digest: b.manifest, mediaType: OCI_MANIFEST, updatedAtNs: BEFORE });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('layers') });
    expect(await proveImage(store, input('reg/gone:1', LAYERS_A))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('gone') });
    expect(await proveImage(store, input('', LAYERS_A))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('names no image') });
  });

  it.each([
    ['a case variant of rootfs (Go would read it)', `{"os":"linux","architecture":"amd64","RootFS":{"type":"layers","diff_ids":["${LAYERS_A[0]}"]}}`],
    ['rootfs twice under case variants (Go: the last wins)', `{"rootfs":{"diff_ids":["${LAYERS_B[0]}"]},"RootFS":{"diff_ids":${JSON.stringify(LAYERS_A)}}}`],
    ['a duplicate key', `{"rootfs":{"diff_ids":["${LAYERS_B[0]}"]},"rootfs":{"diff_ids":${JSON.stringify(LAYERS_A)}}}`],
    ['not JSON', '{"rootfs":'],
  ])('a present config that is malformed (%s) fails the attestation, in an index too', async (_name, text) => {
    const store = new Store();
    const signed = image(store, LAYERS_A);
    const config = store.putText(text);
    const evil = store.put({ schemaVersion: 2, config: { digest: config } });
    const index = store.put({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ digest: signed.manifest }, { digest: evil }] });
    store.images.set('reg/app:1', { digest: index, mediaType: OCI_INDEX, updatedAtNs: BEFORE });
    await expect(proveImage(store, input('reg/app:1', LAYERS_A))).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
  });

  it('a blob the store refuses (over its cap) fails the attestation instead of being skipped', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    store.images.set('reg/app:1', { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: BEFORE });
    const read = store.read.bind(store);
    store.read = (d) => (d === a.config ? Promise.reject(new Error('over the cap')) : read(d));
    await expect(proveImage(store, input('reg/app:1', LAYERS_A))).rejects.toThrow('over the cap');
  });
});

describe("proveImage with CRI metadata: the image ID Kubernetes' CRI recorded", () => {
  it('proves the recorded config; its manifests come from the name, the ID record and the content labels, wherever the name points now', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    const other = image(store, LAYERS_B);
    // The tag moved on (a later pull); CRI keeps the image under its ID.
    store.images.set('reg/app:1', { digest: other.manifest, mediaType: OCI_MANIFEST, updatedAtNs: AFTER });
    store.images.set(a.config, { digest: a.manifest, mediaType: OCI_MANIFEST, updatedAtNs: BEFORE });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A, a.config))).toEqual({
      outcome: 'proven',
      configDigest: a.config,
      platform: { os: 'linux', architecture: 'amd64' },
      digests: [a.manifest],
      via: 'cri-image-ref',
    });
    store.images.clear();
    expect(await proveImage(store, input('reg/app:1', LAYERS_A, a.config))).toMatchObject({ outcome: 'proven', digests: [a.manifest] });
  });

  it('a malformed document under the name or the ID record only means no digests from there: the config is pinned', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    const junk = store.put({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ digest: 'not a digest' }] });
    store.images.set('reg/app:1', { digest: junk, mediaType: OCI_INDEX, updatedAtNs: AFTER });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A, a.config))).toMatchObject({ outcome: 'proven', digests: [a.manifest] });
  });

  it('an index target: the index and the platform manifest naming the config', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    const b = image(store, LAYERS_B, { architecture: 'arm64' });
    const index = store.put({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ digest: b.manifest }, { digest: a.manifest }] });
    store.images.set('reg/app:1', { digest: index, mediaType: OCI_INDEX, updatedAtNs: BEFORE });
    expect(await proveImage(store, input('reg/app:1', LAYERS_A, a.config))).toMatchObject({ outcome: 'proven', digests: [index, a.manifest] });
  });

  it('a recorded config with other layers than the snapshot, or not stored, or named by no manifest: unproven', async () => {
    const store = new Store();
    const b = image(store, LAYERS_B);
    expect(await proveImage(store, input('', LAYERS_A, b.config))).toMatchObject({
      outcome: 'unproven',
      reason: expect.stringContaining('does not have the layers'),
    });
    expect(await proveImage(store, input('', LAYERS_A, sha('gone')))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('no longer') });
    const lone = store.put({ os: 'linux', architecture: 'amd64', rootfs: { diff_ids: LAYERS_A } });
    expect(await proveImage(store, input('', LAYERS_A, lone))).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('no manifest') });
  });

  it('a manifest labelled with the config that names another is not a digest of it', async () => {
    const store = new Store();
    const a = image(store, LAYERS_A);
    const b = image(store, LAYERS_B);
    store.labels.set(b.manifest, { 'containerd.io/gc.ref.content.config': a.config });
    store.labels.set(a.manifest, {});
    expect(await proveImage(store, input('', LAYERS_A, a.config))).toMatchObject({ outcome: 'unproven' });
  });
});
