// Which image a containerd container runs, proven from the container itself.
//
// A container record's `image` is only a name, and `ctr image tag --force`,
// `ctr image import` or a later pull of the same tag can point that name
// elsewhere after the container started. What cannot move is the container's
// root filesystem: its snapshot was prepared on top of the image's unpacked
// layers, so the snapshot's parent is the chain ID of the image config's
// rootfs.diff_ids. But layers are not the whole image: images may share
// layers and differ in their config (entrypoint, command, environment,
// user), and the config is what a signature covers. So the config itself
// must be pinned by something written when the container was created:
//
//  - Kubernetes' CRI records the image ID it resolved (its metadata
//    extension's ImageRef): that config, when its chain ID is the snapshot
//    parent, is the image; any manifest that names it (the name's target,
//    the ID's own image record, content labelled with it) is a digest to bind;
//  - otherwise (ctr, nerdctl) the container's image name decides, but only
//    while it is exactly what the container was created from: the image
//    record has not been updated since the container record was created
//    (both times are containerd's). A manifest target must name a config with
//    the container's layers; in an index, exactly one config among the
//    platforms present may have them.
//
// Everything else fails closed: a name re-pointed since, a blob that is
// present but over its cap or malformed, two candidate configs. Every blob is
// read by digest, capped, hashed and parsed strictly (oci.ts).

import { createHash } from 'node:crypto';

import { isAttestorError } from '../../errors.js';
import { imageConfig, indexEntries, INDEX_MEDIA_TYPES, manifestConfig } from './oci.js';

import type { Digest } from '../../util/digest.js';
import type { ImageConfig, ImagePlatform } from './oci.js';

export interface ContentSource {
  // A blob's bytes, hashed against `digest`; undefined when not in the store.
  read(digest: Digest): Promise<Buffer | undefined>;
  // Digests of blobs whose label `key` is `value` (at most MAX_LABELLED),
  // with `createdBeforeNs`: only blobs first stored before then.
  withLabel(key: string, value: string, createdBeforeNs?: bigint): Promise<Digest[]>;
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
  // When the container was created (its snapshot, else its record), ns
  // since the epoch.
  readonly createdAtNs: bigint | undefined;
  // The image ID Kubernetes' CRI recorded for the container, if any.
  readonly criImageRef: Digest | undefined;
}

export type Proof = ({ readonly outcome: 'proven' } & ProvenImage) | { readonly outcome: 'unproven'; readonly reason: string };

export interface ProvenImage {
  readonly configDigest: Digest;
  readonly platform: ImagePlatform;
  // Index and manifest digests that lead to the config, best first.
  readonly digests: readonly Digest[];
  readonly via: 'cri-image-ref' | 'image-name';
}

const CONFIG_LABEL = 'containerd.io/gc.ref.content.config';
const SNAPSHOT_LABEL = 'containerd.io/gc.ref.snapshot.';
// A name updated this shortly before the container was created may have
// been re-pointed while containerd was creating it (between resolving the
// name and preparing the snapshot).
export const RECENT_REPOINT_NS = 10_000_000_000n;
// How many blobs one content-label search returns at most (a proof that
// needs "exactly one" is unaffected: one is far below it).
export const MAX_LABELLED = 16;

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
export function chainId(diffIds: readonly Digest[]): string {
  let chain = '';
  for (const diffId of diffIds) {
    chain = chain === '' ? diffId : `sha256:${createHash('sha256').update(`${chain} ${diffId}`).digest('hex')}`;
  }
  return chain;
}

const unproven = (reason: string): Proof => ({ outcome: 'unproven', reason });

async function configOf(source: ContentSource, digest: Digest): Promise<ImageConfig | undefined> {
  const bytes = await source.read(digest);
  return bytes ? imageConfig(bytes, digest) : undefined;
}

// The config a manifest names, or undefined when the manifest is not here.
async function manifestTarget(source: ContentSource, manifest: Digest): Promise<Digest | undefined> {
  const bytes = await source.read(manifest);
  return bytes ? manifestConfig(bytes, manifest) : undefined;
}

// A malformed document where the config is already pinned only means that
// source gives no digests (every digest is checked to name the config).
async function orNone(work: () => Promise<Digest[]>): Promise<Digest[]> {
  try {
    return await work();
  } catch (err) {
    if (isAttestorError(err) && err.code === 'IMAGE_NOT_FOUND') return [];
    throw err;
  }
}

// The manifests a name's target stands for: itself, or an index's entries
// (none when the index is not here).
async function manifestsUnder(source: ContentSource, target: ImageTarget): Promise<Digest[]> {
  if (!INDEX_MEDIA_TYPES.has(target.mediaType)) return [target.digest];
  const bytes = await source.read(target.digest);
  return bytes ? indexEntries(bytes, target.digest) : [];
}

// Manifests (and the index above them) under `target` that name `config`.
async function digestsNaming(source: ContentSource, target: ImageTarget, config: Digest): Promise<Digest[]> {
  const naming: Digest[] = [];
  for (const manifest of await manifestsUnder(source, target)) {
    if ((await manifestTarget(source, manifest)) === config) naming.push(manifest);
  }
  return naming.length > 0 && INDEX_MEDIA_TYPES.has(target.mediaType) ? [target.digest, ...naming] : naming;
}

async function fromCriImageRef(source: ContentSource, input: ProofInput, config: Digest): Promise<Proof> {
  const parsed = await configOf(source, config);
  if (!parsed) return unproven(`the image CRI recorded (${config}) is no longer in the content store`);
  if (chainId(parsed.diffIds) !== input.parent) return unproven(`the image CRI recorded (${config}) does not have the layers of the container's snapshot`);
  const digests: Digest[] = [];
  const add = (more: readonly Digest[]): void => {
    for (const d of more) if (!digests.includes(d)) digests.push(d);
  };
  // CRI keeps every image under its ID too (`sha256:<hex>`), and labels a
  // manifest with its config; the name may have moved on.
  for (const name of [...(input.imageName === '' ? [] : [input.imageName]), config]) {
    const target = await source.image(name);
    if (target) add(await orNone(() => digestsNaming(source, target, config)));
  }
  for (const manifest of await source.withLabel(CONFIG_LABEL, config)) {
    add(await orNone(async () => ((await manifestTarget(source, manifest)) === config ? [manifest] : [])));
  }
  if (digests.length === 0) return unproven(`no manifest in the content store names the image CRI recorded (${config})`);
  return { outcome: 'proven', configDigest: config, platform: parsed.platform, digests, via: 'cri-image-ref' };
}

// The name still points where it did when the container was created.
function unchangedSinceCreation(target: ImageTarget, input: ProofInput): boolean {
  return target.updatedAtNs !== undefined && input.createdAtNs !== undefined && target.updatedAtNs < input.createdAtNs;
}

function repointedRecently(target: ImageTarget, input: ProofInput): boolean {
  return target.updatedAtNs === undefined || input.createdAtNs === undefined || input.createdAtNs - target.updatedAtNs < RECENT_REPOINT_NS;
}

// After a recent re-point: containerd labels a config with the snapshot
// chain it unpacked it into, so among the configs stored before the
// container was created, the proven one must be the only one with its chain.
async function onlyUnpackedConfig(source: ContentSource, input: ProofInput, config: Digest): Promise<boolean> {
  const labelled = new Set(await source.withLabel(`${SNAPSHOT_LABEL}${input.snapshotter}`, input.parent, input.createdAtNs));
  return labelled.size === 1 && labelled.has(config);
}

async function fromImageName(source: ContentSource, input: ProofInput): Promise<Proof> {
  if (input.imageName === '') return unproven('the container names no image');
  const target = await source.image(input.imageName);
  if (!target) return unproven(`image name "${input.imageName}" is gone`);
  if (!unchangedSinceCreation(target, input)) return unproven(`image name "${input.imageName}" was re-pointed after the container was created`);
  const manifests = await manifestsUnder(source, target);
  // Every platform present whose config has the container's layers.
  const matches: { manifest: Digest; config: Digest; platform: ImagePlatform }[] = [];
  for (const manifest of manifests) {
    const config = await manifestTarget(source, manifest);
    const parsed = config === undefined ? undefined : await configOf(source, config);
    if (config !== undefined && parsed && chainId(parsed.diffIds) === input.parent) matches.push({ manifest, config, platform: parsed.platform });
  }
  const configs = [...new Set(matches.map((m) => m.config))];
  const [first] = matches;
  if (first === undefined) return unproven(`no image under "${input.imageName}" (${target.digest}) has the layers of the container's snapshot`);
  if (configs.length > 1) return unproven(`${configs.length} image configs under "${input.imageName}" have the container's layers (${configs.join(', ')})`);
  if (repointedRecently(target, input) && !(await onlyUnpackedConfig(source, input, first.config))) {
    return unproven(
      `image name "${input.imageName}" was updated just before the container was created, and ${first.config} is not the only config unpacked into its layers`,
    );
  }
  const digests = target.digest === first.manifest ? [target.digest] : [target.digest, ...new Set(matches.map((m) => m.manifest))];
  return { outcome: 'proven', configDigest: first.config, platform: first.platform, digests, via: 'image-name' };
}

export async function proveImage(source: ContentSource, input: ProofInput): Promise<Proof> {
  return input.criImageRef !== undefined ? fromCriImageRef(source, input, input.criImageRef) : fromImageName(source, input);
}
