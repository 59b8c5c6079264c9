// The three OCI documents the image proof reads from containerd's content
// store: index, manifest and image config. Only the fields the proof needs;
// anything malformed is an error naming the digest.

import { AttestorError } from '../../errors.js';
import { isDigest } from '../../util/digest.js';

import type { Digest } from '../../util/digest.js';

export const INDEX_MEDIA_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
export const MANIFEST_MEDIA_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);

// An index lists one manifest per platform (plus attestation manifests); a
// config one diff ID per layer. Real images stay far below these.
export const MAX_INDEX_ENTRIES = 256;
export const MAX_LAYERS = 1024;

export interface ImagePlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface IndexEntry {
  readonly digest: Digest;
  readonly mediaType: string;
}

export interface ImageConfig {
  readonly diffIds: readonly Digest[];
  readonly platform: ImagePlatform;
  // config.Labels (string values only).
  readonly labels: Readonly<Record<string, string>>;
}

type Fields = Readonly<Record<string, unknown>>;

function parseJson(bytes: Buffer, digest: string, what: string): Fields {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new AttestorError('IMAGE_NOT_FOUND', `${what} ${digest} in containerd's content store is not JSON`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AttestorError('IMAGE_NOT_FOUND', `${what} ${digest} in containerd's content store is not a JSON object`);
  }
  return value as Fields;
}

function fields(value: unknown): Fields {
  return typeof value === 'object' && value !== null ? (value as Fields) : {};
}

export function indexEntries(bytes: Buffer, digest: string): IndexEntry[] {
  const manifests = parseJson(bytes, digest, 'index')['manifests'];
  if (!Array.isArray(manifests) || manifests.length > MAX_INDEX_ENTRIES) {
    throw new AttestorError('IMAGE_NOT_FOUND', `index ${digest} has no manifest list of at most ${MAX_INDEX_ENTRIES} entries`);
  }
  const out: IndexEntry[] = [];
  for (const entry of manifests) {
    const d = fields(entry)['digest'];
    const mediaType = fields(entry)['mediaType'];
    if (typeof d === 'string' && isDigest(d)) out.push({ digest: d, mediaType: typeof mediaType === 'string' ? mediaType : '' });
  }
  return out;
}

export function manifestConfig(bytes: Buffer, digest: string): Digest {
  const config = fields(parseJson(bytes, digest, 'manifest')['config'])['digest'];
  if (typeof config !== 'string' || !isDigest(config)) {
    throw new AttestorError('IMAGE_NOT_FOUND', `manifest ${digest} names no config digest`);
  }
  return config;
}

export function imageConfig(bytes: Buffer, digest: string): ImageConfig {
  const doc = parseJson(bytes, digest, 'image config');
  const diffIds = fields(doc['rootfs'])['diff_ids'];
  if (!Array.isArray(diffIds) || diffIds.length === 0 || diffIds.length > MAX_LAYERS) {
    throw new AttestorError('IMAGE_NOT_FOUND', `image config ${digest} has no rootfs.diff_ids list of 1 to ${MAX_LAYERS} layers`);
  }
  const checked: Digest[] = [];
  for (const id of diffIds) {
    if (typeof id !== 'string' || !isDigest(id)) throw new AttestorError('IMAGE_NOT_FOUND', `image config ${digest} has a malformed diff ID`);
    checked.push(id);
  }
  const os = doc['os'];
  const architecture = doc['architecture'];
  const variant = doc['variant'];
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields(fields(doc['config'])['Labels']))) if (typeof v === 'string') labels[k] = v;
  return {
    diffIds: checked,
    labels,
    platform: {
      os: typeof os === 'string' ? os : '',
      architecture: typeof architecture === 'string' ? architecture : '',
      ...(typeof variant === 'string' && variant !== '' ? { variant } : {}),
    },
  };
}
