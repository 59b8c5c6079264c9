// Which image a containerd container runs, proven from the container itself.
//
// A container record's `image` is only a name, and `ctr image tag --force` or
// `ctr image import` can point that name elsewhere after the container
// started. What cannot move is the container's root filesystem: its snapshot
// was prepared on top of the image's unpacked layers, so the snapshot's
// parent is the chain ID of the image config's rootfs.diff_ids. An image
// config can be the one the container runs only when its chain ID is that
// parent; the manifests (and index) that name it are its digests to bind.
//
// Several configs can share one set of layers (images that differ only in
// LABEL, ENV or CMD). So the name decides only while it is exactly what the
// container was created from: the image record has not been updated since
// the container record was created (both times are containerd's). A name
// re-pointed later does not count; then containerd's content labels (a
// config unpacked into a snapshot chain is labelled with it, a manifest with
// its config) must name exactly one config with the container's layers whose
// image labels the container carries (ctr, nerdctl copy them into the
// container's labels at creation), or the proof fails. Content labels only
// find candidates: every blob is read by digest, hashed, and parsed before
// it counts.

import { createHash } from 'node:crypto';

import { isAttestorError } from '../../errors.js';
import { imageConfig, indexEntries, INDEX_MEDIA_TYPES, manifestConfig } from './oci.js';

import type { Digest } from '../../util/digest.js';
import type { ImagePlatform } from './oci.js';

export interface ContentSource {
  // A blob's bytes, hashed against `digest`; undefined when not in the store.
  read(digest: Digest): Promise<Buffer | undefined>;
  // Digests of blobs whose label `key` is `value` (at most a few).
  withLabel(key: string, value: string): Promise<Digest[]>;
  // What an image name points to now, and since when; undefined when there
  // is no such image.
  image(name: string): Promise<ImageTarget | undefined>;
}

export interface ImageTarget {
  readonly digest: Digest;
  readonly mediaType: string;
  // When the name was last (re-)pointed, ns since the epoch.
  readonly updatedAtNs: bigint | undefined;
}

export interface ProofInput {
  // The container record's image name ('' when it has none).
  readonly imageName: string;
  readonly snapshotter: string;
  // The container snapshot's parent: the top layer's chain ID.
  readonly parent: string;
  // When the container record was created, ns since the epoch.
  readonly createdAtNs: bigint | undefined;
  // The container record's labels.
  readonly containerLabels: Readonly<Record<string, string>>;
}

export type Proof = ({ readonly outcome: 'proven' } & ProvenImage) | { readonly outcome: 'unproven'; readonly reason: string };

export interface ProvenImage {
  readonly configDigest: Digest;
  readonly platform: ImagePlatform;
  // Index and manifest digests that lead to the config, best first.
  readonly digests: readonly Digest[];
  readonly via: 'image-name' | 'content-labels';
}

const SNAPSHOT_LABEL = 'containerd.io/gc.ref.snapshot.';
const CONFIG_LABEL = 'containerd.io/gc.ref.content.config';

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
export function chainId(diffIds: readonly Digest[]): string {
  let chain = '';
  for (const diffId of diffIds) {
    chain = chain === '' ? diffId : `sha256:${createHash('sha256').update(`${chain} ${diffId}`).digest('hex')}`;
  }
  return chain;
}

// A malformed or foreign document (an attestation manifest inside an index,
// say) is not a candidate; a failing runtime is still an error.
async function unlessMalformed<T>(work: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await work();
  } catch (err) {
    if (isAttestorError(err) && err.code === 'IMAGE_NOT_FOUND') return undefined;
    throw err;
  }
}

// The config a manifest names, when its chain ID is the container's parent.
async function matchingConfig(source: ContentSource, manifest: Digest, parent: string): Promise<{ digest: Digest; platform: ImagePlatform } | undefined> {
  return unlessMalformed(async () => {
    const manifestBytes = await source.read(manifest);
    if (!manifestBytes) return undefined;
    const digest = manifestConfig(manifestBytes, manifest);
    const configBytes = await source.read(digest);
    if (!configBytes) return undefined;
    const config = imageConfig(configBytes, digest);
    return chainId(config.diffIds) === parent ? { digest, platform: config.platform } : undefined;
  });
}

// The name still points where it did when the container was created.
function unchangedSinceCreation(target: ImageTarget, input: ProofInput): boolean {
  return target.updatedAtNs !== undefined && input.createdAtNs !== undefined && target.updatedAtNs <= input.createdAtNs;
}

async function fromImageName(source: ContentSource, input: ProofInput): Promise<ProvenImage | undefined> {
  if (input.imageName === '') return undefined;
  const target = await source.image(input.imageName);
  if (!target || !unchangedSinceCreation(target, input)) return undefined;
  if (!INDEX_MEDIA_TYPES.has(target.mediaType)) {
    const config = await matchingConfig(source, target.digest, input.parent);
    return config ? { configDigest: config.digest, platform: config.platform, digests: [target.digest], via: 'image-name' } : undefined;
  }
  const indexBytes = await source.read(target.digest);
  if (!indexBytes) return undefined;
  const entries = await unlessMalformed(() => Promise.resolve(indexEntries(indexBytes, target.digest)));
  for (const entry of entries ?? []) {
    const config = await matchingConfig(source, entry.digest, input.parent);
    if (config) return { configDigest: config.digest, platform: config.platform, digests: [target.digest, entry.digest], via: 'image-name' };
  }
  return undefined;
}

// Every config the content labels tie to the container's layers, each with
// the manifests that name it.
async function fromContentLabels(source: ContentSource, input: ProofInput): Promise<ProvenImage[]> {
  const found: ProvenImage[] = [];
  for (const configDigest of await source.withLabel(`${SNAPSHOT_LABEL}${input.snapshotter}`, input.parent)) {
    const config = await unlessMalformed(async () => {
      const bytes = await source.read(configDigest);
      return bytes ? imageConfig(bytes, configDigest) : undefined;
    });
    if (!config || chainId(config.diffIds) !== input.parent || found.some((f) => f.configDigest === configDigest)) continue;
    // A config whose labels the container does not carry is another image
    // with the same layers.
    if (!Object.entries(config.labels).every(([k, v]) => input.containerLabels[k] === v)) continue;
    const manifests: Digest[] = [];
    for (const manifest of await source.withLabel(CONFIG_LABEL, configDigest)) {
      const bytes = await source.read(manifest);
      const named = bytes ? await unlessMalformed(() => Promise.resolve(manifestConfig(bytes, manifest))) : undefined;
      if (named === configDigest) manifests.push(manifest);
    }
    if (manifests.length > 0) found.push({ configDigest, platform: config.platform, digests: manifests, via: 'content-labels' });
  }
  return found;
}

export async function proveImage(source: ContentSource, input: ProofInput): Promise<Proof> {
  const named = await fromImageName(source, input);
  if (named) return { outcome: 'proven', ...named };
  const labelled = await fromContentLabels(source, input);
  const [only, another] = labelled;
  if (only !== undefined && another === undefined) return { outcome: 'proven', ...only };
  const name =
    input.imageName === ''
      ? 'the container names no image'
      : `image name "${input.imageName}" is gone, re-pointed since the container was created, or has other layers`;
  return {
    outcome: 'unproven',
    reason:
      only === undefined
        ? `${name}, and no image config in the content store has the layers of its snapshot (chain ID ${input.parent})`
        : `${name}, and ${labelled.length} image configs share the layers of its snapshot (${labelled.map((l) => l.configDigest).join(', ')}): which one it runs cannot be told`,
  };
}
