// The registry client's public shapes. Everything read from a registry is
// size-capped and checked against the digest it was asked for or announced.

import type { Digest } from '../util/digest.js';

export type { Digest };

// An image reference split into the parts the distribution API needs.
export interface ImageReference {
  // Registry host[:port] as used on the wire (docker.io -> registry-1.docker.io
  // is done by the client, not here); e.g. "127.0.0.1:5000", "ghcr.io", "docker.io".
  readonly registry: string;
  // Repository path, e.g. "library/busybox", "acme/payments".
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
  // The reference as the user wrote it.
  readonly original: string;
}

export const MEDIA_TYPE = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
}

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type Manifest = ImageManifest | ImageIndex;

// A manifest fetched by tag or digest: bytes verified against `digest`.
export interface FetchedManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly manifest: Manifest;
}

export interface RegistryApi {
  // HEAD: the digest a tag (or digest) resolves to now, without the body.
  // undefined when the registry says 404.
  resolve(ref: ImageReference, signal: AbortSignal): Promise<Digest | undefined>;
  // GET a manifest or index by tag or digest. Verified: by digest, the bytes
  // must hash to it; by tag, to the Docker-Content-Digest header when present.
  // undefined on 404.
  getManifest(ref: ImageReference, signal: AbortSignal): Promise<FetchedManifest | undefined>;
  // OCI 1.1 referrers of `digest`, optionally filtered by artifactType, with
  // the referrers tag schema (`sha256-<hex>`) as fallback when the API is
  // missing. Descriptors only.
  referrers(ref: ImageReference, digest: Digest, artifactType: string | undefined, signal: AbortSignal): Promise<Descriptor[]>;
  // GET a blob; its bytes must hash to `digest` and be at most `maxBytes`.
  getBlob(ref: ImageReference, digest: Digest, maxBytes: number, signal: AbortSignal): Promise<Buffer>;
}
