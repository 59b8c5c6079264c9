// A hand-written in-memory registry for the binding rules: manifests by
// digest, tags, and a call count. `failWith` makes every call throw.

import { createHash } from 'node:crypto';

import type { Descriptor, Digest, FetchedManifest, ImageReference, Manifest, RegistryApi } from '../../src/registry/types.js';

export const digestOf = (text: string): Digest => `sha256:${createHash('sha256').update(text).digest('hex')}`;

export class MemoryRegistry implements RegistryApi {
  readonly manifests = new Map<string, FetchedManifest>();
  readonly tags = new Map<string, Digest>();
  calls = 0;
  failWith: Error | undefined;

  put(manifest: Manifest, tag?: string): Digest {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = digestOf(bytes.toString());
    this.manifests.set(digest, { digest, mediaType: manifest.mediaType, bytes, manifest });
    if (tag) this.tags.set(tag, digest);
    return digest;
  }

  async resolve(ref: ImageReference): Promise<Digest | undefined> {
    this.#call();
    return ref.digest ?? (ref.tag ? this.tags.get(ref.tag) : undefined);
  }
  async getManifest(ref: ImageReference): Promise<FetchedManifest | undefined> {
    this.#call();
    const digest = ref.digest ?? (ref.tag ? this.tags.get(ref.tag) : undefined);
    return digest ? this.manifests.get(digest) : undefined;
  }
  async referrers(): Promise<Descriptor[]> {
    return [];
  }
  async getBlob(): Promise<Buffer> {
    throw new Error('not used');
  }

  #call(): void {
    this.calls++;
    if (this.failWith) throw this.failWith;
  }
}

// An image manifest whose config is `config`.
export function image(config: Digest): Manifest {
  return {
    kind: 'manifest',
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 10 },
    layers: [],
  };
}
