// Strict parsing of image manifests and indexes (OCI and Docker schema 2)
// into the Manifest union, and platform selection in an index.
//
// Anything off is REGISTRY_RESPONSE: schemaVersion other than 2, a media
// type that is not one of the four manifest/index types (from the body, else
// the Content-Type), a body mediaType contradicting a manifest Content-Type,
// descriptors without a valid digest or with a size that is not a
// non-negative safe integer.

import { AttestorError } from '../errors.js';
import { isDigest } from '../util/digest.js';
import { MEDIA_TYPE } from './types.js';

import type { Descriptor, ImageIndex, ImageManifest, Manifest, Platform } from './types.js';

export const MANIFEST_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifest];
export const INDEX_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE.ociIndex, MEDIA_TYPE.dockerManifestList];
// For Accept headers: everything we can parse.
export const ALL_MANIFEST_MEDIA_TYPES: readonly string[] = [...MANIFEST_MEDIA_TYPES, ...INDEX_MEDIA_TYPES];

type Json = Record<string, unknown>;

function bad(what: string, why: string): AttestorError {
  return new AttestorError('REGISTRY_RESPONSE', `${what}: ${why}`);
}

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// "application/x; charset=utf-8" -> "application/x"; undefined for empty.
export function bareMediaType(contentType: string | null | undefined): string | undefined {
  if (contentType === null || contentType === undefined) return undefined;
  const bare = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return bare === '' ? undefined : bare;
}

function optionalString(o: Json, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(what, `"${key}" is not a string`);
  return v;
}

function annotationsOf(o: Json, what: string): Readonly<Record<string, string>> | undefined {
  const v = o['annotations'];
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw bad(what, '"annotations" is not an object');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw bad(what, `annotation ${JSON.stringify(key)} is not a string`);
    out[key] = value;
  }
  return out;
}

function platformOf(v: unknown, what: string): Platform | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v)) throw bad(what, '"platform" is not an object');
  const architecture = v['architecture'];
  const os = v['os'];
  if (typeof architecture !== 'string' || typeof os !== 'string') throw bad(what, 'platform needs string "architecture" and "os"');
  const variant = optionalString(v, 'variant', what);
  return { architecture, os, ...(variant !== undefined ? { variant } : {}) };
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isRecord(v)) throw bad(what, 'descriptor is not an object');
  const mediaType = v['mediaType'];
  if (typeof mediaType !== 'string' || mediaType === '') throw bad(what, 'descriptor without a mediaType');
  const digest = v['digest'];
  if (typeof digest !== 'string' || !isDigest(digest)) throw bad(what, `descriptor digest ${JSON.stringify(digest)} is not a valid sha256/sha512 digest`);
  const size = v['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw bad(what, `descriptor size ${JSON.stringify(size)} is not a non-negative integer`);
  const artifactType = optionalString(v, 'artifactType', what);
  const annotations = annotationsOf(v, what);
  const platform = platformOf(v['platform'], what);
  return {
    mediaType,
    digest,
    size,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
    ...(platform !== undefined ? { platform } : {}),
  };
}

function descriptorList(o: Json, key: string, what: string): Descriptor[] {
  const v = o[key];
  if (!Array.isArray(v)) throw bad(what, `"${key}" is not an array`);
  return v.map((item: unknown, i) => parseDescriptor(item, `${what} ${key}[${i}]`));
}

// Parses manifest bytes. `contentType` is the response's Content-Type.
export function parseManifest(bytes: Uint8Array, contentType: string | null | undefined, what = 'manifest'): Manifest {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad(what, 'not valid JSON');
  }
  if (!isRecord(body)) throw bad(what, 'not a JSON object');
  if (body['schemaVersion'] !== 2) throw bad(what, `unsupported schemaVersion ${JSON.stringify(body['schemaVersion'])} (want 2)`);

  const fromBody = optionalString(body, 'mediaType', what);
  const fromHeader = bareMediaType(contentType);
  if (fromBody !== undefined && fromHeader !== undefined && ALL_MANIFEST_MEDIA_TYPES.includes(fromHeader) && fromHeader !== fromBody) {
    throw bad(what, `body mediaType ${fromBody} contradicts Content-Type ${fromHeader}`);
  }
  const mediaType = fromBody ?? fromHeader;
  if (mediaType === undefined) throw bad(what, 'no mediaType in the body or the Content-Type');
  if (!ALL_MANIFEST_MEDIA_TYPES.includes(mediaType)) throw bad(what, `unsupported media type ${mediaType}`);

  const subject = body['subject'] === undefined ? undefined : parseDescriptor(body['subject'], `${what} subject`);
  const annotations = annotationsOf(body, what);
  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    const index: ImageIndex = {
      kind: 'index',
      mediaType,
      manifests: descriptorList(body, 'manifests', what),
      ...(subject !== undefined ? { subject } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    };
    return index;
  }
  const artifactType = optionalString(body, 'artifactType', what);
  const manifest: ImageManifest = {
    kind: 'manifest',
    mediaType,
    config: parseDescriptor(body['config'], `${what} config`),
    layers: descriptorList(body, 'layers', what),
    ...(subject !== undefined ? { subject } : {}),
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  };
  return manifest;
}

// The OCI platform of this Node process: x64 -> amd64, arm64 -> arm64/v8,
// arm -> arm/v<N> (from the build's arm_version), ia32 -> 386; the rest as is.
export function nodePlatform(
  arch: string = process.arch,
  platform: string = process.platform,
  armVersion: string | undefined = armVersionOfProcess(),
): Platform {
  const os = platform === 'win32' ? 'windows' : platform;
  switch (arch) {
    case 'x64':
      return { os, architecture: 'amd64' };
    case 'arm64':
      return { os, architecture: 'arm64', variant: 'v8' };
    case 'arm':
      return { os, architecture: 'arm', variant: `v${armVersion ?? '7'}` };
    case 'ia32':
      return { os, architecture: '386' };
    default:
      return { os, architecture: arch };
  }
}

function armVersionOfProcess(): string | undefined {
  const variables: unknown = (process.config as { variables?: unknown }).variables;
  if (!isRecord(variables)) return undefined;
  const v = variables['arm_version'];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function variantNumber(variant: string | undefined): number | undefined {
  const m = /^v(\d+)$/.exec(variant ?? '');
  return m === null ? undefined : Number(m[1]);
}

// How well `candidate` serves `want`: undefined = not at all; higher is better.
function platformScore(candidate: Platform, want: Platform): number | undefined {
  if (candidate.os !== want.os || candidate.architecture !== want.architecture) return undefined;
  if (candidate.variant === want.variant) return 100;
  if (want.architecture === 'arm64') {
    // v8 is the only arm64 variant images commonly carry; absent means v8.
    const a = candidate.variant ?? 'v8';
    const b = want.variant ?? 'v8';
    return a === b ? 90 : undefined;
  }
  if (want.architecture === 'arm') {
    // An armv7 machine runs v6 and v5 images too; prefer the newest.
    const have = variantNumber(candidate.variant);
    const can = variantNumber(want.variant);
    if (have === undefined || can === undefined) return candidate.variant === undefined ? 10 : undefined;
    return have <= can ? 50 + have : undefined;
  }
  // Want no variant: a candidate with one is still the right architecture.
  return want.variant === undefined ? 20 : undefined;
}

// The index entry for `want` (image manifests only, best match first-listed).
export function selectPlatform(index: ImageIndex, want: Platform): Descriptor | undefined {
  let best: Descriptor | undefined;
  let bestScore = -1;
  for (const entry of index.manifests) {
    if (entry.platform === undefined || !ALL_MANIFEST_MEDIA_TYPES.includes(entry.mediaType)) continue;
    const score = platformScore(entry.platform, want);
    if (score !== undefined && score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  return best;
}
