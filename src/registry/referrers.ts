// What the client needs to list an image's referrers besides the requests
// themselves: the OCI 1.1 referrers API's answer, the referrers tag schema's
// index (`<alg>-<hex>`, the fallback for registries without the API), and
// which repositories are known to lack the API.

import { AttestorError } from '../errors.js';
import { digestAlgorithm, digestHex } from '../util/digest.js';
import { parseManifest } from './manifest.js';
import { unexpected } from './responses.js';
import { MEDIA_TYPE } from './types.js';

import type { HttpResponse } from './http.js';
import type { Descriptor, Digest, FetchedManifest } from './types.js';

// Bounded: forgetting only costs a speculative request.
const MAX_ENTRIES = 4096;

// Repositories whose referrers API answered 404, until when: only the tag
// fallback is asked for them. Per repository (one repository's 404 says
// nothing of another's) and for a while (a registry may gain the API).
export class MissingReferrersApi {
  readonly #until = new Map<string, number>();
  readonly #ttlMs: number;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  has(repository: string, now = Date.now()): boolean {
    return (this.#until.get(repository) ?? 0) > now;
  }

  add(repository: string, now = Date.now()): void {
    if (this.#until.size >= MAX_ENTRIES) this.#until.clear();
    this.#until.set(repository, now + this.#ttlMs);
  }
}

// The referrers tag schema's tag for a subject digest.
export function referrersTag(digest: Digest): string {
  return `${digestAlgorithm(digest)}-${digestHex(digest)}`;
}

// The descriptors under the referrers tag (none when it does not exist).
export function tagIndexEntries(fetched: FetchedManifest | undefined, tag: string, what: string): readonly Descriptor[] {
  if (fetched === undefined) return [];
  if (fetched.manifest.kind !== 'index') {
    throw new AttestorError('REGISTRY_RESPONSE', `${what}: tag ${tag} holds an image manifest, not a referrers index`);
  }
  return fetched.manifest.manifests;
}

// The referrers API's 200 answer (not content-addressed: no digest to check;
// still strictly parsed). Any status but 200 is an error here: the caller
// handles 404 (no API) before.
export function apiIndexEntries(res: HttpResponse, what: string): readonly Descriptor[] {
  if (res.status !== 200) throw unexpected(res, what);
  const index = parseManifest(res.body, res.headers.get('content-type') ?? MEDIA_TYPE.ociIndex, what);
  if (index.kind !== 'index') throw new AttestorError('REGISTRY_RESPONSE', `${what}: the referrers API answered with a manifest, not an index`);
  return index.manifests;
}
